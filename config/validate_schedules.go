package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/schedule"
)

// NeverFiresWithin is how far after ScheduleCheckFrom a cron expression
// (forecast.refit, a schedule's cron) must fire at least once: five years,
// as robfig/cron searches, so that "0 0 30 2 *" (February 30th) fails.
const NeverFiresWithin = 5 * 366 * 24 * time.Hour

// checkRefit parses a refit expression and checks that it fires: "@every"
// takes a positive duration (robfig/cron reads "@every -1m" as every
// second), and five fields must name a time that exists.
func checkRefit(expr string) error {
	sch, err := schedule.ParseCron(expr)
	if err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(expr), "@every"); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(rest)); err == nil && d <= 0 {
			return fmt.Errorf("@every needs a positive duration, not %s", strings.TrimSpace(rest))
		}
		return nil
	}
	if next := sch.Next(ScheduleCheckFrom); next.IsZero() || next.Sub(ScheduleCheckFrom) > NeverFiresWithin {
		return fmt.Errorf("it never fires (no time within five years matches it)")
	}
	return nil
}

// ScheduleCheckFrom and ScheduleCheckSpan are the span over which Validate
// compares two recurring schedules for overlapping windows: four years
// from a fixed date (every weekday on every date of a leap cycle), so the
// answer does not depend on when the check runs. A one-off window is
// compared exactly, whenever it is.
var (
	ScheduleCheckFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ScheduleCheckSpan = 4 * 366 * 24 * time.Hour
)

// scheduleCheckLimit bounds the windows of one schedule compared.
const scheduleCheckLimit = 5000

