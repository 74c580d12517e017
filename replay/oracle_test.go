package replay

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// oracleActions returns every action of a service's run, in step order,
// with its step.
func oracleActions(r *Run, name string) (steps []int, acts []actuators.Action) {
	for i, rec := range r.Decisions.Service(name).Actions() {
		for _, a := range rec.Actions {
			steps = append(steps, i)
			acts = append(acts, a.Action)
		}
	}
	return steps, acts
}

// TestOracleExample: on the example week the oracle has no more incidents
// than reactive and no fewer than static (everything engaged all the
// time: a floor on incidents, the plant being monotone away from
// timeouts); its records describe its run exactly (the actions, applied
// to a fresh plant, give the same steps) and no action changes twice
// within its cooldown.
func TestOracleExample(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	rep := replay(t, cfg, policy.None, policy.Reactive, policy.Static, policy.Oracle)
	by := map[string]PolicyResult{}
	for _, p := range rep.Policies {
		by[p.Name] = p
		t.Logf("%-10s incidents %3d breach %5.0f min actions %3d cost %6.0f", p.Name, p.Incidents, p.BreachMinutes, p.Actions, p.Cost.Total)
	}
	oracle, reactive, static := by["oracle"], by["reactive"], by["static"]
	if oracle.Incidents > reactive.Incidents || oracle.Incidents < static.Incidents {
		t.Errorf("oracle %d incidents; want between static's %d and reactive's %d", oracle.Incidents, static.Incidents, reactive.Incidents)
	}
	if oracle.BreachMinutes < static.BreachMinutes {
		t.Errorf("oracle %.0f breach minutes, below static's %.0f", oracle.BreachMinutes, static.BreachMinutes)
	}
	// Not a law, but what a hindsight bound should show on the example:
	// fewer incidents than reactive for less.
	if oracle.Cost.Total > reactive.Cost.Total {
		t.Errorf("oracle cost %.0f above reactive's %.0f", oracle.Cost.Total, reactive.Cost.Total)
	}
	if oracle.Actions == 0 {
		t.Fatal("the oracle did nothing")
	}

	run := rep.Runs[len(rep.Runs)-1]
	if run.Policy != policy.Oracle {
		t.Fatalf("last run is %s", run.Policy)
	}
	loads, err := sim.Loads(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	services, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for k, svc := range cfg.Services {
		decs := run.Decisions.Service(svc.Name)
		steps := run.Steps[svc.Name]
		if decs.Len() != len(steps) || len(steps) != 7*24*60 {
			t.Fatalf("%s: %d records, %d steps; want one per step of the week", svc.Name, decs.Len(), len(steps))
		}
		// Cooldown: no action changes twice within it.
		cooldown := map[string]time.Duration{}
		for _, st := range services[k].Playbook {
			cooldown[st.Name] = st.Cooldown
		}
		last := map[string]int{}
		at, acts := oracleActions(run, svc.Name)
		for j, a := range acts {
			rec := decs.At(at[j])
			if rec.Reason != policy.Hindsight || a.Reason != string(policy.Hindsight) || (a.Op != actuators.Engage && a.Op != actuators.Revert) {
				t.Errorf("%s step %d: reason %s, action %+v", svc.Name, at[j], rec.Reason, a)
			}
			if i, ok := last[a.Action]; ok && time.Duration(at[j]-i)*time.Minute < cooldown[a.Action] {
				t.Errorf("%s: %s changed at steps %d and %d, within its cooldown %s", svc.Name, a.Action, i, at[j], cooldown[a.Action])
			}
			last[a.Action] = at[j]
		}
		// The records are the run: the actions applied to a fresh plant
		// after their steps give the same steps, and the level is the
		// number of actions engaged.
		plant := sim.NewPlant(svc.Sim.Plant, sim.PlantSeed(svc))
		knob := map[string]string{}
		for _, a := range svc.Playbook {
			knob[a.Name] = a.Actuator.Knob
		}
		engaged := map[string]bool{}
		next := 0
		for i, r := range steps {
			if got := plant.Step(loads[svc.Name].Values[i], time.Minute); got != r.Signals {
				t.Fatalf("%s step %d: the actions replayed give %+v, the run %+v", svc.Name, i, got, r.Signals)
			}
			for next < len(at) && at[next] == i {
				a := acts[next]
				if err := plant.Set(knob[a.Action], a.To); err != nil {
					t.Fatal(err)
				}
				engaged[a.Action] = a.Op == actuators.Engage
				next++
			}
			n := 0
			for _, on := range engaged {
				n += b2i(on)
			}
			if decs.Level(i) != n {
				t.Fatalf("%s step %d: level %d, %d engaged", svc.Name, i, decs.Level(i), n)
			}
		}
		if c := plant.Cost(); c != run.Cost[svc.Name] {
			t.Errorf("%s: cost %+v replayed, %+v run", svc.Name, c, run.Cost[svc.Name])
		}
	}
}

// TestOracleDeterministic: the same replay twice gives the same steps,
// costs and actions.
func TestOracleDeterministic(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Sim.Load.Duration = config.Duration(2 * 24 * time.Hour)
	}
	var runs [2]*Run
	for k := range runs {
		rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Policies: []policy.Mode{policy.Oracle}, Workers: k + 1})
		if err != nil {
			t.Fatal(err)
		}
		runs[k] = rep.Runs[0]
	}
	if !reflect.DeepEqual(runs[0].Steps, runs[1].Steps) || !reflect.DeepEqual(runs[0].Cost, runs[1].Cost) {
		t.Error("two replays' steps or costs differ")
	}
	for _, s := range cfg.Services {
		a1, x1 := oracleActions(runs[0], s.Name)
		a2, x2 := oracleActions(runs[1], s.Name)
		if !slices.Equal(a1, a2) || !reflect.DeepEqual(x1, x2) {
			t.Errorf("%s: two replays' actions differ", s.Name)
		}
	}
}

