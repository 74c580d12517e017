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
// saved state (from the state file; nil for none), before a controller
// starts. It reads the targets and writes nothing.
//
// A target that records its changes (actuators.Tracker) is the truth for
// its step: a change found in force there is engaged, with the value it
// replaced and the value set as the target recorded them, even when the
// state file missed it (presage stopped between the change and saving
// its state); a change the state file holds but the target no longer has
// (reverted, overridden, or never made) is dropped. The policy then keeps
// or reverts the engaged actions as usual: it reverts them once the risk
// has stayed below clear for the revert window, restoring the recorded
// original. Engagements stay a stack in playbook order: a step below an
// engaged one that has nothing in force is engaged with no change. When a
// target cannot be read, the saved state of that step is kept.
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
		changed := map[string]time.Time{}
		for k, v := range st.Changed {
			changed[k] = v
		}
		top := -1
		for i, a := range s.Playbook {
			if i >= len(acts[s.Name]) {
				break
			}
			tr, ok := acts[s.Name][i].(actuators.Tracker)
			if !ok {
				if _, ok := have[i]; ok {
					top = i
				}
				continue
			}
			t, found, err := tr.Tracked(ctx)
			e, saved := have[i]
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
				if !saved || e.NoChange || e.From != t.From || e.To != t.To {
					log.Info("reconcile: found a change in force on the target", "service", s.Name, "action", a.Name, "from", t.From, "to", t.To, "at", at)
				}
				have[i] = policy.Engagement{Step: i, From: t.From, To: t.To, At: at}
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
		}
		next := policy.State{ClearSince: st.ClearSince}
		if len(changed) > 0 {
			next.Changed = changed
		}
		for i := 0; i <= top; i++ {
			e, ok := have[i]
			if !ok {
				b := s.Playbook[i].BaselineValue()
				e = policy.Engagement{Step: i, From: b, To: b, At: now, NoChange: true}
			}
			next.Engaged = append(next.Engaged, e)
		}
		out[s.Name] = next
	}
	return out
}
