package replay

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// Decisions holds a replay's decision records, per service one per step,
// compactly: a replay of a week of one-minute steps for 100 services makes
// a million records per policy, and controller.Record (232 bytes, with
// pointers) held them in memory the collector scanned at every cycle and
// the kernel faulted in page by page. Every step keeps its level (2
// bytes); the records that carry an action, an error or schedule windows
// are kept whole, aside. With detail (ReplayOptions.Detail: the HTML
// report, tests) every step's record is kept as a row of 80 bytes without
// pointers, and Records and At rebuild any record; without, At rebuilds
// only the records kept aside (what the scores and the decision log read)
// and Records returns nil.
//
// The time of record i is the replay's start plus i intervals, the mode
// the run's; the message (policy.Decision's, built anew at every step) is
// kept only for the records kept aside.
type Decisions struct {
	index map[string]int
	svc   []ServiceDecisions
}

// ServiceDecisions is one service's decision records.
type ServiceDecisions struct {
	name     string
	start    time.Time
	interval time.Duration
	mode     policy.Mode
	detail   bool
	levels   []int16         // every step's Record.Level
	rows     []decisionRow   // every step's record, with detail
	extras   []decisionExtra // the records that carry more, in step order
}

// decisionRow is one record without pointers.
type decisionRow struct {
	latency, load, risk float64
	forecast            [3]float64
	breachLevel         float64
	ttb                 time.Duration
	level               int32
	reason              uint8 // index into policy.Reasons; reasonOther: in the extra
	firing              bool
}

const reasonOther = 255

// decisionExtra is a record kept whole: its row and what a row leaves out.
type decisionExtra struct {
	step               int
	row                decisionRow
	actions            []controller.Applied
	message            string
	reason             policy.Reason // when not one of policy.Reasons
	time               time.Time     // when off the step grid
	windows, next      []schedule.Window
	reasonSet, timeSet bool
}

var reasonIndex = func() map[policy.Reason]uint8 {
	m := make(map[policy.Reason]uint8, len(policy.Reasons))
	for i, r := range policy.Reasons {
		m[r] = uint8(i)
	}
	return m
}()

// newDecisions returns an empty store for the services, each with room for
// steps records, every record kept with detail.
func newDecisions(names []string, start time.Time, interval time.Duration, mode policy.Mode, steps int, detail bool) *Decisions {
	d := &Decisions{index: make(map[string]int, len(names)), svc: make([]ServiceDecisions, len(names))}
	for i, n := range names {
		d.index[n] = i
		sd := ServiceDecisions{name: n, start: start, interval: interval, mode: mode, detail: detail,
			levels: make([]int16, 0, steps)}
		if detail {
			sd.rows = make([]decisionRow, 0, steps)
		}
		d.svc[i] = sd
	}
	return d
}

// detailed reports whether every step's record is kept.
func (d *Decisions) detailed() bool {
	return d != nil && (len(d.svc) == 0 || d.svc[0].detail)
}

// Service returns the records of the named service (empty when unknown).
func (d *Decisions) Service(name string) *ServiceDecisions {
	if d != nil {
		if i, ok := d.index[name]; ok {
			return &d.svc[i]
		}
	}
	return &ServiceDecisions{name: name}
}

// Records returns the named service's records, one per step (nil without
// detail).
func (d *Decisions) Records(name string) []controller.Record { return d.Service(name).Records() }

