package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
	"github.com/presage-dev/presage/sim"
)

// ReplayOptions configures a replay.
type ReplayOptions struct {
	// Config is the validated configuration; every service is replayed.
	Config *config.Config
	// Trace, when set, drives every service instead of its own load
	// (scaled to each service's peak).
	Trace *metrics.Grid
	// Policies are the policies to compare. Default none, reactive,
	// predictive.
	Policies []policy.Mode
	// Logger receives the controllers' logs; nil discards.
	Logger *slog.Logger
	// Workers is how many services are replayed at once (each policy's
	// run of each service is one task; default GOMAXPROCS). FullPaths is
	// passed to each controller (controller.Options): whether to draw
	// every sample path at every step (slower, for comparison).
	Workers   int
	FullPaths bool
	// PerfectForecast has every policy that forecasts (predictive, plan)
	// forecast the load ahead exactly, as clairvoyant does (which is
	// predictive with it): what a perfect forecast buys each policy.
	PerfectForecast bool
	// Detail keeps every step's decision record (Decisions.Records, the
	// HTML report's forecast band); without it a run keeps each step's
	// level and whole only the records that carry an action, an error or
	// schedule windows, which is all the scores and the decision log read.
	Detail bool
}

// Run is one policy's replay: what the controller decided and what the
// simulated services did, step by step.
type Run struct {
	Policy policy.Mode
	// Decisions holds, per service, one decision record per step (see
	// Decisions for what it keeps; none for the 'none' run, which decides
	// nothing), Steps per service name one plant record per step.
	Decisions *Decisions
	Steps     map[string][]sim.Record
	// Cost is the resource cost per service.
	Cost map[string]sim.Cost
}

// Replay runs every policy over the same loads with identical, fresh
// simulated services and a virtual clock, and evaluates them. The runs of
// the services under the policies go on at once (replayAll); the result
// does not depend on it: the same input gives the same report.
func Replay(ctx context.Context, o ReplayOptions) (*Report, error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("replay: needs a config")
	}
	services, err := cfg.Resolve()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	policies := o.Policies
	if len(policies) == 0 {
		policies = []policy.Mode{policy.None, policy.Reactive, policy.Predictive, policy.Plan}
	}
	loads, err := sim.Loads(cfg, o.Trace)
	if err != nil {
		return nil, err
	}
	start, end := span(loads)
	interval := time.Duration(cfg.Global.Interval)
	if !end.After(start) {
		return nil, errors.New("replay: the loads hold no step")
	}
	if end.Sub(start) < interval {
		// A trace on a 1ns step: replaying it would replay nothing.
		return nil, fmt.Errorf("replay: the loads span %v (from %s), less than one global.interval (%v): nothing to replay",
			end.Sub(start), start.Format(time.RFC3339Nano), interval)
	}
	// The 'none' run is the counterfactual for lead time and precision:
	// run it even when it is not asked for.
	modes := policies
	if !slices.Contains(modes, policy.None) {
		modes = append([]policy.Mode{policy.None}, modes...)
	}
	runs, err := replayAll(ctx, o, loads, modes, start, end, interval)
	if err != nil {
		return nil, err
	}
	var none *Run
	for _, r := range runs {
		if r.Policy == policy.None {
			none = r
		}
	}
	rep := &Report{Start: start, End: end, Interval: interval, Config: cfg, none: none, services: services}
	if rep.Windows, err = replayWindows(ctx, services, start, end); err != nil {
		return nil, err
	}
	for _, m := range policies {
		for _, r := range runs {
			if r.Policy == m {
				rep.Runs = append(rep.Runs, r)
				rep.Policies = append(rep.Policies, evaluate(cfg, services, r, none, interval))
			}
		}
	}
	compareToOracle(rep.Policies)
	return rep, nil
}

// ReplayWindow is a schedule window of one service during a replay.
type ReplayWindow struct {
	Service string `json:"service"`
	schedule.Window
}

