package sim

import (
	"iter"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// Decisions holds a replay's decision records, per service one per step,
// compactly: a replay of a week of one-minute steps for 100 services makes
// a million records per policy, and controller.Record (232 bytes, with
// pointers) held them in memory the collector scanned at every cycle and
// the kernel faulted in page by page. A step's record is kept as a row of
// 80 bytes without pointers; what few records carry (an action, an error,
// schedule windows) is kept aside. Records and At rebuild full records
// where they are needed (the HTML report, tests).
//
// The time of record i is the replay's start plus i intervals, the mode
// the run's; the message (policy.Decision's, built anew at every step) is
// kept only for the records that carry an action, an error or windows.
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
	rows     []decisionRow
	extras   []decisionExtra
}

// decisionRow is one record without pointers.
type decisionRow struct {
	latency, load, risk float64
	forecast            [3]float64
	breachLevel         float64
	ttb                 time.Duration
	level               int32
	extra               int32 // 1 + index into extras; 0: none
	reason              uint8 // index into policy.Reasons; reasonOther: in the extra
	firing              bool
}

const reasonOther = 255

// decisionExtra is what a row leaves out.
type decisionExtra struct {
	action             *actuators.Action
	err                error
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
// steps records.
func newDecisions(names []string, start time.Time, interval time.Duration, mode policy.Mode, steps int) *Decisions {
	d := &Decisions{index: make(map[string]int, len(names)), svc: make([]ServiceDecisions, len(names))}
	for i, n := range names {
		d.index[n] = i
		d.svc[i] = ServiceDecisions{name: n, start: start, interval: interval, mode: mode, rows: make([]decisionRow, 0, steps)}
	}
	return d
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

// Records returns the named service's records, one per step.
func (d *Decisions) Records(name string) []controller.Record { return d.Service(name).Records() }

// add appends r as the next step's record.
func (s *ServiceDecisions) add(r controller.Record) {
	i := len(s.rows)
	row := decisionRow{latency: r.Latency, load: r.Load, risk: r.Risk, forecast: r.Forecast,
		breachLevel: r.BreachLevel, ttb: r.TimeToBreach, level: int32(r.Level), firing: r.Firing}
	var ex decisionExtra
	need := r.Action != nil || r.Err != nil || r.Windows != nil || r.NextWindows != nil
	if k, ok := reasonIndex[r.Reason]; ok {
		row.reason = k
	} else {
		row.reason, ex.reason, ex.reasonSet, need = reasonOther, r.Reason, true, true
	}
	if !r.Time.Equal(s.time(i)) || r.Time.Location() != s.start.Location() {
		ex.time, ex.timeSet, need = r.Time, true, true
	}
	if need {
		ex.action, ex.err, ex.message, ex.windows, ex.next = r.Action, r.Err, r.Message, r.Windows, r.NextWindows
		s.extras = append(s.extras, ex)
		row.extra = int32(len(s.extras))
	}
	s.rows = append(s.rows, row)
}

func (s *ServiceDecisions) time(i int) time.Time { return s.start.Add(time.Duration(i) * s.interval) }

// Len returns the number of records.
func (s *ServiceDecisions) Len() int { return len(s.rows) }

// Level returns record i's level (controller.Record.Level).
func (s *ServiceDecisions) Level(i int) int { return int(s.rows[i].level) }

// At returns record i.
func (s *ServiceDecisions) At(i int) controller.Record {
	row := &s.rows[i]
	r := controller.Record{Time: s.time(i), Service: s.name, Mode: s.mode, Latency: row.latency, Load: row.load,
		Risk: row.risk, TimeToBreach: row.ttb, Forecast: row.forecast, BreachLevel: row.breachLevel,
		Level: int(row.level), Firing: row.firing}
	if row.reason != reasonOther {
		r.Reason = policy.Reasons[row.reason]
	}
	if row.extra > 0 {
		ex := &s.extras[row.extra-1]
		r.Action, r.Err, r.Message, r.Windows, r.NextWindows = ex.action, ex.err, ex.message, ex.windows, ex.next
		if ex.reasonSet {
			r.Reason = ex.reason
		}
		if ex.timeSet {
			r.Time = ex.time
		}
	}
	return r
}

// Records returns every record.
func (s *ServiceDecisions) Records() []controller.Record {
	out := make([]controller.Record, len(s.rows))
	for i := range out {
		out[i] = s.At(i)
	}
	return out
}

// Actions yields, in step order, the index and record of every step whose
// record carries an action (applied or failed).
func (s *ServiceDecisions) Actions() iter.Seq2[int, controller.Record] {
	return func(yield func(int, controller.Record) bool) {
		for i := range s.rows {
			if s.rows[i].extra == 0 || s.extras[s.rows[i].extra-1].action == nil {
				continue
			}
			if !yield(i, s.At(i)) {
				return
			}
		}
	}
}
