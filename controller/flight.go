package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/policy"
)

// Defaults of Options.ActionWorkers and Options.ReassertEvery.
const (
	// DefaultActionWorkers bounds how many services' actuator calls run
	// at once.
	DefaultActionWorkers = 8
	// DefaultReassertEvery is how many of Run's steps pass between two
	// checks that the targets still hold the engaged changes (reassert).
	DefaultReassertEvery = 5
)

// A flight is one service's actuator calls of one step: the changes of a
// decision (plan, then apply, each in order), or the re-application of
// engaged changes a target no longer holds (reassert). Calls to instant
// actuators (actuators.Instant) are made in the step's goroutine;
// others on the controller's pool, so that a slow target delays only its
// own service. Until a flight has landed its service decides nothing
// (policy.ActionInFlight): the policy state never moves on from a
// decision whose outcome is unknown.
//
//	decided ──call──► in flight ──returns──► landed: the first step after
//	   │                 │                     records the outcome, applied to
//	   │                 │                     the state (failure: Undo, and
//	   │                 │                     the retry keeps the key); the
//	   │                 │                     next step decides again
//	   │                 └── each step meanwhile: ActionInFlight, no decision
//	   ├── returned within half the interval: landed in the same step
//	   └── instant actuators: called and landed in the step
//
// The goroutine that calls owns acts, errs, next and rec until done is
// closed; the step's goroutine owns the rest, and everything after.
type flight struct {
	prev    policy.State       // the state decided from
	next    policy.State       // the decision's next state; plan edits it
	changes []policy.Change    // the decision's changes; nil for a reassert
	acts    []actuators.Action // one per change (or engagement reasserted); plan edits them
	asked   []actuators.Action // acts as they were before the call (for the record of a step it outlasts)
	errs    []error
	rec     Record // its Reason and Message, as plan edits them

	// reassert's: the engagements to check, and each one's actuator
	reassert bool
	steps    []int
	atStart  bool // re-apply also what cannot be read (the first check)
	applied  []bool

	done     chan struct{} // closed when the calls have returned; nil for a flight called in the step
	launched bool          // launched at this step (Step waits for it a while)
	at       time.Time     // the step that launched it
}