// replayWindows returns the schedule windows of every service within
// [start, end). A long replay of dense schedules has hundreds of thousands
// of them: it stops with ctx's error when ctx is done.
func replayWindows(ctx context.Context, services []config.Resolved, start, end time.Time) ([]ReplayWindow, error) {
	var out []ReplayWindow
	for _, s := range services {
		var ws []schedule.Window
		for _, p := range s.Schedules {
			// Window by window (Windows' own walk), to look at ctx.
			w, ok := schedule.Window{}, false
			if first := p.Windows(start, end, 1); len(first) > 0 {
				w, ok = first[0], true
			}
			for n := 0; ok && w.Start.Before(end); n++ {
				if n%1024 == 0 && ctx.Err() != nil {
					return nil, ctx.Err()
				}
				ws = append(ws, w)
				w, ok = p.Next(w.Start)
			}
		}
		slices.SortStableFunc(ws, func(a, b schedule.Window) int { return a.Start.Compare(b.Start) })
		for _, w := range ws {
			out = append(out, ReplayWindow{Service: s.Name, Window: w})
		}
	}
	return out, nil
}

// span returns the first and last step times over all loads.
func span(loads map[string]*metrics.Grid) (start, end time.Time) {
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

// replayAll replays every mode over every service and returns one Run per
// mode, in the order of modes. The services of a replay do not meet (each
// has its own plant, load and controller state, and its own random
// streams: model and plant seeds hash the service's name), so each
// (mode, service) pair is replayed on its own, from start to end, on up to
// o.Workers goroutines (default GOMAXPROCS): no step waits for the other
// services' steps, and one service's history stays in the cache while it
// runs. The result does not depend on the order in which they run.
func replayAll(ctx context.Context, o ReplayOptions, loads map[string]*metrics.Grid, modes []policy.Mode,
	start, end time.Time, interval time.Duration) ([]*Run, error) {
	cfg := o.Config
	steps := int(end.Sub(start) / interval)
	names := cfg.ServiceNames()
	runs := make([]*Run, len(modes))
	for i, m := range modes {
		// The 'none' run decides nothing: its records would all say
		// Disabled, and nothing reads them. Its store stays empty.
		capacity := steps
		if m == policy.None {
			capacity = 0
		}
		runs[i] = &Run{Policy: m, Decisions: newDecisions(names, start, interval, m, capacity, o.Detail),
			Steps: make(map[string][]sim.Record, len(names)), Cost: make(map[string]sim.Cost, len(names))}
	}
	type task struct{ mode, svc int }
	tasks := make(chan task)
	type result struct {
		steps []sim.Record
		cost  sim.Cost
		err   error
	}
	results := make([]result, len(modes)*len(names)) // a task's at mode*len(names)+svc
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for t := range tasks {
				r := &results[t.mode*len(names)+t.svc]
				r.steps, r.cost, r.err = replayService(ctx, o, loads, modes[t.mode], cfg.Services[t.svc],
					&runs[t.mode].Decisions.svc[t.svc], start, end, interval, steps)
				if r.err != nil {
					cancel()
				}
			}
		})
	}
	// Predictive runs first: they take longest, and the short ones fill
	// in beside them.
	order := make([]int, len(modes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weight(modes[b]), weight(modes[a])) })
