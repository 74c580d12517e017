package policy

import (
	"math"
	"strings"
	"testing"
	"time"
)

// planReasons are the reasons only the planner gives; TestPlan covers them.
var planReasons = map[Reason]bool{Planned: true, PlanDeferred: true}

// response returns a response over the three steps of settings: each set
// takes base plus the gains of its steps (queue, replicas, cpu).
func response(base, queue, replicas, cpu float64) Response {
	r := Response{Level: make([]float64, 8), Source: make([]LevelSource, 8)}
	for m := range 8 {
		l := base
		for i, g := range []float64{queue, replicas, cpu} {
			if m&(1<<i) != 0 {
				l += g
			}
		}
		r.Level[m], r.Source[m] = l, Learned
	}
	return r
}

// held returns n paths at v for every step of a 30-step horizon, except
// from step from on, where they are at w.
func held(n int, v, w float64, from int) [][]float64 {
	out := make([][]float64, n)
	for k := range out {
		out[k] = make([]float64, 30)
		for j := range out[k] {
			out[k][j] = v
			if j >= from {
				out[k][j] = w
			}
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	resp := response(100, 20, 40, 15) // {} 100, queue 120, replicas 140, cpu 115
	planIn := func(paths [][]float64, run int, floor float64) Input {
		return Input{DataOK: true, TimeToBreach: -1, Plan: &PlanInput{Paths: paths, Horizon: 30, K: 3, Run: run,
			Load: 90, Floor: floor, Response: resp}}
	}
	clear := Input{DataOK: true, TimeToBreach: -1, Plan: &PlanInput{Clear: true, Horizon: 30, K: 3, Response: resp}}
	queueCooling := engaged(0)
	queueCooling.Changed["queue"] = at(-1)
	pending := engaged(0)
	pending.PlanClearSince = map[int]time.Time{0: at(-15)}
	firing := planIn(held(10, 150, 150, 0), 2, 150)
	firing.Plan.Load = 150
	firing.Firing = true
	unknown := firing
	unknown.Plan = &PlanInput{Paths: held(10, 150, 150, 0), Horizon: 30, K: 3, Run: 2, Load: 150, Floor: 150,
		Response: Response{Level: []float64{100, math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)},
			Source: make([]LevelSource, 8)}}
	unknown.Plan.Response.Level = []float64{100, 100, 100, 100, 100, 100, 100, 100}
	frozen := planIn(held(10, 130, 130, 0), 2, 130)
	frozen.Frozen = true

	tests := []struct {
		name    string
		in      Input
		st      State
		cost    float64 // incident_cost; default 1000
		fastCPU bool    // cpu warms up in one step
		reason  Reason
		changes string // "+queue -cpu", in the order applied
		level   int
	}{
		{name: "nothing near: steady", in: clear, reason: Steady},
		{name: "an overload under way: the queue at once (it takes it)",
			in: planIn(held(10, 110, 110, 0), 2, 110), reason: Planned, changes: "+queue", level: 1},
		{name: "beyond the queue: cpu now (it takes two steps), the queue a step later",
			in: planIn(held(10, 130, 130, 0), 1, 130), reason: Planned, changes: "+cpu", level: 1},
		{name: "two needed by the next sample: both at once",
			in: planIn(held(10, 130, 130, 0), 2, 130), fastCPU: true, reason: Planned, changes: "+queue +cpu", level: 2},
		{name: "beyond what helps in time: nothing is worth it",
			in: planIn(held(10, 130, 130, 0), 2, 130), reason: Steady},
		{name: "a breach 20 steps ahead: later costs no more",
			in: planIn(held(10, 90, 130, 20), 0, 0), reason: PlanDeferred},
		{name: "a breach at the replicas' warm-up: replicas now, the rest later",
			in: planIn(held(10, 90, 150, 2), 0, 0), reason: Planned, changes: "+replicas", level: 1},
		{name: "incidents cheap: the replicas are not worth it",
			in: planIn(held(10, 90, 150, 2), 0, 0), cost: 50, reason: Steady},
		{name: "risk passed: revert once out of the plan for revert_after",
			in: clear, st: engaged(0), reason: RevertPending, level: 1},
		{name: "out of the plan for revert_after: revert",
			in: clear, st: pending, reason: Revert, changes: "-queue"},
		{name: "in cooldown: kept", in: clear, st: queueCooling, reason: Holding, level: 1},
		{name: "still needed: held", in: planIn(held(10, 117, 117, 0), 0, 0), st: engaged(0), reason: Holding, level: 1},
		{name: "a cheaper set takes it: swap (the revert waits)", in: planIn(held(10, 110, 110, 0), 1, 110), st: engaged(0),
			reason: Planned, changes: "+cpu", level: 2},
		{name: "incident in progress, nothing known to help: the first action",
			in: unknown, reason: ReactiveFloor, changes: "+queue", level: 1},
		{name: "incident in progress that no plan prevents: the reactive floor", in: firing, reason: ReactiveFloor, changes: "+queue", level: 1},
		{name: "freeze: nothing starts", in: frozen, reason: Frozen},
	}
	seen := map[Reason]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(Plan)
			for i := range s.Playbook {
				s.Playbook[i].CostPerMinute = 1
			}
			s.Playbook[1].Engaged = 3
			if tt.fastCPU {
				s.Playbook[2].Warmup = time.Minute
			}
			s.IncidentCost = 1000
			if tt.cost > 0 {
				s.IncidentCost = tt.cost
			}
			st := tt.st
			d := Decide(s, tt.in, st, at(0))
			seen[d.Reason] = true
			if d.Reason != tt.reason {
				t.Errorf("reason %s (%s), want %s", d.Reason, d.Message, tt.reason)
			}
			var got []string
			for _, c := range d.Changes {
				op := "+"
				if c.Revert {
					op = "-"
				}
				got = append(got, op+c.Name)
			}
			if g := strings.Join(got, " "); g != tt.changes {
				t.Errorf("changes %q, want %q (%s)", g, tt.changes, d.Message)
			}
			if d.Next.Level() != tt.level {
				t.Errorf("level %d, want %d", d.Next.Level(), tt.level)
			}
			if len(d.Changes) > 0 && !strings.Contains(d.Message, "expected cost") && d.Reason != ReactiveFloor {
				t.Errorf("message %q gives no expected cost", d.Message)
			}
		})
	}
	for r := range planReasons {
		if !seen[r] {
			t.Errorf("no test case covers reason %s", r)
		}
	}
}