// TestOracleStepsAsSource: with no action it can use, the oracle's run is
// the 'none' run step for step, gaps in the load included (the plant
// idles and reports nothing, as sim.Source has it).
func TestOracleStepsAsSource(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Playbook = nil
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tr := &metrics.Grid{Start: start, Step: time.Minute}
	for i := range 600 {
		v := 100 + 60*math.Sin(float64(i)/40)
		if i >= 200 && i < 230 {
			v = math.NaN()
		}
		tr.Values = append(tr.Values, v)
	}
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: tr, Policies: []policy.Mode{policy.None, policy.Oracle}})
	if err != nil {
		t.Fatal(err)
	}
	none, oracle := rep.Runs[0], rep.Runs[1]
	for _, s := range cfg.Services {
		a, b := none.Steps[s.Name], oracle.Steps[s.Name]
		if len(a) != len(b) || len(a) != 600 {
			t.Fatalf("%s: %d and %d steps", s.Name, len(a), len(b))
		}
		for i := range a {
			if a[i].UnixNano != b[i].UnixNano || !sameFloat(a[i].Load, b[i].Load) || !sameSignals(a[i].Signals, b[i].Signals) {
				t.Fatalf("%s step %d: none %+v, oracle %+v", s.Name, i, a[i], b[i])
			}
		}
		if none.Cost[s.Name] != oracle.Cost[s.Name] {
			t.Errorf("%s: cost %+v and %+v", s.Name, none.Cost[s.Name], oracle.Cost[s.Name])
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameSignals(a, b sim.Signals) bool {
	return sameFloat(a.LatencyP99, b.LatencyP99) && sameFloat(a.Requests, b.Requests) &&
		sameFloat(a.PoolInUse, b.PoolInUse) && sameFloat(a.PoolLimit, b.PoolLimit)
}

// testOracle returns the oracle of the example's checkout service with
// the given plant noise and playbook (by action name), over loads.
func testOracle(t *testing.T, noise float64, loads []float64, actions ...string) *oracle {
	t.Helper()
	cfg := loadTestConfig(t, "config.example.yaml")
	cfg.Services = cfg.Services[:1]
	svc := &cfg.Services[0]
	svc.Sim.Plant.Noise = noise
	svc.Playbook = slices.DeleteFunc(svc.Playbook, func(a config.Action) bool { return !slices.Contains(actions, a.Name) })
	if len(svc.Playbook) != len(actions) {
		t.Fatalf("playbook %v, want %v", svc.Playbook, actions)
	}
	rs, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOracle(*svc, rs[0], sim.NewPlant(svc.Sim.Plant, sim.PlantSeed(*svc)), loads, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	o.checkShadow = true
	return o
}

// runOracle runs o and returns its score over the whole run and the set
// engaged during each step.
func runOracle(t *testing.T, o *oracle) (oracleScore, []uint, []controller.Record) {
	t.Helper()
	var recs []controller.Record
	sets := make([]uint, len(o.loads))
	steps, err := o.play(context.Background(), "checkout", time.Unix(0, 0), len(o.loads), func(r controller.Record) {
		if i := len(recs); i+1 < len(sets) {
			sets[i+1] = o.cur
		}
		recs = append(recs, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	var sc oracleScore
	lat := make([]float64, len(steps))
	for i, r := range steps {
		lat[i] = r.Signals.LatencyP99
		sc.cost += o.rate(sets[i])
	}
	for _, in := range model.Incidents(lat, model.Pattern{Above: o.above, Consecutive: o.k}) {
		sc.incidents++
		sc.breach += in.Len()
	}
	return sc, sets, recs
}

// TestOracleKnownOptimum: the load steps from 60 to 100 requests per
// second for 20 steps and back. At 100 the database (90 queries per
// second) falls behind at once and the latency breaches; the async queue
// (40% of the queries off the path) is enough and drains the backlog in
// one step. With K = 3 the cheapest plan with no incident engages the
// queue after the second step above the threshold (the third would
// complete the pattern) and reverts it after the third step before the
// load falls: the last two steps at 100 are above the threshold again,
// fewer than K, and the backlog they leave drains in the first step at 60.
// 16 minutes of queue and nothing else; the exhaustive search agrees.
func TestOracleKnownOptimum(t *testing.T) {
	const s, e = 10, 30 // load 100 on steps [s, e)
	loads := make([]float64, 40)
	for i := range loads {
		loads[i] = 60
		if i >= s && i < e {
			loads[i] = 100
		}
	}
	o := testOracle(t, 0, loads, "async-queue", "read-replicas")
	sc, _, recs := runOracle(t, o)
	var got []string
	for i, r := range recs {
		for _, a := range r.Actions {
			got = append(got, fmtAction(i, a.Action))
		}
	}
	want := []string{fmtAction(s+1, actuators.Action{Action: "async-queue", Op: actuators.Engage, From: 0, To: 1}),
		fmtAction(e-3, actuators.Action{Action: "async-queue", Op: actuators.Revert, From: 1, To: 0})}
	if !slices.Equal(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if sc.breach != 0 || sc.incidents != 0 || math.Abs(sc.cost-16) > 1e-9 {
		t.Errorf("score %+v, want no breach and 16 minutes of queue", sc)
	}
	if best, _ := exhaustive(t, testOracle(t, 0, loads, "async-queue", "read-replicas")); best != sc {
		t.Errorf("score %+v, the exhaustive search's best %+v", sc, best)
	}
}

func fmtAction(i int, a actuators.Action) string {
	return fmt.Sprintf("step %d %s %s %g→%g", i, a.Action, a.Op, a.From, a.To)
}

// TestOracleAgainstExhaustive compares the oracle with an exhaustive
// search over plans on short runs with noise: every plan in which each
// action is engaged over at most one interval of steps, at least its
// cooldown long, one change per step. The oracle must match the best
// plan's breach and incidents, at no more than 1.2 times its cost.
func TestOracleAgainstExhaustive(t *testing.T) {
	for _, tt := range []struct {
		name  string
		loads []float64
	}{
		{"burst", burst(36, 12, 22, 60, 120)},
		{"ramp", ramp(36, 10, 26, 60, 135)},
		{"two bursts", twoBursts(36)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := testOracle(t, 0.05, tt.loads, "async-queue", "read-replicas")
			best, bestSets := exhaustive(t, testOracle(t, 0.05, tt.loads, "async-queue", "read-replicas"))
			got, sets, _ := runOracle(t, o)
			t.Logf("oracle %+v, exhaustive best %+v", got, best)
			t.Logf("oracle plan     %v", sets)
			t.Logf("exhaustive plan %v", bestSets)
			if got.breach != best.breach || got.incidents != best.incidents {
				t.Errorf("oracle breach %d incidents %d; the best plan has %d and %d", got.breach, got.incidents, best.breach, best.incidents)
			}
			// The greedy's cost gap on these cases: 0% on the ramp and the
			// two bursts, 19% on the burst (25 against 21: it engages the
			// replicas just in time and needs the queue beside them while
			// they warm, where the best plan engages them a step earlier
			// and the queue only once they are reverted).
			if got.cost > 1.2*best.cost+1e-9 {
				t.Errorf("oracle cost %.0f, more than 1.2 × the best plan's %.0f", got.cost, best.cost)
			}
		})
	}
}

func burst(n, from, to int, low, high float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = low
		if i >= from && i < to {
			out[i] = high
		}
	}
	return out
}

func ramp(n, from, to int, low, high float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		switch {
		case i < from || i >= to:
			out[i] = low
		default:
			mid := float64(from+to) / 2
			out[i] = high - (high-low)*math.Abs(float64(i)-mid)/(mid-float64(from))
		}
	}
	return out
}

func twoBursts(n int) []float64 {
	out := burst(n, 6, 12, 60, 110)
	for i := 20; i < 28; i++ {
		out[i] = 125
	}
	return out
}

// exhaustive returns the best plan of the class TestOracleAgainstExhaustive
// describes for o's (two) actions and its score, by simulation of every
// plan from the start.
func exhaustive(t *testing.T, o *oracle) (oracleScore, []uint) {
	t.Helper()
	n := len(o.loads)
	if len(o.acts) != 2 {
		t.Fatalf("%d actions, want 2", len(o.acts))
	}
	// An interval [on, off): engaged after step on's decision, reverted
	// after step off's (off = n: never); on = -1: never engaged.
	type interval struct{ on, off int }
	var ivs [2][]interval
	for a := range 2 {
		ivs[a] = append(ivs[a], interval{-1, -1})
		for on := 0; on < n-1; on++ {
			for off := on + o.acts[a].cooldown; off <= n; off++ {
				ivs[a] = append(ivs[a], interval{on, off})
			}
		}
	}
	start := o.plant.Clone()
	var p sim.Plant
	best := oracleScore{breach: math.MaxInt}
	var bestSets []uint
	sets := make([]uint, n)
	for _, x := range ivs[0] {
		for _, y := range ivs[1] {
			if x.on >= 0 && y.on >= 0 && (x.on == y.on || x.on == y.off || x.off == y.on || (x.off == y.off && x.off < n)) {
				continue // one change per step
			}
			start.CopyTo(&p)
			var sc oracleScore
			run := 0
			set := uint(0)
			for i := range n {
				sets[i] = set
				sc.cost += o.rate(set)
				sig, _ := o.stepPlant(&p, i)
				st, br := o.observe(&run, sig.LatencyP99)
				sc.incidents += b2i(st)
				sc.breach += b2i(br)
				if sc.breach > best.breach {
					break
				}
				for a, iv := range [2]interval{x, y} {
					if iv.on == i || iv.off == i {
						set ^= 1 << a
						if err := p.Set(o.acts[a].knob, o.value(set, a)); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if sc.less(best) {
				best, bestSets = sc, slices.Clone(sets)
			}
		}
	}
	return best, bestSets
}

// TestOracleActions: the oracle uses the actions on simulator knobs whose
// engaged value changes the knob, the first of each knob only; its window
// covers the replica warm-up, the longest cooldown and the pattern with
// slack.
func TestOracleActions(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	cfg.Services = cfg.Services[:1]
	svc := &cfg.Services[0]
	pb := svc.Playbook // async-queue, read-replicas, neighbour-cpu
	hook := pb[0]
	hook.Name, hook.Actuator = "flags", config.Actuator{Kind: config.ActuatorWebhook}
	twin := pb[1]
	twin.Name = "more-replicas"
	idle := pb[0]
	zero := 0.0
	idle.Name, idle.Engaged = "idle-queue", &zero // engaged at rest: changes nothing
	idle.Actuator.Knob = config.KnobQueue
	svc.Playbook = []config.Action{hook, idle, pb[1], twin, pb[2], pb[0]}
	rs, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOracle(*svc, rs[0], sim.NewPlant(svc.Sim.Plant, 1), make([]float64, 10), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range o.acts {
		names = append(names, a.name)
	}
	// idle-queue changes nothing, so the queue's knob is still free for
	// async-queue; more-replicas's knob is read-replicas's.
	if want := []string{"read-replicas", "neighbour-cpu", "async-queue"}; !slices.Equal(names, want) {
		t.Errorf("actions %q, want %q", names, want)
	}
	if o.window != 45 {
		t.Errorf("window %d, want 45 (5 warm-up + 5 cooldown + 3 + 30 = 43, at least 45)", o.window)
	}
	for _, a := range o.acts {
		if a.name == "neighbour-cpu" && (a.rest != 1 || a.engaged != 0.5 || math.Abs(a.rate-0.5) > 1e-12) {
			t.Errorf("neighbour-cpu %+v, want rest 1, engaged 0.5, rate 0.5 a step", a)
		}
	}

}
