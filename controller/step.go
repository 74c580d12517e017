package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// Step runs one control step at now: read every signal, update history and
// models, compute the risk, decide, act and export.
//
// Calls to actuators that are not instant run off the step, on a bounded
// pool (see flight): Step waits for them until half the interval (on the
// wall clock, at Options.Speed) has passed since it started, records those
// that returned as usual, and leaves the others to land at a later step;
// meanwhile their service decides nothing (policy.ActionInFlight).
func (c *Controller) Step(ctx context.Context, now time.Time) error {
	var start time.Time
	if c.timed || c.async {
		start = time.Now()
	}
	if c.timed {
		defer func() { c.tel.stepDuration.Observe(time.Since(start).Seconds()) }()
	}

	// The read gets at most one interval: a step never runs into the next.
	// A source that reads from memory needs no timeout (arming its timer
	// at every step was a sixth of a replay's time).
	readCtx, cancel := ctx, context.CancelFunc(func() {})
	if !c.local {
		readCtx, cancel = context.WithTimeout(ctx, c.interval)
	}
	snap, err := c.src.Read(readCtx, now)
	cancel()
	c.mu.Lock()
	c.lastStep = now
	if err != nil {
		kind := "read"
		var k interface{ ErrorKind() string }
		switch {
		case errors.As(err, &k):
			kind = k.ErrorKind()
		case errors.Is(err, context.DeadlineExceeded):
			kind = "timeout"
		}
		c.sourceKind = kind
		c.tel.sourceErrors.WithLabelValues(kind).Inc()
		c.log.Warn("source read failed", "err", err)
		snap = metrics.Snapshot{}
	} else {
		c.sourceKind = ""
		c.lastOK = now
		c.everRead = true
	}
	retry := !c.saveFailed.IsZero() // a failed save is tried again every step
	c.mu.Unlock()

	lost := c.own(now)
	if c.reconcile.Swap(false) {
		for _, s := range c.services {
			s.reconcile = !s.own.away
		}
	}
	reconciled := c.reconcileState(ctx, now)
	c.warm(ctx, snap, now)
	c.fitting.Store(0)
	if len(c.recs) != len(c.services) {
		c.recs, c.changes = make([]Record, len(c.services)), make([]bool, len(c.services))
	}
	recs, changes := c.recs, c.changes
	if c.workers <= 1 || len(c.services) == 1 {
		for i, s := range c.services { // no closure to allocate
			recs[i], changes[i] = c.stepService(ctx, s, snap, now)
		}
	} else {
		c.each(func(i int) { recs[i], changes[i] = c.stepService(ctx, c.services[i], snap, now) })
	}
	if c.reassertDue {
		c.reassertAll(ctx, now, recs)
	}
	if c.async {
		c.await(start.Add(time.Duration(float64(c.interval)/c.speed/2)), recs, changes)
	}
	changed := reconciled || lost
	for i, s := range c.services {
		if s.own.away {
			continue // another replica's
		}
		changed = changed || changes[i]
		c.logDecision(ctx, s, recs[i])
		s.reason = recs[i].Reason
		if c.onDec != nil {
			c.onDec(recs[i])
		}
		c.observe(s, recs[i])
	}
	if (changed || retry) && c.onState != nil {
		err := c.onState(c.savedState())
		c.mu.Lock()
		switch {
		case err == nil:
			c.saveFailed = time.Time{}
		case c.saveFailed.IsZero():
			c.saveFailed = now
		}
		c.mu.Unlock()
		if err != nil {
			c.tel.saveFailures.Inc()
			c.log.Error("saving state failed", "err", err)
			return fmt.Errorf("save state: %w", err)
		}
	}
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	return nil
}