// TestUndo: a decision that engaged two steps, one of which failed,
// keeps the other and leaves the failed one as it was.
func TestUndo(t *testing.T) {
	s := settings(Plan)
	for i := range s.Playbook {
		s.Playbook[i].CostPerMinute = 1
		s.Playbook[i].Warmup = time.Minute
	}
	s.IncidentCost = 1000
	in := Input{DataOK: true, TimeToBreach: -1, Plan: &PlanInput{Paths: held(10, 130, 130, 0), Horizon: 30, K: 3, Run: 2,
		Load: 130, Floor: 130, Response: response(100, 20, 40, 15)}}
	prev := State{}
	d := Decide(s, in, prev, at(0))
	if len(d.Changes) != 2 {
		t.Fatalf("%s %q: %d changes, want queue and cpu at once", d.Reason, d.Message, len(d.Changes))
	}
	next := Undo(prev, d.Next, d.Changes[1]) // cpu failed
	if next.Level() != 1 || next.Engaged[0].Step != 0 {
		t.Errorf("engaged %+v, want the queue only", next.Engaged)
	}
	if _, ok := next.Changed["cpu"]; ok {
		t.Errorf("cpu's last change kept: %v", next.Changed)
	}
	if _, ok := next.Changed["queue"]; !ok {
		t.Errorf("queue's change lost: %v", next.Changed)
	}
	if len(d.Next.Engaged) != 2 {
		t.Errorf("Undo changed the decision's state: %+v", d.Next.Engaged)
	}
	reverted := Undo(engaged(0, 2), engaged(0), Change{Step: 2, Name: "cpu", Revert: true})
	if reverted.Level() != 2 || reverted.Engaged[1].Step != 2 {
		t.Errorf("a failed revert: engaged %+v, want queue and cpu again", reverted.Engaged)
	}
}
