package policy

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"
)

// Option is one set of actions the planner weighs, with its expected cost
// over the horizon and its incident risk (see the planner's comment in
// plan.go).
type Option struct {
	// Mask is the set (bit i: playbook step i), Names its actions' names.
	Mask  uint
	Names []string
	// Cost is the expected cost J(M); Risk the share of sample paths with
	// an incident under the set.
	Cost, Risk float64
	// Engaged reports the set engaged when the planner weighed it.
	Engaged bool
}

// Weigh returns every set of actions the planner may choose at now (those
// that keep the cooldowns, prewarm and freeze windows), cheapest first
// (the fewest changes from the engaged set among equals, then the smallest
// mask): the alternatives behind a decision of mode Plan, for a person to
// see. It is pure, like Decide, and leaves in.Plan's scratch alone; the
// planner itself computes only the costs it needs, so Weigh is called
// only when someone looks. It returns nil outside mode Plan and without a
// forecast.
func Weigh(s Settings, in Input, st State, now time.Time) []Option {
	if s.Mode != Plan || in.Plan == nil || !in.DataOK {
		return nil
	}
	p := *in.Plan
	p.Scratch = nil
	in.Plan = &p
	pl := newPlanner(s, in, st, now)
	if pl == nil {
		return nil
	}
	var out []Option
	for m := range uint(1) << pl.n {
		if !pl.feasible(m) {
			continue
		}
		o := Option{Mask: m, Cost: pl.cost(m), Risk: pl.riskOf(m), Engaged: m == pl.cur}
		for i := range pl.n {
			if m&(1<<i) != 0 {
				o.Names = append(o.Names, s.Playbook[i].Name)
			}
		}
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b Option) int {
		if math.Abs(a.Cost-b.Cost) > 1e-9 { // best's tolerance
			return cmp.Compare(a.Cost, b.Cost)
		}
		return cmp.Compare(bits.OnesCount(a.Mask^pl.cur), bits.OnesCount(b.Mask^pl.cur))
	})
	return out
}
