package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/presage-dev/presage/schedule"
)

// Resolved is one service's configuration as the control loop runs it:
// durations counted in steps of global.interval, the refit cron and the
// schedules parsed, and the settings of the policy. Config.Resolve makes it.
//
// Step counts round down: a horizon of 90s at an interval of 1m is one step.
// Validate requires the periods to be multiples of the interval, so only the
// horizon and the history can be cut short.
type Resolved struct {
	// Name is the service's name.
	Name string
	// Signal is forecast.signal: the signal the service forecasts.
	Signal string
	// Interval is global.interval: one step.
	Interval time.Duration
	// Horizon is forecast.horizon in steps, at least 1.
	Horizon int
	// Period is forecast.period in steps; 0 means detect it from the
	// history.
	Period int
	// LongPeriod is forecast.long_period in steps for the double-seasonal
	// model; 0 for the other models, which do not use it.
	LongPeriod int
	// History is global.history in steps, at least 2: how many samples are
	// kept per signal, and per playbook level the (load, latency) pairs
	// observed.
	History int
	// Refit is forecast.refit, parsed.
	Refit cron.Schedule
	// Incident is the incident pattern: the latency above Incident.Above
	// for Incident.Consecutive samples in a row, an incident ending after
	// Incident.ResolveAfter steps at or below it.
	Incident Pattern
	// Trigger and Clear are forecast.trigger and forecast.clear.
	Trigger, Clear float64
	// IncidentCost is incident_cost.
	IncidentCost float64
	// Playbook holds each playbook action as the policy applies it, in
	// playbook order.
	Playbook []Step
	// Schedules are the parsed schedules that apply to the service, in the
	// order of the configuration's schedules. A schedule that applies to
	// several services is parsed once and shared: a *schedule.Schedule is
	// read-only.
	Schedules []*schedule.Schedule
}

// Pattern is the incident pattern as the figures count it: package model's
// Pattern, field for field, with incident.resolve_after in steps of
// global.interval, rounded up (a resolve_after of 90s at an interval of 1m
// is 2 steps: a stretch of g steps at or below the threshold ends an
// incident when g × interval >= resolve_after).
type Pattern struct {
	Above        float64 // incident.above
	Consecutive  int     // incident.consecutive
	ResolveAfter int     // incident.resolve_after in steps, rounded up
}

// Step is a playbook action as the policy applies it: package policy's Step,
// field for field, with the action's durations as time.Duration and its
// baseline and engaged values filled in.
type Step struct {
	Name        string
	Warmup      time.Duration // warmup
	Margin      time.Duration // margin; 0 means one interval
	Cooldown    time.Duration // cooldown
	RevertAfter time.Duration // revert_after
	Min, Max    float64       // min and max
	Baseline    float64       // baseline, default min (Action.BaselineValue)
	Engaged     float64       // engaged, default max (Action.EngagedValue)
	// CostPerMinute and CapacityGain are cost_per_minute and
	// capacity_gain.
	CostPerMinute, CapacityGain float64
}

// Resolve returns every service of c as the control loop runs it, in the
// order of c.Services. It parses each schedule that applies to a service
// once; a schedule that applies to none is not parsed.
//
// The errors are those of a configuration Validate rejects (a zero
// interval, a refit cron or a schedule that does not parse), each prefixed
// by the YAML path of the field; Resolve stops at the first. It expects
// SetDefaults to have run.
func (c *Config) Resolve() ([]Resolved, error) {
	interval := time.Duration(c.Global.Interval)
	if interval <= 0 {
		return nil, fmt.Errorf("global.interval: %s must be > 0", c.Global.Interval)
	}
	history := max(int(time.Duration(c.Global.History)/interval), 2)
	parsed := make([]*schedule.Schedule, len(c.Schedules))
	out := make([]Resolved, len(c.Services))
	for i := range c.Services {
		s := &c.Services[i]
		refit, err := schedule.ParseCron(s.Forecast.Refit)
		if err != nil {
			return nil, fmt.Errorf("services[%d].forecast.refit: %w", i, err)
		}
		r := Resolved{
			Name:     s.Name,
			Signal:   s.Forecast.Signal,
			Interval: interval,
			Horizon:  max(1, int(time.Duration(s.Forecast.Horizon)/interval)),
			Period:   int(time.Duration(s.Forecast.Period) / interval),
			History:  history,
			Refit:    refit,
			Incident: Pattern{Above: s.Incident.Above, Consecutive: s.Incident.Consecutive,
				ResolveAfter: ceilSteps(time.Duration(s.Incident.ResolveAfter), interval)},
			Trigger: s.Forecast.Trigger,
			Clear:   s.Forecast.Clear,

			IncidentCost: s.IncidentCost,
		}
		if s.Forecast.Model == ModelDouble {
			r.LongPeriod = int(time.Duration(s.Forecast.LongPeriod) / interval)
		}
		if len(s.Playbook) > 0 {
			r.Playbook = make([]Step, len(s.Playbook))
		}
		for j, a := range s.Playbook {
			r.Playbook[j] = Step{
				Name: a.Name, Warmup: time.Duration(a.Warmup), Margin: time.Duration(a.Margin),
				Cooldown: time.Duration(a.Cooldown), RevertAfter: time.Duration(a.RevertAfter),
				Min: a.Min, Max: a.Max, Baseline: a.BaselineValue(), Engaged: a.EngagedValue(),
				CostPerMinute: a.CostPerMinute, CapacityGain: a.CapacityGain,
			}
		}
		for j, sch := range c.Schedules {
			if !sch.AppliesTo(s.Name) {
				continue
			}
			if parsed[j] == nil {
				if parsed[j], err = sch.Parse(); err != nil {
					return nil, fmt.Errorf("schedules[%d]: %w", j, err)
				}
			}
			r.Schedules = append(r.Schedules, parsed[j])
		}
		out[i] = r
	}
	return out, nil
}

// ceilSteps returns d in steps of interval, rounded up; 0 for d <= 0.
func ceilSteps(d, interval time.Duration) int {
	if d <= 0 {
		return 0
	}
	n := d / interval
	if d%interval != 0 {
		n++
	}
	return int(n)
}
