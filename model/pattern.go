package model

import "fmt"

// Pattern is the incident pattern: a signal above a threshold for
// Consecutive samples in a row (the `for:` of a Prometheus alerting rule,
// counted in samples) is a breach; an incident lasts until the signal has
// stayed at or below the threshold for ResolveAfter samples in a row (the
// `keep_firing_for:`), so a breach that comes back sooner is the same
// incident. Every figure presage reports uses this definition (Incidents).
//
// Hold, the breach state machine, reads Above and Consecutive only: whether
// the signal is in breach now does not depend on ResolveAfter.
type Pattern struct {
	Above       float64 // threshold; a sample breaches when value > Above
	Consecutive int     // samples in a row; values < 1 count as 1
	// ResolveAfter is how many samples in a row at or below the threshold
	// end an incident; values < 1 end it at the first such sample (every
	// maximal run of breach is then an incident of its own).
	ResolveAfter int
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

// Incident is one incident, as sample indices: Start is its first sample
// in breach (the Consecutive-th sample above the threshold), End its last
// one (inclusive). Breach counts its samples in breach: End−Start+1 when
// it is one run of breach; fewer when breaches that came back before it
// resolved (Pattern.ResolveAfter) were merged into it, since the samples
// between them are not in breach.
type Incident struct {
	Start, End int
	Breach     int
}

// Len returns the number of samples the incident spans, from its first
// sample in breach to its last, gaps included; Breach counts those in
// breach.
func (in Incident) Len() int { return in.End - in.Start + 1 }

// Incidents returns every incident in xs, in order. A sample is in breach
// while a Hold of p is Firing; an incident starts at a sample in breach
// when no incident is open, and stays open until p.ResolveAfter samples in
// a row are not above the threshold: a sample in breach before then
// extends it (End, Breach). Samples above the threshold that do not make a
// breach (fewer than Consecutive in a row) are not in breach but do keep
// the incident open, since the signal did not stay at or below the
// threshold. With ResolveAfter < 1 an incident is one maximal run of
// breach.
//
// NaN samples are not above the threshold: they end a run and count
// towards ResolveAfter, but are never in breach.
func Incidents(xs []float64, p Pattern) []Incident {
	var out []Incident
	h := Hold{Pattern: p}
	open := false // the last incident has not resolved
	quiet := 0    // samples in a row not above the threshold
	for i, v := range xs {
		above := v > p.Above
		h.ObserveBreach(above)
		if !above {
			quiet++
			if quiet >= p.ResolveAfter {
				open = false
			}
			continue
		}
		quiet = 0
		if h.State() != Firing {
			continue
		}
		if n := len(out); open && n > 0 {
			out[n-1].End = i
			out[n-1].Breach++
		} else {
			out = append(out, Incident{Start: i, End: i, Breach: 1})
			open = true
		}
	}
	return out
}