feed:
	for _, m := range order {
		for i := range names {
			select {
			case tasks <- task{m, i}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(tasks)
	wg.Wait()
	var errs []error
	for k, r := range results {
		if r.err != nil {
			if !errors.Is(r.err, context.Canceled) || ctx.Err() == nil {
				errs = append(errs, r.err) // not the others' stop after the first error
			}
			continue
		}
		m, name := k/len(names), names[k%len(names)]
		runs[m].Steps[name] = r.steps
		runs[m].Cost[name] = r.cost
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runs, nil
}

// loadAhead returns the load (requests) the service's plant will see at
// each step from start to end, for the clairvoyant run: a twin of the
// service stepped with nothing engaged. The plant's arrivals do not depend
// on what is engaged (its noise is drawn whatever the state), so they are
// the arrivals of every run.
func loadAhead(ctx context.Context, one *config.Config, loads map[string]*metrics.Grid, svc config.Service,
	start, end time.Time, interval time.Duration, steps int) ([]float64, error) {
	if svc.Forecast.Signal != config.SignalRequests {
		return nil, fmt.Errorf("replay: clairvoyant: service %s forecasts its %s, which the policies change: clairvoyant needs forecast.signal requests",
			svc.Name, svc.Forecast.Signal)
	}
	twin, _, err := sim.Build(one, loads, nil)
	if err != nil {
		return nil, err
	}
	twin.SetOptions(sim.SourceOptions{Steps: steps, ReuseSnapshot: true})
	v := make([]float64, 0, steps)
	for t := start; t.Before(end); t = t.Add(interval) {
		snap, err := twin.Read(ctx, t)
		if err != nil {
			return nil, err
		}
		x := math.NaN()
		if smp, ok := snap.Get(svc.Name, metrics.Requests); ok {
			x = smp.Value
		}
		v = append(v, x)
	}
	return v, nil
}

// weight ranks the modes by how long a replay of theirs takes.
func weight(m policy.Mode) int {
	switch m {
	case policy.Predictive, policy.Plan:
		return 2
	case policy.Reactive, policy.Clairvoyant, policy.Oracle:
		return 1
	}
	return 0
}

// replayService replays one service under one mode from start to end
// with its own simulated service, source and controller, filing the
// decisions into decs, and returns the plant's records and cost.
func replayService(ctx context.Context, o ReplayOptions, loads map[string]*metrics.Grid, mode policy.Mode, svc config.Service,
	decs *ServiceDecisions, start, end time.Time, interval time.Duration, steps int) ([]sim.Record, sim.Cost, error) {
	if mode == policy.Oracle {
		return replayOracle(ctx, o, loads, svc, decs, start, end, interval, steps)
	}
	one := *o.Config
	one.Services = []config.Service{svc}
	src, acts, err := sim.Build(&one, loads, nil)
	if err != nil {
		return nil, sim.Cost{}, err
	}
	src.SetOptions(sim.SourceOptions{Steps: steps, ReuseSnapshot: true})
	var onDecision func(controller.Record)
	if mode != policy.None {
		onDecision = decs.add
	}
	log := o.Logger
	if log != nil {
		log = log.With("policy", mode.String())
	}
	var known map[string]model.Forecaster
	if mode == policy.Clairvoyant || o.PerfectForecast && mode.Forecasts() {
		v, err := loadAhead(ctx, &one, loads, svc, start, end, interval, steps)
		if err != nil {
			return nil, sim.Cost{}, err
		}
		known = map[string]model.Forecaster{svc.Name: &model.Known{Values: v}}
	}
	var priors map[string]controller.Prior
	if mode == policy.Plan {
		// The planner's prior for the action sets it has not seen yet:
		// the plant's own equations.
		priors = map[string]controller.Prior{svc.Name: sim.Prior(svc)}
	}
	ctl, err := controller.New(controller.Options{
		Config: &one, Source: src, Actuators: acts, Mode: mode, Logger: log,
		Workers: 1, FullPaths: o.FullPaths,
		OnDecision: onDecision, Terse: true, Forecasters: known, Priors: priors,
	})
	if err != nil {
		return nil, sim.Cost{}, err
	}
	for t := start; t.Before(end); t = t.Add(interval) {
		if err := ctx.Err(); err != nil {
			return nil, sim.Cost{}, err
		}
		// A source error is recorded by the controller as NoData; the
		// simulator only fails on a programming error.
		if err := ctl.Step(ctx, t); err != nil {
			return nil, sim.Cost{}, fmt.Errorf("replay %s %s at %s: %w", mode, svc.Name, t.Format(time.RFC3339), err)
		}
	}
	return src.TakeHistory(svc.Name), src.Plant(svc.Name).Cost(), nil
}
