package policy

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPlanStep is one planning step of one service at the defaults
// (200 sample paths, a 30-step horizon, 3 actions) in its worst case:
// every path near the breach levels, so that every plan is weighed over
// every path. The baseline is the rule policy's own use of the paths: one
// pass over them for the breach risk (the share of paths with the
// pattern), which it makes at every step that the screening does not skip.
//
//	go test ./policy -run '^$' -bench PlanStep
func BenchmarkPlanStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := make([][]float64, 200)
	for k := range paths {
		paths[k] = make([]float64, 30)
		for j := range paths[k] {
			paths[k][j] = 100 + 30*rng.NormFloat64()
		}
	}
	s := settings(Plan)
	for i := range s.Playbook {
		s.Playbook[i].CostPerMinute = 1
	}
	s.IncidentCost = 1000
	in := Input{DataOK: true, TimeToBreach: -1, Plan: &PlanInput{Paths: paths, Horizon: 30, K: 3, Load: 100,
		Response: response(95, 20, 40, 15), Scratch: &PlanScratch{}}}
	st := engaged(0)
	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			Decide(s, in, st, at(0))
		}
	})
	b.Run("risk-pass", func(b *testing.B) {
		pl := newPlanner(s, in, st, at(0))
		th := make([]float64, 30)
		for j := range th {
			th[j] = 95
		}
		vals := make([]float64, 30)
		for b.Loop() {
			n := 0
			for k := range paths {
				pl.values(k, vals)
				if pl.breaches(vals, th) {
					n++
				}
			}
		}
	})
}