// add appends r as the next step's record.
func (s *ServiceDecisions) add(r controller.Record) {
	i := len(s.levels)
	level := int16(r.Level)
	if int(level) != r.Level {
		level = math.MaxInt16 // a playbook of more than 32767 actions
	}
	s.levels = append(s.levels, level)
	need := len(r.Actions) > 0 || r.Windows != nil || r.NextWindows != nil
	k, known := reasonIndex[r.Reason]
	offGrid := !r.Time.Equal(s.time(i)) || r.Time.Location() != s.start.Location()
	need = need || !known || offGrid
	if !s.detail && !need {
		return
	}
	row := decisionRow{latency: r.Latency, load: r.Load, risk: r.Risk, forecast: r.Forecast,
		breachLevel: r.BreachLevel, ttb: r.TimeToBreach, level: int32(r.Level), firing: r.Firing, reason: k}
	if !known {
		row.reason = reasonOther
	}
	if need {
		ex := decisionExtra{step: i, row: row, actions: r.Actions, message: r.Message,
			windows: r.Windows, next: r.NextWindows}
		if !known {
			ex.reason, ex.reasonSet = r.Reason, true
		}
		if offGrid {
			ex.time, ex.timeSet = r.Time, true
		}
		s.extras = append(s.extras, ex)
	}
	if s.detail {
		s.rows = append(s.rows, row)
	}
}

func (s *ServiceDecisions) time(i int) time.Time { return s.start.Add(time.Duration(i) * s.interval) }

// Len returns the number of records.
func (s *ServiceDecisions) Len() int { return len(s.levels) }

// Level returns record i's level (controller.Record.Level).
func (s *ServiceDecisions) Level(i int) int { return int(s.levels[i]) }

// At returns record i. Without detail, only a record kept aside (one that
// carries an action, an error or windows) can be rebuilt: At panics on
// the others.
func (s *ServiceDecisions) At(i int) controller.Record {
	r, ok := s.Kept(i)
	if !ok {
		panic(fmt.Sprintf("replay: decision record %d of %s was not kept (replay without detail)", i, s.name))
	}
	return r
}

// Kept returns record i when it is kept: always with detail, else when it
// carries an action, an error or windows.
func (s *ServiceDecisions) Kept(i int) (controller.Record, bool) {
	ex := s.extra(i)
	switch {
	case s.detail && i >= 0 && i < len(s.rows):
		return s.record(i, &s.rows[i], ex), true
	case ex != nil:
		return s.record(i, &ex.row, ex), true
	}
	return controller.Record{}, false
}

// extra returns the record of step i kept aside, or nil.
func (s *ServiceDecisions) extra(i int) *decisionExtra {
	j, ok := slices.BinarySearchFunc(s.extras, i, func(ex decisionExtra, i int) int { return cmp.Compare(ex.step, i) })
	if !ok {
		return nil
	}
	return &s.extras[j]
}

// record rebuilds record i from its row and, when kept aside, its extra.
func (s *ServiceDecisions) record(i int, row *decisionRow, ex *decisionExtra) controller.Record {
	r := controller.Record{Time: s.time(i), Service: s.name, Mode: s.mode, Latency: row.latency, Load: row.load,
		Risk: row.risk, TimeToBreach: row.ttb, Forecast: row.forecast, BreachLevel: row.breachLevel,
		Level: int(row.level), Firing: row.firing}
	if row.reason != reasonOther {
		r.Reason = policy.Reasons[row.reason]
	}
	if ex != nil {
		r.Actions, r.Message, r.Windows, r.NextWindows = ex.actions, ex.message, ex.windows, ex.next
		if ex.reasonSet {
			r.Reason = ex.reason
		}
		if ex.timeSet {
			r.Time = ex.time
		}
	}
	return r
}

// Records returns every record; nil without detail.
func (s *ServiceDecisions) Records() []controller.Record {
	if !s.detail {
		return nil
	}
	out := make([]controller.Record, len(s.rows))
	for i := range out {
		out[i] = s.At(i)
	}
	return out
}

// Actions yields, in step order, the index and record of every step whose
// record carries actions (applied or failed).
func (s *ServiceDecisions) Actions() iter.Seq2[int, controller.Record] {
	return func(yield func(int, controller.Record) bool) {
		for j := range s.extras {
			ex := &s.extras[j]
			if len(ex.actions) == 0 {
				continue
			}
			if !yield(ex.step, s.record(ex.step, &ex.row, ex)) {
				return
			}
		}
	}
}
