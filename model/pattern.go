package model

import "fmt"

// Pattern is the incident pattern: a signal above a threshold for
// Consecutive samples in a row (the `for:` of a Prometheus alerting rule,
// counted in samples). Every figure presage reports uses this definition.
type Pattern struct {
	Above       float64 // threshold; a sample breaches when value > Above
	Consecutive int     // samples in a row; values < 1 count as 1
}

func (p Pattern) k() int {
	if p.Consecutive < 1 {
		return 1
	}
	return p.Consecutive
}

// HoldState is the state of a Hold.
type HoldState int

// The states of a Hold: Inactive (last sample not above), Pending (above for
// fewer than Consecutive samples), Firing (in breach).
const (
	Inactive HoldState = iota
	Pending
	Firing
)

func (s HoldState) String() string {
	switch s {
	case Inactive:
		return "inactive"
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	}
	return fmt.Sprintf("HoldState(%d)", int(s))
}

// Hold is the breach state machine of one signal:
//
//	          above                 above, run = K
//	Inactive ──────► Pending ─────────────────────► Firing
//	    ▲               │  not above                   │ not above
//	    └───────────────┴──────────────────────────────┘
//
// Run counts the samples above the threshold in the current run.
type Hold struct {
	Pattern Pattern
	Run     int
}

// Observe feeds one sample and returns the new state. A missing sample
// (NaN) leaves the hold unchanged: missing data is neither a breach nor a
// recovery.
func (h *Hold) Observe(v float64) HoldState {
	if v != v { // NaN
		return h.State()
	}
	h.ObserveBreach(v > h.Pattern.Above)
	return h.State()
}

// ObserveBreach feeds whether one sample was above the threshold.
func (h *Hold) ObserveBreach(above bool) {
	if above {
		h.Run++
	} else {
		h.Run = 0
	}
}

// State returns the hold's state.
func (h *Hold) State() HoldState {
	switch {
	case h.Run == 0:
		return Inactive
	case h.Run < h.Pattern.k():
		return Pending
	default:
		return Firing
	}
}

// Incident is one maximal run of breach, as sample indices: Start is the
// first sample in breach (the Consecutive-th sample above the threshold),
// End the last one (inclusive).
type Incident struct {
	Start, End int
}

// Len returns the number of samples in breach.
func (in Incident) Len() int { return in.End - in.Start + 1 }

// Incidents returns every incident in xs. NaN samples end a run (they are
// not above the threshold) but do not count as breach.
func Incidents(xs []float64, p Pattern) []Incident {
	var out []Incident
	h := Hold{Pattern: p}
	for i, v := range xs {
		h.ObserveBreach(v > p.Above)
		if h.State() != Firing {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == i-1 && h.Run > p.k() {
			out[n-1].End = i
		} else {
			out = append(out, Incident{Start: i, End: i})
		}
	}
	return out
}
