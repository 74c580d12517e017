package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// ReplayOptions configures a replay.
type ReplayOptions struct {
	// Config is the validated configuration; every service is replayed.
	Config *config.Config
	// Trace, when set, drives every service instead of its own load
	// (scaled to each service's peak).
	Trace *Trace
	// Policies are the policies to compare. Default none, reactive,
	// predictive.
	Policies []policy.Mode
	// Logger receives the controllers' logs; nil discards.
	Logger *slog.Logger
	// Workers and FullPaths are passed to each controller (see
	// controller.Options): how many services a step works on at once, and
	// whether to draw every sample path at every step (slower, for
	// comparison).
	Workers   int
	FullPaths bool
}

// Run is one policy's replay: what the controller decided and what the
// simulated services did, step by step.
type Run struct {
	Policy policy.Mode
	// Decisions holds, per service, one decision record per step (see
	// Decisions for what it keeps; none for the 'none' run, which decides
	// nothing), Steps per service name one plant record per step.
	Decisions *Decisions
	Steps     map[string][]Record
	// Cost is the resource cost per service.
	Cost map[string]Cost
}

// Replay runs every policy over the same loads with identical, fresh
// simulated services and a virtual clock, and evaluates them. The policies
// run concurrently; the result does not depend on it: the same input gives
// the same report.
func Replay(ctx context.Context, o ReplayOptions) (*Report, error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("sim: replay needs a config")
	}
	policies := o.Policies
	if len(policies) == 0 {
		policies = []policy.Mode{policy.None, policy.Reactive, policy.Predictive}
	}
	loads, err := Loads(cfg, o.Trace)
	if err != nil {
		return nil, err
	}
	start, end := span(loads)
	interval := time.Duration(cfg.Global.Interval)
	if !end.After(start) {
		return nil, errors.New("sim: replay: the loads hold no step")
	}
	// The 'none' run is the counterfactual for lead time and precision:
	// run it even when it is not asked for.
	modes := policies
	if !slices.Contains(modes, policy.None) {
		modes = append([]policy.Mode{policy.None}, modes...)
	}
	runs := make([]*Run, len(modes))
	errs := make([]error, len(modes))
	var wg sync.WaitGroup
	for i, m := range modes {
		wg.Go(func() {
			runs[i], errs[i] = replayOne(ctx, o, loads, m, start, end, interval)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var none *Run
	for _, r := range runs {
		if r.Policy == policy.None {
			none = r
		}
	}
	rep := &Report{Start: start, End: end, Interval: interval, Config: cfg, none: none}
	if rep.Windows, err = replayWindows(cfg, start, end); err != nil {
		return nil, err
	}
	for _, m := range policies {
		for _, r := range runs {
			if r.Policy == m {
				rep.Runs = append(rep.Runs, r)
				rep.Policies = append(rep.Policies, evaluate(cfg, r, none, interval))
			}
		}
	}
	return rep, nil
}

// ReplayWindow is a schedule window of one service during a replay.
type ReplayWindow struct {
	Service string `json:"service"`
	schedule.Window
}

// replayWindows returns the schedule windows of every service within
// [start, end).
func replayWindows(cfg *config.Config, start, end time.Time) ([]ReplayWindow, error) {
	var out []ReplayWindow
	for _, s := range cfg.Services {
		var ws []schedule.Window
		for i, sch := range cfg.Schedules {
			if !sch.AppliesTo(s.Name) {
				continue
			}
			p, err := sch.Parse()
			if err != nil {
				return nil, fmt.Errorf("sim: replay: schedules[%d]: %w", i, err)
			}
			ws = append(ws, p.Windows(start, end, 0)...)
		}
		slices.SortStableFunc(ws, func(a, b schedule.Window) int { return a.Start.Compare(b.Start) })
		for _, w := range ws {
			out = append(out, ReplayWindow{Service: s.Name, Window: w})
		}
	}
	return out, nil
}

// span returns the first and last step times over all loads.
func span(loads map[string]*Trace) (start, end time.Time) {
	for _, tr := range loads {
		if start.IsZero() || tr.Start.Before(start) {
			start = tr.Start
		}
		if e := tr.End(); e.After(end) {
			end = e
		}
	}
	return start, end
}

func replayOne(ctx context.Context, o ReplayOptions, loads map[string]*Trace, mode policy.Mode,
	start, end time.Time, interval time.Duration) (*Run, error) {
	cfg, log := o.Config, o.Logger
	src, acts, err := Build(cfg, loads, nil)
	if err != nil {
		return nil, err
	}
	steps := int(end.Sub(start) / interval)
	src.SetOptions(SourceOptions{Steps: steps, ReuseSnapshot: true})
	names := make([]string, len(cfg.Services))
	for i, s := range cfg.Services {
		names[i] = s.Name
	}
	// The 'none' run decides nothing: its records would all say Disabled,
	// and nothing reads them. Its store stays empty.
	capacity := steps
	if mode == policy.None {
		capacity = 0
	}
	decs := newDecisions(names, start, interval, mode, capacity)
	run := &Run{Policy: mode, Decisions: decs, Steps: map[string][]Record{}, Cost: map[string]Cost{}}
	// The records come in service order (Options.OnDecision): each goes to
	// the next service's store without a map lookup by name.
	next := 0
	onDecision := func(r controller.Record) {
		if next >= len(decs.svc) || decs.svc[next].name != r.Service {
			next = decs.index[r.Service]
		}
		decs.svc[next].add(r)
		next++
		if next == len(decs.svc) {
			next = 0
		}
	}
	if log != nil {
		log = log.With("policy", mode.String())
	}
	if mode == policy.None {
		onDecision = nil
	}
	ctl, err := controller.New(controller.Options{
		Config: cfg, Source: src, Actuators: acts, Mode: mode, Logger: log,
		Workers: o.Workers, FullPaths: o.FullPaths,
		OnDecision: onDecision, Terse: true,
	})
	if err != nil {
		return nil, err
	}
	for t := start; t.Before(end); t = t.Add(interval) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A source error is recorded by the controller as NoData; the
		// simulator only fails on a programming error.
		if err := ctl.Step(ctx, t); err != nil {
			return nil, fmt.Errorf("replay %s at %s: %w", mode, t.Format(time.RFC3339), err)
		}
	}
	for _, s := range cfg.Services {
		run.Steps[s.Name] = src.byName[s.Name].history // the source is done: no copy
		run.Cost[s.Name] = src.Plant(s.Name).Cost()
	}
	return run, nil
}
