package controller

import (
	"math"
	"math/bits"

	"github.com/presage-dev/presage/policy"
)

// MaxPlanActions bounds a playbook under policy plan, which weighs every
// set of its actions at every step.
const MaxPlanActions = policy.MaxPlanSteps

// Prior gives the load at which a service breaches with each playbook
// action at the given value (its engaged value or its baseline), from a
// model of the service: a replay's simulated plant. It is the planner's
// prior for an action set not yet seen.
type Prior func(values []float64) float64

// response returns the planner's response model of the service: per action
// set, the load at which it breaches. A set's level is what it was seen to
// take (learned); else a prior: the plant's physics (Options.Priors),
// scaled by what the best learned subset was seen to take against what the
// physics says it takes, or the declared capacity_gain of the actions it
// adds to that subset; else (unseen) the best learned subset's. No set
// takes less than any of its subsets: adding an action never hurts. It is
// recomputed only when a level was learned anew.
func (c *Controller) response(s *service) policy.Response {
	if s.respAt == s.learned && s.resp.Level != nil {
		return s.resp
	}
	n := len(s.settings.Playbook)
	sets := 1 << n
	if s.resp.Level == nil {
		s.resp = policy.Response{Level: make([]float64, sets), Source: make([]policy.LevelSource, sets)}
	}
	var phys []float64
	if s.prior != nil {
		phys = make([]float64, sets)
		values := make([]float64, n)
		for m := range sets {
			for i, st := range s.settings.Playbook {
				values[i] = st.Baseline
				if m&(1<<i) != 0 {
					values[i] = st.Engaged
				}
			}
			phys[m] = s.prior(values)
		}
	}
	// The sets in order of size, so every subset comes before its
	// supersets.
	order := make([]int, 0, sets)
	for size := range n + 1 {
		for m := range sets {
			if bits.OnesCount(uint(m)) == size {
				order = append(order, m)
			}
		}
	}
	level, source := s.resp.Level, s.resp.Source
	for _, m := range order {
		if ls := s.levels[m]; ls.known {
			level[m], source[m] = ls.level, policy.Learned
		} else {
			// The best learned subset anchors the prior.
			anchor, at := -1, math.Inf(-1)
			for t := m; ; t = (t - 1) & m {
				if t != m && s.levels[t].known && s.levels[t].level > at {
					anchor, at = t, s.levels[t].level
				}
				if t == 0 {
					break
				}
			}
			level[m], source[m] = math.Inf(1), policy.Unseen
			switch {
			case phys != nil && anchor >= 0 && phys[anchor] > 0:
				level[m], source[m] = at*phys[m]/phys[anchor], policy.Physics
			case phys != nil && anchor < 0:
				level[m], source[m] = phys[m], policy.Physics
			case anchor >= 0:
				gain := 1.0
				for i, st := range s.settings.Playbook {
					if (m&^anchor)&(1<<i) != 0 {
						gain *= 1 + st.CapacityGain
					}
				}
				level[m] = at * gain
				if gain > 1 {
					source[m] = policy.Declared
				}
			}
		}
		for i := range n { // no less than a subset one action smaller
			if t := m &^ (1 << i); t != m && level[t] > level[m] {
				level[m] = level[t]
			}
		}
	}
	s.respAt = s.learned
	return s.resp
}