// each calls fn(i) for every service index i, on up to c.workers
// goroutines, each taking a contiguous share of the services, and returns
// when all calls have.
func (c *Controller) each(fn func(i int)) {
	n := len(c.services)
	w := min(c.workers, n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// value returns a usable sample's value, or NaN, counting the missing.
func (c *Controller) value(s *service, snap metrics.Snapshot, sig metrics.Signal, now time.Time) float64 {
	v, ok := snap.Get(s.cfg.Name, sig)
	if !ok || !v.Usable(now, c.stale) {
		s.tel.incMissing(sig)
		return math.NaN()
	}
	s.tel.setValue(sig, v.Value)
	return v.Value
}

// stepService runs one service's step and returns its decision record and
// whether its policy state changed. It touches nothing but the service's
// own state: services step concurrently.
func (c *Controller) stepService(ctx context.Context, s *service, snap metrics.Snapshot, now time.Time) (rec Record, changed bool) {
	if s.own.away {
		return Record{}, false // another replica's (Options.Owner)
	}
	name := s.cfg.Name
	lat := c.value(s, snap, metrics.Latency, now)
	load := lat
	if s.signal != metrics.Latency {
		load = c.value(s, snap, s.signal, now)
	}
	for _, sig := range []metrics.Signal{metrics.PoolInUse, metrics.PoolLimit} {
		if sig != s.signal && !configured(s.cfg.Signals, sig) {
			continue
		}
		if sig != s.signal {
			c.value(s, snap, sig, now)
		}
	}
	dataOK := !math.IsNaN(lat) && !math.IsNaN(load)

	// The calls of an earlier step that have returned since: their
	// outcome moves the state before anything is learned, and this step
	// records it in place of a decision (the next step decides).
	var landed *flight
	var outcome Record
	if f := s.flight; f != nil && !f.launched && f.landed() {
		landed = f
		changed = c.land(s, f, &outcome)
	}

	s.hold.Observe(lat)
	c.record(s, lat, load, now)
	if c.mode.Forecasts() {
		// Only the predictive policy uses the forecast.
		c.forecastModel(s, load, now)
	}

	rec = Record{Time: now, Service: name, Mode: s.settings.Mode, Latency: lat, Load: load,
		Firing: s.hold.State() == model.Firing, TimeToBreach: -1,
		Forecast: [3]float64{math.NaN(), math.NaN(), math.NaN()}, Actions: outcome.Actions}
	in := policy.Input{DataOK: dataOK, Firing: rec.Firing, TimeToBreach: -1}
	level := s.st.Level()
	rec.BreachLevel = c.breachLevel(s, level)
	if dataOK {
		c.assess(s, &in, &rec, lat, load, level)
	}
	c.windows(s, &in, &rec, now)
	in.Terse = c.terse && rec.Windows == nil && rec.NextWindows == nil

	if landed != nil && !landed.reassert {
		// The outcome of the decision of the step that launched the
		// calls, with what the target made of it (plan).
		rec.Reason, rec.Message = landed.rec.Reason, landed.rec.Message
		rec.Level = s.st.Level() + len(s.st.Prewarmed)
		c.export(s, rec)
		return rec, changed
	}
	if s.flight != nil {
		// An earlier decision's calls have not returned: its outcome is
		// not known, and the state it would move from is not yet the
		// state to decide from.
		inFlight(s, &rec)
		c.export(s, rec)
		return rec, changed
	}
	in.Current = c.current(ctx, s)

	if in.Plan != nil {
		// The planner's buffers hold nothing from one step to the next:
		// the services share them (planScratch), where one set each was
		// a sixth of a service's memory.
		sc := planScratch.Get().(*policy.PlanScratch)
		in.Plan.Scratch = sc
		defer func() { in.Plan.Scratch = nil; planScratch.Put(sc) }()
	}
	d := policy.Decide(s.settings, in, s.st, now)
	c.weigh(s, in, now)
	rec.Reason, rec.Message = d.Reason, d.Message
	if s.settings.Mode == policy.Plan && in.Plan != nil {
		rec.Risk, rec.TimeToBreach = d.Risk, d.TimeToBreach
	}
	if len(d.Changes) == 0 {
		changed = !engagedEqual(s.st, d.Next) || changed
		s.st = d.Next
	} else {
		f := c.newFlight(s, d, rec, now)
		if !instant(s, d.Changes) {
			// Called off the step: Step waits for it a while and records
			// it (await).
			f.rec.Reason, f.rec.Message = rec.Reason, rec.Message
			c.launch(ctx, s, f)
			rec.Level = s.st.Level() + len(s.st.Prewarmed)
			return rec, changed
		}
		c.call(ctx, s, f, &rec)
		changed = c.land(s, f, &rec) || changed
	}
	rec.Level = s.st.Level() + len(s.st.Prewarmed)
	c.export(s, rec)
	return rec, changed
}

// planScratch holds the planner's buffers (policy.PlanScratch), shared by
// the services, which step concurrently.
var planScratch = sync.Pool{New: func() any { return new(policy.PlanScratch) }}

// current reads each playbook knob's current value where the actuator can,
// into the service's buffer (policy.Decide does not keep it).
// A knob read only to check engaged changes (a webhook's read URL:
// CheckOnly) is not read here.
func (c *Controller) current(ctx context.Context, s *service) []float64 {
	out := s.cur
	for i, a := range s.acts {
		out[i] = math.NaN()
		if r, ok := a.(actuators.Reader); ok && !checkOnly(a) {
			if v, err := r.Current(ctx); err == nil {
				out[i] = v
			}
		}
	}
	return out
}

// action builds the actuator's Action for one change of a decision. A
// change identical to one that failed earlier keeps that attempt's time,
// so the retry carries the same idempotency key and is never applied
// twice.
func (c *Controller) action(s *service, ch policy.Change, reason policy.Reason, rec Record, now time.Time) actuators.Action {
	op := actuators.Engage
	if ch.Revert {
		op = actuators.Revert
	}
	a := actuators.Action{Service: s.cfg.Name, Action: ch.Name, Op: op, From: ch.From,
		To: ch.To, Reason: string(reason), Risk: rec.Risk, At: now}
	for _, p := range s.pending {
		if p.Action == a.Action && p.Op == a.Op && p.To == a.To {
			a.At = p.At
		}
	}
	return a
}

func (c *Controller) export(s *service, rec Record) {
	t := s.tel
	if t == nil {
		return
	}
	t.incDecision(string(rec.Reason))
	t.setRisk(rec.Risk)
	ttb := math.Inf(1)
	if rec.TimeToBreach >= 0 {
		ttb = rec.TimeToBreach.Seconds()
	}
	t.setTimeToBreach(ttb)
	t.setBreachLevel(c.breachLevel(s, s.st.Level()))
	for i, v := range rec.Forecast {
		if !math.IsNaN(v) {
			t.setForecast(i, v)
		}
	}
	t.setLevel(float64(s.st.Level() + len(s.st.Prewarmed)))
	for i, st := range s.settings.Playbook {
		engaged := false
		for _, e := range s.st.Engaged {
			engaged = engaged || e.Step == i
		}
		for _, e := range s.st.Prewarmed {
			engaged = engaged || e.Step == i
		}
		t.setEngaged(i, st.Name, b2f(engaged))
	}
}

func (c *Controller) logDecision(ctx context.Context, s *service, rec Record) {
	level := slog.LevelDebug
	if len(rec.Actions) > 0 || rec.Reason != s.reason {
		level = slog.LevelInfo
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []any{"at", rec.Time.UTC().Format(time.RFC3339), "service", rec.Service, "reason", rec.Reason, "risk", round(rec.Risk),
		"latency", round(rec.Latency), "level", rec.Level, "msg_detail", rec.Message}
	if rec.TimeToBreach >= 0 {
		attrs = append(attrs, "time_to_breach", rec.TimeToBreach)
	}
	for _, a := range rec.Actions {
		attrs = append(attrs, "action", a.Action.Action, "op", a.Op, "to", a.To)
	}
	c.log.Log(ctx, level, "decision", attrs...)
}

func configured(sig config.Signals, s metrics.Signal) bool {
	switch s {
	case metrics.Latency:
		return !sig.Latency.IsZero()
	case metrics.Requests:
		return !sig.Requests.IsZero()
	case metrics.PoolInUse:
		return !sig.PoolInUse.IsZero()
	case metrics.PoolLimit:
		return !sig.PoolLimit.IsZero()
	}
	return false
}

func engagedEqual(a, b policy.State) bool {
	if len(a.Engaged) != len(b.Engaged) || len(a.Prewarmed) != len(b.Prewarmed) {
		return false
	}
	for i := range a.Prewarmed {
		if a.Prewarmed[i] != b.Prewarmed[i] {
			return false
		}
	}
	for i := range a.Engaged {
		if a.Engaged[i] != b.Engaged[i] {
			return false
		}
	}
	return true
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }
