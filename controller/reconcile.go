package controller

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// Reconcile merges what the targets record of earlier changes into the
// saved state (from the state file, or a controller's own; nil for none).
// It reads the targets and writes nothing.
//
// A target that records its changes (actuators.Tracker) is the truth for
// its step: a change found in force there is engaged, with the value it
// replaced and the value set as the target recorded them, even when the
// state missed it (presage stopped between the change and saving its
// state, or another replica led); a change the state holds but the target
// no longer has (reverted, overridden, or never made) is dropped. The
// policy then keeps or reverts the engaged actions as usual: it reverts
// them once the risk has stayed below clear for the revert window,
// restoring the recorded original. Engagements stay a stack in playbook
// order: a step below an engaged one that has nothing in force is engaged
// with no change. A step the state holds as prewarmed (outside the stack)
// stays prewarmed while its change is in force, with the target's values,
// and is dropped when it is not; where the stack reaches over it, the
// stack takes it over, From included, as the policy does. When a target
// cannot be read, or records nothing (not a Tracker), the state of that
// step is kept. An actuator that wraps another (Unwrap, as a leader.Gate
// does) is read through the one it wraps (Tracker).
func Reconcile(ctx context.Context, cfg *config.Config, acts map[string][]actuators.Actuator, saved map[string]policy.State, now time.Time, log *slog.Logger) map[string]policy.State {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	out := make(map[string]policy.State, len(cfg.Services))
	for _, s := range cfg.Services {
		st := saved[s.Name]
		have := make(map[int]policy.Engagement, len(st.Engaged))
		for _, e := range st.Engaged {
			have[e.Step] = e
		}
		warm := make(map[int]policy.Engagement, len(st.Prewarmed))
		for _, e := range st.Prewarmed {
			warm[e.Step] = e
		}
		changed := map[string]time.Time{}
		for k, v := range st.Changed {
			changed[k] = v
		}
		top := -1
		for i, a := range s.Playbook {
			if i >= len(acts[s.Name]) {
				break
			}
			e, saved := have[i]
			tr, ok := Tracker(acts[s.Name][i])
			if !ok {
				if saved {
					top = i
				}
				continue
			}
			t, found, err := tr.Tracked(ctx)
			_, prewarmed := warm[i]
			switch {
			case err != nil:
				log.Warn("reconcile: cannot read the target; keeping the saved state", "service", s.Name, "action", a.Name, "err", err)
				if saved {
					top = i
				}
			case found:
				at := t.At
				if at.IsZero() {
					at = now
				}
				in := policy.Engagement{Step: i, From: t.From, To: t.To, At: at}
				if prewarmed && !saved {
					warm[i] = in
					break
				}
				if !saved || e.NoChange || e.From != t.From || e.To != t.To {
					log.Info("reconcile: found a change in force on the target", "service", s.Name, "action", a.Name, "from", t.From, "to", t.To, "at", at)
				}
				have[i] = in
				if _, ok := changed[a.Name]; !ok {
					changed[a.Name] = at
				}
				top = i
			case saved && !e.NoChange:
				log.Info("reconcile: the saved change is no longer in force on the target; dropping it", "service", s.Name, "action", a.Name, "from", e.From, "to", e.To)
				delete(have, i)
			case saved:
				top = i
			}
			if err == nil && !found && prewarmed {
				log.Info("reconcile: the saved prewarm is no longer in force on the target; dropping it", "service", s.Name, "action", a.Name)
				delete(warm, i)
			}
		}
		next := policy.State{ClearSince: st.ClearSince}
		if len(changed) > 0 {
			next.Changed = changed
		}
		for i := 0; i <= top; i++ {
			e, ok := have[i]
			if w, pw := warm[i]; pw && !ok {
				e, ok = w, true // the stack takes the prewarm over
			}
			if !ok {
				b := s.Playbook[i].BaselineValue()
				e = policy.Engagement{Step: i, From: b, To: b, At: now, NoChange: true}
			}
			delete(warm, i)
			next.Engaged = append(next.Engaged, e)
		}
		for _, e := range st.Prewarmed {
			if w, ok := warm[e.Step]; ok {
				next.Prewarmed = append(next.Prewarmed, w)
			}
		}
		if len(next.Prewarmed) > 0 {
			next.PrewarmClearSince = st.PrewarmClearSince
		}
		out[s.Name] = next
	}
	return out
}

// Tracker returns the actuators.Tracker that a records its changes with:
// a itself, or the actuator it wraps (an Unwrap() actuators.Actuator
// method, as a leader.Gate has), unwrapped as far as it goes.
func Tracker(a actuators.Actuator) (actuators.Tracker, bool) {
	for a != nil {
		if t, ok := a.(actuators.Tracker); ok {
			return t, true
		}
		u, ok := a.(interface{ Unwrap() actuators.Actuator })
		if !ok {
			break
		}
		a = u.Unwrap()
	}
	return nil, false
}

// RequestReconcile asks the controller to reconcile every service's policy
// state with what its targets record (Reconcile, from the state the
// controller holds) at the start of the next Step, in Step's goroutine,
// before anything is decided: only Step touches the state. A replica that
// gains the leader-election Lease calls it (leader.Elector.OnTakeOver), so
// that it goes on from what the previous leader did rather than from what
// it would have done itself. A Step already under way finishes first;
// whatever it applied is recorded on its target and adopted with the rest.
// Requests made before that Step count as one. A state the reconcile
// changed is passed to OnStateChange like any other.
func (c *Controller) RequestReconcile() { c.reconcile.Store(true) }

// reconcileState is RequestReconcile's work, at the start of a Step at now,
// on every service it was asked for that has no actuator calls under way
// (a service with some is reconciled at the first step after they have
// returned); it reports whether any service's engagements changed. A
// failed action awaiting its retry is forgotten: the policy decides again
// from the reconciled state.
func (c *Controller) reconcileState(ctx context.Context, now time.Time) bool {
	var todo []*service
	for _, s := range c.services {
		if s.reconcile && (s.flight == nil || s.flight.landed()) {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return false
	}
	changed := false
	for _, s := range todo {
		if f := s.flight; f != nil {
			var landed Record
			changed = c.land(s, f, &landed) || changed // what it applied is on the target: adopted below
		}
	}
	cfg := *c.cfg
	cfg.Services = make([]config.Service, 0, len(todo))
	acts := make(map[string][]actuators.Actuator, len(todo))
	saved := make(map[string]policy.State, len(todo))
	for _, s := range todo {
		cfg.Services = append(cfg.Services, s.cfg)
		acts[s.cfg.Name] = s.acts
		saved[s.cfg.Name] = s.st
	}
	next := Reconcile(ctx, &cfg, acts, saved, now, c.log)
	for _, s := range todo {
		st := next[s.cfg.Name]
		if !engagedEqual(s.st, st) {
			changed = true
			c.log.Info("reconciled the policy state with the targets", "service", s.cfg.Name, "level_before", s.st.Level(), "level", st.Level())
		}
		s.st, s.pending, s.reconcile = st, nil, false
	}
	return changed
}
