package controller

import (
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// Window states, the state label of the schedule window gauges.
const (
	WindowActive = "active"
	WindowNext   = "next"
)

// scheduleTelemetry holds the schedule window gauges.
type scheduleTelemetry struct {
	start, end *prometheus.GaugeVec
}

func newScheduleTelemetry() scheduleTelemetry {
	labels := []string{"service", "schedule", "kind", "state"}
	return scheduleTelemetry{
		start: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_schedule_window_start_seconds",
			Help: "Start of each schedule's active window (state=active) and of its next one (state=next), as a Unix time, by service.",
		}, labels),
		end: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_schedule_window_end_seconds",
			Help: "End of each schedule's active window (state=active) and of its next one (state=next), as a Unix time, by service.",
		}, labels),
	}
}

// windows fills the schedule inputs of the decision and the record's
// windows: the prewarm values per playbook step, the freeze, and each
// schedule's active and next window at now.
func (c *Controller) windows(s *service, in *policy.Input, rec *Record, now time.Time) {
	if len(s.scheds) == 0 {
		return
	}
	if len(s.win) != len(s.scheds) {
		s.win = make([]schedWindows, len(s.scheds))
	}
	var names []string
	allow, moved := true, false
	for k, sc := range s.scheds {
		cw := &s.win[k]
		if !cw.valid(now) {
			cw.refresh(sc, now)
			moved = true
		}
		if w, ok := cw.active, cw.activeOK; ok {
			rec.Windows = append(rec.Windows, w)
			switch w.Kind {
			case schedule.Prewarm:
				if in.Prewarm == nil {
					in.Prewarm = make([]float64, len(s.settings.Playbook))
					for i := range in.Prewarm {
						in.Prewarm[i] = math.NaN()
					}
				}
				for i, st := range s.settings.Playbook {
					v, ok := w.Actions[st.Name]
					if !ok {
						continue
					}
					if cur := in.Prewarm[i]; !math.IsNaN(cur) && (st.Engaged < st.Baseline) == (cur < v) {
						v = cur // the further of two windows' values
					}
					in.Prewarm[i] = v
				}
				names = append(names, w.Name)
			case schedule.Freeze:
				in.Frozen = true
				allow = allow && w.AllowRevert
				names = append(names, w.Name)
			}
		}
		if cw.nextOK {
			rec.NextWindows = append(rec.NextWindows, cw.next)
		}
	}
	in.AllowRevert = in.Frozen && allow
	in.Windows = strings.Join(names, ", ")
	if !moved {
		return // the gauges already say so
	}

	t := c.tel.sched
	t.start.DeletePartialMatch(prometheus.Labels{"service": s.cfg.Name})
	t.end.DeletePartialMatch(prometheus.Labels{"service": s.cfg.Name})
	for state, ws := range map[string][]schedule.Window{WindowActive: rec.Windows, WindowNext: rec.NextWindows} {
		for _, w := range ws {
			t.start.WithLabelValues(s.cfg.Name, w.Name, string(w.Kind), state).Set(unix(w.Start))
			t.end.WithLabelValues(s.cfg.Name, w.Name, string(w.Kind), state).Set(unix(w.End))
		}
	}
}

// schedWindows is one schedule's active and next window as found at a
// step (at): they stay the same until the next window starts or the active
// one ends (until), so the steps in between reuse them.
type schedWindows struct {
	at, until        time.Time
	active, next     schedule.Window
	activeOK, nextOK bool
}

// valid reports whether the windows found at cw.at still hold at now.
func (cw *schedWindows) valid(now time.Time) bool {
	return !cw.at.IsZero() && !now.Before(cw.at) && (cw.until.IsZero() || now.Before(cw.until))
}

// refresh finds sc's active and next window at now.
func (cw *schedWindows) refresh(sc *schedule.Schedule, now time.Time) {
	cw.at = now
	cw.active, cw.activeOK = sc.Active(now)
	cw.next, cw.nextOK = sc.Next(now)
	cw.until = time.Time{} // no window ahead: for good
	if cw.nextOK {
		cw.until = cw.next.Start
	}
	if cw.activeOK && (cw.until.IsZero() || cw.active.End.Before(cw.until)) {
		cw.until = cw.active.End
	}
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// eventMask marks the steps of the fit window and of what follows it until
// the next refit and one horizon beyond, that fall in an event window.
func (c *Controller) eventMask(s *service, window int, now time.Time) []bool {
	if len(s.events) == 0 {
		return nil
	}
	// The mask must last until the model is next refitted: the next
	// scheduled refit, or as many more as a steady model may pass over.
	ahead := s.horizon + 2
	if s.next.After(now) {
		ahead += (1 + refitBackoffMax) * int(s.next.Sub(now)/c.interval)
	}
	start := now.Add(-time.Duration(window-1) * c.interval)
	return schedule.Mask(s.events, start, c.interval, window+ahead)
}