func (c *Config) validateSchedules(v *validator) {
	names := make(map[string]int)
	parsed := make([]*schedule.Schedule, len(c.Schedules))
	for i := range c.Schedules {
		s := &c.Schedules[i]
		path := fmt.Sprintf("schedules[%d]", i)
		switch {
		case s.Name == "":
			v.add(path+".name", "required")
		default:
			if j, dup := names[s.Name]; dup {
				v.addf(path+".name", "duplicate schedule name %q (also schedules[%d])", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		sch, err := s.Parse()
		for _, fe := range fieldErrors(err) {
			v.add(path+"."+fe.Field, fe.Msg)
		}
		parsed[i] = sch
		if sch != nil && s.Cron != "" {
			c.checkWindows(v, path, sch)
		}
		for j, name := range s.Services {
			if c.Service(name) == nil {
				v.addf(fmt.Sprintf("%s.services[%d]", path, j), "unknown service %q", name)
			}
		}
		if s.Kind != ScheduleFreeze && s.AllowRevert {
			v.add(path+".allow_revert", "only for kind freeze")
		}
		if s.Kind != SchedulePrewarm {
			if len(s.Actions) > 0 {
				v.add(path+".actions", "only for kind prewarm")
			}
			continue
		}
		if len(s.Actions) == 0 {
			v.add(path+".actions", "required for kind prewarm: the actions to hold and their values")
		}
		for _, name := range slices.Sorted(maps.Keys(s.Actions)) {
			val, p := s.Actions[name], path+".actions."+name
			for _, svc := range c.Services {
				if !s.AppliesTo(svc.Name) {
					continue
				}
				a := svc.Action(name)
				if a == nil {
					v.addf(p, "service %q has no playbook action %q", svc.Name, name)
					continue
				}
				if !(val >= a.Min && val <= a.Max) {
					v.addf(p, "%s must be within the action's [min, max] ([%s, %s]) of service %q", num(val), num(a.Min), num(a.Max), svc.Name)
				}
			}
		}
	}
	// Pairs: prewarms that overlap asking different values of one action,
	// and freezes that would block a prewarm.
	to := ScheduleCheckFrom.Add(ScheduleCheckSpan)
	for i := range c.Schedules {
		for j := range c.Schedules {
			a, b := &c.Schedules[i], &c.Schedules[j]
			if i == j || parsed[i] == nil || parsed[j] == nil || !sharesService(c, a, b) {
				continue
			}
			switch {
			case i < j && a.Kind == SchedulePrewarm && b.Kind == SchedulePrewarm:
				var differ []string
				for _, name := range slices.Sorted(maps.Keys(b.Actions)) {
					if va, ok := a.Actions[name]; ok && va != b.Actions[name] {
						differ = append(differ, name)
					}
				}
				if len(differ) == 0 {
					continue
				}
				if wa, wb, ok := schedule.FirstOverlap(parsed[i], parsed[j], ScheduleCheckFrom, to, scheduleCheckLimit); ok {
					name := differ[0]
					v.addf(fmt.Sprintf("schedules[%d].actions.%s", j, name),
						"%s overlaps prewarm %q (schedules[%d], %s) which asks %s %s, this asks %s",
						fmtWindow(wb), a.Name, i, fmtWindow(wa), name, num(a.Actions[name]), num(b.Actions[name]))
				}
			case a.Kind == ScheduleFreeze && b.Kind == SchedulePrewarm:
				if wa, wb, ok := schedule.FirstOverlap(parsed[i], parsed[j], ScheduleCheckFrom, to, scheduleCheckLimit); ok {
					field := "cron"
					if a.Cron == "" {
						field = "at"
					}
					v.addf(fmt.Sprintf("schedules[%d].%s", i, field), "freeze %s would block prewarm %q (schedules[%d], %s)",
						fmtWindow(wa), b.Name, j, fmtWindow(wb))
				}
			}
		}
	}
}

// checkWindows checks that a recurring schedule fires within
// NeverFiresWithin of ScheduleCheckFrom, and that each of its windows ends
// at least one global.interval before the next starts: every window is a
// change the loop acts on, and a once-a-minute schedule would make a
// replay expand hundreds of thousands of windows. It compares the windows
// of ScheduleCheckSpan, at most scheduleCheckLimit of them.
func (c *Config) checkWindows(v *validator, path string, sch *schedule.Schedule) {
	ws := sch.Windows(ScheduleCheckFrom, ScheduleCheckFrom.Add(NeverFiresWithin), 1)
	if len(ws) == 0 {
		v.add(path+".cron", "the schedule never fires (no time within five years matches it)")
		return
	}
	interval := time.Duration(c.Global.Interval)
	if interval <= 0 || interval > time.Duration(MaxInterval) {
		return
	}
	to := ScheduleCheckFrom.Add(ScheduleCheckSpan)
	prev := ws[0]
	for range scheduleCheckLimit {
		next, ok := sch.Next(prev.Start)
		if !ok || !next.Start.Before(to) {
			return
		}
		if next.Start.Sub(prev.End) < interval {
			v.addf(path+".duration", "%s and the next %s are less than global.interval (%s) apart: "+
				"a window must end at least one interval before the next starts",
				fmtWindow(prev), fmtWindow(next), c.Global.Interval)
			return
		}
		prev = next
	}
}

// sharesService reports whether a and b apply to a service in common.
func sharesService(c *Config, a, b *Schedule) bool {
	for _, s := range c.Services {
		if a.AppliesTo(s.Name) && b.AppliesTo(s.Name) {
			return true
		}
	}
	return false
}

func fmtWindow(w schedule.Window) string {
	return fmt.Sprintf("window [%s, %s)", w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339))
}

// fieldErrors returns the *schedule.FieldError values in err.
func fieldErrors(err error) []*schedule.FieldError {
	var out []*schedule.FieldError
	switch e := err.(type) {
	case nil:
	case *schedule.FieldError:
		out = append(out, e)
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			out = append(out, fieldErrors(err)...)
		}
	default:
		out = append(out, &schedule.FieldError{Field: "cron", Msg: err.Error()})
	}
	return out
}