// landed reports whether the flight's calls have returned.
func (f *flight) landed() bool {
	if f.done == nil {
		return true
	}
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// instant reports whether every actuator of the changes is instant.
func instant(s *service, changes []policy.Change) bool {
	for _, ch := range changes {
		if !actuators.IsInstant(s.acts[ch.Step]) {
			return false
		}
	}
	return true
}

// newFlight builds the flight of a decision's changes.
func (c *Controller) newFlight(s *service, d policy.Decision, rec Record, now time.Time) *flight {
	f := &flight{prev: s.st, next: d.Next, changes: d.Changes, at: now,
		acts: make([]actuators.Action, len(d.Changes)), errs: make([]error, len(d.Changes))}
	for i, ch := range d.Changes {
		f.acts[i] = c.action(s, ch, d.Reason, rec, now)
	}
	return f
}

// call makes the flight's calls, in order; rec receives what plan says of
// the decision.
func (c *Controller) call(ctx context.Context, s *service, f *flight, rec *Record) {
	if f.reassert {
		c.callReassert(ctx, s, f)
		return
	}
	for i, ch := range f.changes {
		act := s.acts[ch.Step]
		err := c.plan(ctx, act, &f.acts[i], ch, &f.next, rec)
		if err == nil {
			err = act.Apply(ctx, f.acts[i])
		}
		f.errs[i] = err
	}
}

// launch makes the flight's calls on the pool, from a goroutine of their
// own, and returns at once.
func (c *Controller) launch(ctx context.Context, s *service, f *flight) {
	f.asked = slices.Clone(f.acts)
	f.done, f.launched = make(chan struct{}), true
	s.flight = f
	c.flights.Go(func() {
		defer close(f.done)
		select {
		case c.pool <- struct{}{}:
			defer func() { <-c.pool }()
		case <-ctx.Done():
			for i := range f.errs {
				f.errs[i] = fmt.Errorf("waiting for an actuator worker: %w", ctx.Err())
			}
			return
		}
		c.call(ctx, s, f, &f.rec)
	})
}

// land applies a returned flight's outcome to its service's state, as the
// step that decided would have: a change that failed is undone
// (policy.Undo) and kept to be retried with its idempotency key; when every
// change failed, nothing of the decision is kept. Its calls go into rec's
// Actions. It reports whether the engagements changed.
func (c *Controller) land(s *service, f *flight, rec *Record) bool {
	name := s.cfg.Name
	if s.flight == f {
		s.flight = nil
	}
	if f.reassert {
		for i, a := range f.acts {
			if !f.applied[i] {
				continue
			}
			err, result := f.errs[i], "ok"
			if err != nil {
				result = "failed"
				c.log.Warn("re-applying an engaged change the target no longer holds failed; will retry at the next check",
					"service", name, "action", a.Action, "to", a.To, "err", err)
			} else {
				c.log.Info("re-applied an engaged change the target no longer held", "service", name, "action", a.Action, "to", a.To)
			}
			rec.Actions = append(rec.Actions, Applied{Action: a, Err: err})
			c.tel.actions.WithLabelValues(name, a.Action, string(a.Op), result).Inc()
		}
		return false
	}
	next, failed := f.next, 0
	for i, ch := range f.changes {
		a, err := f.acts[i], f.errs[i]
		result := "ok"
		s.pending = slices.DeleteFunc(s.pending, func(p actuators.Action) bool { return p.Action == a.Action })
		if err != nil {
			result, failed = "failed", failed+1
			next = policy.Undo(s.st, next, ch)
			s.pending = append(s.pending, a)
			c.log.Warn("action failed; will retry next step", "service", name, "action", a.Action, "op", a.Op, "to", a.To, "err", err)
		} else if s.last != nil {
			s.last[ch.Step] = a
		}
		rec.Actions = append(rec.Actions, Applied{Action: a, Err: err})
		c.tel.actions.WithLabelValues(name, a.Action, string(a.Op), result).Inc()
	}
	if failed > 0 && failed == len(f.changes) {
		next = s.st // nothing applied: the decision's timers are not kept either
	}
	changed := !engagedEqual(s.st, next)
	s.st = next
	return changed
}

// outlasted records in rec the calls of a flight that has not returned by
// the end of the step that launched it.
func outlasted(f *flight, rec *Record) {
	if f.reassert {
		return // what it applies is known once it has read the targets
	}
	for _, a := range f.asked {
		rec.Actions = append(rec.Actions, Applied{Action: a, InFlight: true})
	}
}

// await waits until every flight launched at this step has returned or
// the deadline passes, whichever is first, and lands those that returned
// into their records. The step exports and logs them as usual after.
func (c *Controller) await(deadline time.Time, recs []Record, changes []bool) {
	var t *time.Timer
	expired := false
	for i, s := range c.services {
		f := s.flight
		if f == nil || !f.launched {
			continue
		}
		f.launched = false
		if !f.landed() && !expired {
			if t == nil {
				t = time.NewTimer(time.Until(deadline))
				defer t.Stop()
			}
			select {
			case <-f.done:
			case <-t.C:
				expired = true // past the deadline: look at the others without waiting
			}
		}
		rec := &recs[i]
		if !f.landed() {
			outlasted(f, rec)
			c.log.Info("an actuator call outlasted its step; the service decides again once it returns",
				"service", s.cfg.Name, "decided_at", f.at)
			continue
		}
		if !f.reassert {
			rec.Reason, rec.Message = f.rec.Reason, f.rec.Message
		}
		changes[i] = c.land(s, f, rec) || changes[i]
		rec.Level = s.st.Level() + len(s.st.Prewarmed)
		c.export(s, *rec)
	}
}

// inFlight fills the record of a step at which the service's flight has
// not returned: nothing is decided.
func inFlight(s *service, rec *Record) {
	f := s.flight
	rec.Reason = policy.ActionInFlight
	what := "re-applying engaged changes"
	if !f.reassert && len(f.asked) > 0 {
		what = fmt.Sprintf("%s %s to %g", f.asked[0].Op, f.asked[0].Action, f.asked[0].To)
	}
	rec.Message = fmt.Sprintf("waiting for the actuator call decided at %s (%s) to return", f.at.UTC().Format(time.RFC3339), what)
	rec.Level = s.st.Level() + len(s.st.Prewarmed)
}

// reassert checks, on the service's targets, the changes its state holds
// engaged, and applies again, with the same idempotency key, each that a
// target no longer holds: one whose actuator reads its knob
// (actuators.Reader) when the value read is not the one set; one that
// cannot read only at the first check (atStart), unconditionally. An
// actuator that records its changes on the target (Tracker: the kube
// actuators) is left to Reconcile, which never fights an override. It
// returns the flight, nil when nothing is to be checked.
func (c *Controller) reassert(s *service, now time.Time, atStart bool) *flight {
	f := &flight{reassert: true, atStart: atStart, at: now, prev: s.st, next: s.st}
	for _, e := range slices.Concat(s.st.Engaged, s.st.Prewarmed) {
		if e.NoChange || e.Step < 0 || e.Step >= len(s.acts) {
			continue
		}
		act := s.acts[e.Step]
		if _, ok := Tracker(act); ok {
			continue
		}
		if _, ok := reader(act); !ok && !atStart {
			continue
		}
		st := s.settings.Playbook[e.Step]
		a := actuators.Action{Service: s.cfg.Name, Action: st.Name, Op: actuators.Engage, From: e.From, To: e.To,
			Reason: actuators.Reapplied, At: e.At}
		if l := s.last[e.Step]; l.Op == actuators.Engage && l.To == e.To && !l.At.IsZero() {
			a.At = l.At // the time, hence the key, of the call that set it
		}
		f.steps = append(f.steps, e.Step)
		f.acts = append(f.acts, a)
	}
	if len(f.acts) == 0 {
		return nil
	}
	f.errs, f.applied = make([]error, len(f.acts)), make([]bool, len(f.acts))
	return f
}

// callReassert reads each engagement's target and applies again what it
// no longer holds.
func (c *Controller) callReassert(ctx context.Context, s *service, f *flight) {
	for i, step := range f.steps {
		act, a := s.acts[step], f.acts[i]
		if r, ok := reader(act); ok {
			v, err := r.Current(ctx)
			switch {
			case errors.Is(err, actuators.ErrNoValue):
				c.log.Info("an engaged change is no longer held by the target (it holds no value): re-applying it", "service", a.Service, "action", a.Action, "to", a.To)
			case err != nil:
				c.log.Warn("checking an engaged change: cannot read the target; keeping it", "service", a.Service, "action", a.Action, "err", err)
				continue
			case v == a.To:
				continue
			default:
				c.log.Info("an engaged change is no longer held by the target: re-applying it", "service", a.Service, "action", a.Action, "to", a.To, "read", v)
			}
		}
		f.applied[i] = true
		f.errs[i] = act.Apply(ctx, a)
	}
}

// checkOnly reports whether an actuator's knob (that of the innermost
// actuator it wraps) is read only to check engaged changes, off the step
// (a webhook's read URL), never at every step.
func checkOnly(a actuators.Actuator) bool {
	r, ok := reader(a)
	if !ok {
		return false
	}
	co, ok := r.(interface{ CheckOnly() bool })
	return ok && co.CheckOnly()
}

// reader returns the Reader of an actuator's knob: that of the innermost
// actuator it wraps (an Unwrap() actuators.Actuator method, as a
// leader.Gate has, which is a Reader whether or not its actuator reads).
func reader(a actuators.Actuator) (actuators.Reader, bool) {
	for {
		u, ok := a.(interface{ Unwrap() actuators.Actuator })
		if !ok {
			break
		}
		a = u.Unwrap()
	}
	r, ok := a.(actuators.Reader)
	return r, ok
}

// reassertAll runs Run's check of the targets (reassert) on every service
// that has no calls under way, after its decision of the step; those
// whose actuators are instant are checked in the step, the others on the
// pool (await records them).
func (c *Controller) reassertAll(ctx context.Context, now time.Time, recs []Record) {
	atStart := !c.reasserted
	c.reassertDue, c.reasserted = false, true
	for i, s := range c.services {
		if s.flight != nil || s.own.away {
			continue // checked at the next check; another replica's
		}
		f := c.reassert(s, now, atStart)
		if f == nil {
			continue
		}
		all := true
		for _, st := range f.steps {
			all = all && actuators.IsInstant(s.acts[st])
		}
		if !all {
			c.launch(ctx, s, f)
			continue
		}
		c.call(ctx, s, f, &recs[i])
		c.land(s, f, &recs[i])
	}
}
