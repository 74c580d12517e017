package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestWeigh checks that the cheapest set Weigh returns is the plan the
// planner chose (its message names the set and its cost), that every set
// it returns keeps the constraints, and that it leaves the decision
// alone.
func TestWeigh(t *testing.T) {
	resp := response(100, 20, 40, 15)
	in := func(paths [][]float64, run int, floor float64) Input {
		return Input{DataOK: true, TimeToBreach: -1, Plan: &PlanInput{Paths: paths, Horizon: 30, K: 3, Run: run,
			Load: 90, Floor: floor, Response: resp, Scratch: &PlanScratch{}}}
	}
	cooling := engaged(0)
	cooling.Changed["queue"] = at(-1)
	frozen := in(held(10, 130, 130, 0), 2, 130)
	frozen.Frozen = true
	tests := []struct {
		name string
		in   Input
		st   State
		sets int // feasible sets
	}{
		{name: "a breach at the replicas' warm-up", in: in(held(10, 90, 150, 2), 0, 0), sets: 8},
		{name: "an overload under way", in: in(held(10, 110, 110, 0), 2, 110), sets: 8},
		{name: "queue in cooldown stays engaged", in: in(held(10, 130, 130, 0), 0, 0), st: cooling, sets: 4},
		{name: "freeze: nothing starts", in: frozen, sets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(Plan)
			for i := range s.Playbook {
				s.Playbook[i].CostPerMinute = 1
			}
			s.IncidentCost = 1000
			before := Decide(s, tt.in, tt.st, at(0))
			opts := Weigh(s, tt.in, tt.st, at(0))
			after := Decide(s, tt.in, tt.st, at(0))
			if before.Message != after.Message || before.Reason != after.Reason {
				t.Errorf("Weigh changed the decision: %s %q, then %s %q", before.Reason, before.Message, after.Reason, after.Message)
			}
			if len(opts) != tt.sets {
				t.Fatalf("%d sets, want %d: %+v", len(opts), tt.sets, opts)
			}
			cur := tt.st.Mask()
			engaged := 0
			for i, o := range opts {
				if i > 0 && o.Cost < opts[i-1].Cost {
					t.Errorf("set %d costs %g, less than the one before (%g): not cheapest first", i, o.Cost, opts[i-1].Cost)
				}
				if cur&^o.Mask&1 != 0 && tt.st.Changed["queue"] != (time.Time{}) {
					t.Errorf("set %v drops the queue in its cooldown", o.Names)
				}
				if tt.in.Frozen && o.Mask&^cur != 0 {
					t.Errorf("set %v starts an action during a freeze", o.Names)
				}
				if o.Engaged {
					engaged++
				}
			}
			if engaged != 1 {
				t.Errorf("%d sets marked engaged, want 1", engaged)
			}
			if tt.in.Frozen {
				return
			}
			best := opts[0]
			want := fmt.Sprintf("plan {%s}: expected cost %.1f", strings.Join(best.Names, ", "), best.Cost)
			if !strings.Contains(before.Message, want) {
				t.Errorf("the decision says %q, want it to contain %q (Weigh's cheapest)", before.Message, want)
			}
		})
	}
	if Weigh(settings(Predictive), in(held(10, 90, 90, 0), 0, 0), State{}, at(0)) != nil {
		t.Error("Weigh outside mode plan returned sets")
	}
}
