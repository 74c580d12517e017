package controller

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// Owner says which services this replica acts on. controller/shard's
// Membership is one: with several presage replicas sharing the services,
// each acts on those it owns. Owns must be cheap and safe for concurrent
// use; its answer may change at any time.
type Owner interface {
	Owns(service string) bool
}

// ownState is what the controller keeps of a service's ownership
// (Options.Owner); its zero value is an owned service, as without an
// Owner.
type ownState struct {
	away    bool // not owned: not stepped, its history dropped
	history int  // the history ring's capacity, restored on a gain
}

// initOwn marks every service not owned until the first step asks the
// Owner; history is each service's history capacity in steps.
func (c *Controller) initOwn(s *service, history int) {
	s.own.history = history
	if c.owner != nil {
		s.own.away = true
		s.hist = newHistory(1) // the history is allocated when the service is gained
	}
}

// own asks the Owner, at the start of a step at now, which services this
// replica owns, and moves the others in and out:
//
//	away ──Owns──► gained: history backfilled (warm, when the source is a
//	 ▲               RangeSource), policy state reconciled with what the
//	 │               targets record (Reconcile), then stepped as usual
//	 └──── !Owns ── owned: dropped at once: history, models and policy
//	                 state forgotten; not stepped, nothing decided
//
// A service lost while an actuator call of its own is under way is dropped
// at once (the call, already sent, lands on its target, whose record the
// next owner adopts; the Gate refuses any call not yet made); it is gained
// again only once that call has returned. Each step
// that gains or loses services logs one line for each kind, with the
// services and the step time. Without an Owner every service is owned.
//
// It reports whether a service lost had anything engaged or prewarmed, so
// that the state passed to OnStateChange no longer holds it.
func (c *Controller) own(now time.Time) bool {
	if c.owner == nil {
		return false
	}
	changed := false
	var gained, lost []string
	for _, s := range c.services {
		owns := c.owner.Owns(s.cfg.Name)
		switch {
		case !owns && !s.own.away:
			changed = changed || s.st.Level() > 0 || len(s.st.Prewarmed) > 0
			c.drop(s)
			lost = append(lost, s.cfg.Name)
		case owns && s.own.away:
			if f := s.flight; f != nil {
				if !f.landed() {
					continue // gained at the first step after it returns
				}
				s.flight = nil // the previous ownership's call: its record is on the target
			}
			c.gain(s)
			gained = append(gained, s.cfg.Name)
		}
	}
	if len(lost) > 0 {
		c.log.Info("shard: lost services: no longer stepped, history dropped", "at", now.UTC().Format(time.RFC3339Nano),
			"count", len(lost), "services", lost)
	}
	if len(gained) > 0 {
		c.log.Info("shard: gained services: backfilling history and reconciling with the targets' records",
			"at", now.UTC().Format(time.RFC3339Nano), "count", len(gained), "services", gained)
	}
	return changed
}

// Owned returns, sorted, the services this controller steps (every service
// without an Owner). Call it from Step's goroutine, or when no Step runs.
func (c *Controller) Owned() []string {
	var out []string
	for _, s := range c.services {
		if !s.own.away {
			out = append(out, s.cfg.Name)
		}
	}
	slices.Sort(out)
	return out
}

// gain makes s owned: at this step its history is backfilled (warm) and its
// policy state reconciled with its targets (reconcileState), before it
// decides anything.
func (c *Controller) gain(s *service) {
	s.own.away = false
	s.hist = newHistory(s.own.history)
	s.warmed, s.warmTried, s.seen = false, false, false
	s.reconcile = true
}

// drop makes s not owned and forgets what the controller holds of it, so
// that its memory is freed: the history (down to a ring of one), the
// models and sample paths, what was learned of its breach levels, the
// incident hold, and its policy state (the next owner adopts what the
// targets record). Its configuration, actuators and schedules stay.
func (c *Controller) drop(s *service) {
	s.own.away = true
	s.hist = newHistory(1)
	s.hold = model.Hold{Pattern: s.pattern}
	if !s.fixed {
		s.fc = nil
	}
	s.devFor, s.shifted, s.interim = nil, false, false
	s.paths, s.point, s.held = nil, nil, nil
	s.env = envelope{}
	for i := range s.levels {
		s.levels[i] = levelStats{level: math.Inf(1)}
	}
	s.learned, s.resp, s.respAt = 0, policy.Response{}, -1
	s.plan = policy.PlanInput{}
	s.next, s.backoff, s.passed, s.deferred = time.Time{}, 0, 0, false
	s.st, s.pending, s.reason, s.reconcile = policy.State{}, nil, "", false
	clear(s.last)
	s.prevForecast = math.NaN()
	s.errAbs, s.errPct = newRing(errorWindow), newRing(errorWindow)
	s.warmed, s.warmTried, s.seen = false, false, false
	s.tel.forget()
	s.view.reset()
	// A call under way (s.flight) lands on its target, whose record the
	// next owner adopts; own gains s again only after it has returned.
}

// forget deletes the service's gauges (its last signal values, forecast,
// risk, level, engaged actions, errors): another replica exports them now.
// Its counters stay, as counters do. They are set again when the service
// is gained.
func (st *serviceTelemetry) forget() {
	if st == nil {
		return
	}
	t, l := st.t, prometheus.Labels{"service": st.name}
	for _, v := range []*prometheus.GaugeVec{t.signal, t.forecast, t.risk, t.timeToBreach, t.breachLevel, t.engaged, t.level, t.mae, t.mape} {
		v.DeletePartialMatch(l)
	}
	st.value, st.forecast = [4]prometheus.Gauge{}, [3]prometheus.Gauge{}
	st.risk, st.ttb, st.breachLevel, st.level, st.mae, st.mape = nil, nil, nil, nil, nil, nil
	clear(st.engaged)
}
