package replay

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// TestEvaluateNearMisses scores three engagements against a 'none' run
// whose latency (threshold 0.5, three samples in a row) has an incident,
// a spike of two samples, and nothing: the first is justified, the second
// a near miss, the third neither.
func TestEvaluateNearMisses(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	cfg.Services = cfg.Services[:1]
	s := cfg.Services[0] // incident above 0.5, 3 in a row; horizon 30m
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const n = 200
	lat := make([]float64, n)
	for i := range lat {
		lat[i] = 0.1
	}
	for _, i := range []int{10, 11, 12, 13} { // an incident
		lat[i] = 0.9
	}
	for _, i := range []int{80, 81} { // a spike short of one
		lat[i] = 0.9
	}
	none := &Run{Policy: policy.None, Steps: map[string][]sim.Record{}}
	pred := &Run{Policy: policy.Predictive, Steps: map[string][]sim.Record{},
		Decisions: newDecisions([]string{s.Name}, start, time.Minute, policy.Predictive, n, false)}
	engage := map[int]policy.Reason{5: policy.Escalate, 70: policy.Imminent, 150: policy.Escalate}
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		none.Steps[s.Name] = append(none.Steps[s.Name], sim.Record{UnixNano: at.UnixNano(), Signals: sim.Signals{LatencyP99: lat[i]}})
		pred.Steps[s.Name] = append(pred.Steps[s.Name], sim.Record{UnixNano: at.UnixNano(), Signals: sim.Signals{LatencyP99: 0.1}})
		r := controller.Record{Time: at, Service: s.Name, Mode: policy.Predictive, Reason: policy.Holding,
			Latency: 0.1, TimeToBreach: -1, BreachLevel: math.Inf(1), Level: 1}
		if reason, ok := engage[i]; ok {
			r.Reason = reason
			r.Actions = []controller.Applied{{Action: actuators.Action{Service: s.Name, Action: "async-queue", Op: actuators.Engage, To: 1}}}
		}
		pred.Decisions.svc[0].add(r)
	}
	services, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	res := evaluate(cfg, services, pred, none, time.Minute)
	if res.Engagements != 3 || res.Precision == nil || *res.Precision != 1.0/3 || res.NearMisses != 1 {
		t.Fatalf("engagements %d, precision %v, near misses %d; want 3, 1/3, 1", res.Engagements, res.Precision, res.NearMisses)
	}
	want := []ReasonPrecision{
		{Reason: policy.Escalate, Engagements: 2, Justified: 1, Precision: 0.5},
		{Reason: policy.Imminent, Engagements: 1, NearMisses: 1},
	}
	got := map[policy.Reason]ReasonPrecision{}
	for _, rp := range res.PrecisionByReason {
		got[rp.Reason] = rp
	}
	for _, w := range want {
		if got[w.Reason] != w {
			t.Errorf("%s: %+v, want %+v", w.Reason, got[w.Reason], w)
		}
	}
}

// runOf returns a run of service s whose latency is lat, one sample a
// minute from start, with nothing engaged.
func runOf(m policy.Mode, s string, start time.Time, lat []float64) *Run {
	r := &Run{Policy: m, Steps: map[string][]sim.Record{}, Cost: map[string]sim.Cost{},
		Decisions: newDecisions([]string{s}, start, time.Minute, m, len(lat), false)}
	for i, v := range lat {
		at := start.Add(time.Duration(i) * time.Minute)
		r.Steps[s] = append(r.Steps[s], sim.Record{UnixNano: at.UnixNano(), Signals: sim.Signals{LatencyP99: v}})
		r.Decisions.svc[0].add(controller.Record{Time: at, Service: s, Mode: m, Reason: policy.Holding,
			Latency: v, TimeToBreach: -1, BreachLevel: math.Inf(1)})
	}
	return r
}

// latencyWith returns n samples at 0.1 with the listed ranges [from, to]
// at 0.9.
func latencyWith(n int, ranges ...[2]int) []float64 {
	lat := make([]float64, n)
	for i := range lat {
		lat[i] = 0.1
	}
	for _, r := range ranges {
		for i := r[0]; i <= r[1]; i++ {
			lat[i] = 0.9
		}
	}
	return lat
}

// TestEvaluateEpisodes: the 'none' run has an episode whose latency dips
// under the threshold for three minutes and comes back (one incident with
// resolve_after 10m, two with 0) and a later one; the policy's run has an
// incident overlapping the first episode and one of its own. Breach
// minutes count the samples in breach only.
func TestEvaluateEpisodes(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const n = 200
	// Threshold 0.5, 3 in a row: 10..13 is in breach at 12, 13; 17..20 at
	// 19, 20; 100..104 at 102..104.
	noneLat := latencyWith(n, [2]int{10, 13}, [2]int{17, 20}, [2]int{100, 104})
	// In breach at 20..22 (overlapping the first episode) and 152, 153.
	polLat := latencyWith(n, [2]int{18, 22}, [2]int{150, 153})
	for _, tc := range []struct {
		name                             string
		resolveAfter                     time.Duration
		noneInc, inc, episodes, noneEpis int
		breach, noneBreach               float64
	}{
		{name: "resolve after 10m", resolveAfter: 10 * time.Minute, noneInc: 2, inc: 2, episodes: 1, noneEpis: 2, breach: 5, noneBreach: 7},
		// The dip is three minutes: 3m does not merge it, 4m does.
		{name: "resolve after 3m", resolveAfter: 3 * time.Minute, noneInc: 3, inc: 2, episodes: 1, noneEpis: 3, breach: 5, noneBreach: 7},
		{name: "resolve after 4m", resolveAfter: 4 * time.Minute, noneInc: 2, inc: 2, episodes: 1, noneEpis: 2, breach: 5, noneBreach: 7},
		{name: "resolve after 0", noneInc: 3, inc: 2, episodes: 1, noneEpis: 3, breach: 5, noneBreach: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadTestConfig(t, "config.example.yaml")
			cfg.Services = cfg.Services[:1]
			cfg.Services[0].Incident.ResolveAfter = config.Duration(tc.resolveAfter)
			s := cfg.Services[0].Name
			services, err := cfg.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			none := runOf(policy.None, s, start, noneLat)
			pol := runOf(policy.Reactive, s, start, polLat)
			res := evaluate(cfg, services, pol, none, time.Minute)
			if res.NoneIncidents != tc.noneInc || res.Incidents != tc.inc || res.Episodes != tc.episodes || res.BreachMinutes != tc.breach {
				t.Errorf("none incidents %d, incidents %d, episodes %d, breach minutes %.0f; want %d, %d, %d, %.0f",
					res.NoneIncidents, res.Incidents, res.Episodes, res.BreachMinutes, tc.noneInc, tc.inc, tc.episodes, tc.breach)
			}
			if sr := res.Services[0]; sr.Episodes != res.Episodes || sr.Incidents != res.Incidents {
				t.Errorf("service %+v, want the policy's episodes and incidents", sr)
			}
			nr := evaluate(cfg, services, none, none, time.Minute)
			if nr.Incidents != tc.noneInc || nr.Episodes != tc.noneEpis || nr.BreachMinutes != tc.noneBreach {
				t.Errorf("none: incidents %d, episodes %d, breach minutes %.0f; want %d, %d, %.0f",
					nr.Incidents, nr.Episodes, nr.BreachMinutes, tc.noneInc, tc.noneEpis, tc.noneBreach)
			}
		})
	}
}

// TestCostPrices: cost total weighs each knob's minutes by the
// cost_per_minute of the action that sets it; the minutes stay
// unweighted, and with the default prices the total is their sum.
func TestCostPrices(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	cfg.Services = cfg.Services[:1]
	svc := &cfg.Services[0]
	knobs := map[string]string{}
	for _, a := range svc.Playbook {
		knobs[svc.Knob(a.Name)] = a.Name
	}
	x := sim.Cost{ReplicaMinutes: 10, ThrottleMinutes: 4, QueueMinutes: 7}
	for _, tc := range []struct {
		name  string
		price map[string]float64 // by knob
		total float64
	}{
		{name: "default prices", total: 21},
		{name: "priced", price: map[string]float64{config.KnobReplicas: 3, config.KnobCPULimit: 5, config.KnobQueue: 2}, total: 3*10 + 5*4 + 2*7},
		{name: "a free action", price: map[string]float64{config.KnobQueue: 0}, total: 10 + 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			c.Services = []config.Service{*svc}
			c.Services[0].Playbook = slices.Clone(svc.Playbook)
			for knob, p := range tc.price {
				c.Services[0].Action(knobs[knob]).CostPerMinute = p
			}
			services, err := c.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
			none := runOf(policy.None, svc.Name, start, latencyWith(10))
			pol := runOf(policy.Reactive, svc.Name, start, latencyWith(10))
			pol.Cost[svc.Name] = x
			res := evaluate(&c, services, pol, none, time.Minute)
			want := CostJSON{ReplicaMinutes: 10, ThrottleMinutes: 4, QueueMinutes: 7, Total: tc.total}
			if res.Cost != want || res.Services[0].Cost != want {
				t.Errorf("cost %+v (service %+v), want %+v", res.Cost, res.Services[0].Cost, want)
			}
		})
	}
}

// TestKnobPrices: an action of another kind prices the knob sim.knobs
// maps it to; of two actions on one knob the first sets its price; a knob
// no action sets costs 1.
func TestKnobPrices(t *testing.T) {
	svc := &config.Service{
		Playbook: []config.Action{
			{Name: "flags", Actuator: config.Actuator{Kind: config.ActuatorWebhook}},
			{Name: "more", Actuator: config.Actuator{Kind: config.ActuatorSim, Knob: config.KnobReplicas}},
			{Name: "again", Actuator: config.Actuator{Kind: config.ActuatorSim, Knob: config.KnobReplicas}},
		},
		Sim: config.Sim{Knobs: map[string]string{"flags": config.KnobQueue}},
	}
	r := config.Resolved{Playbook: []config.Step{{Name: "flags", CostPerMinute: 4}, {Name: "more", CostPerMinute: 2.5}, {Name: "again", CostPerMinute: 9}}}
	if got, want := knobPrices(svc, r), (prices{replica: 2.5, throttle: 1, queue: 4}); got != want {
		t.Errorf("prices %+v, want %+v", got, want)
	}
}

// TestCompareToOracle: the avoidable share and the cost against oracle's,
// and null where they are not defined.
func TestCompareToOracle(t *testing.T) {
	res := func(name string, incidents int, cost float64) PolicyResult {
		return PolicyResult{Name: name, Incidents: incidents, Cost: CostJSON{Total: cost}}
	}
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name  string
		in    []PolicyResult
		share []*float64
		cost  []*float64
	}{
		{
			name:  "all",
			in:    []PolicyResult{res("none", 20, 0), res("reactive", 12, 100), res("predictive", 6, 150), res("oracle", 4, 50)},
			share: []*float64{f(-1), f(0), f(0.75), f(1)},
			cost:  []*float64{f(0), f(2), f(3), f(1)},
		},
		{
			name:  "no oracle",
			in:    []PolicyResult{res("reactive", 12, 100), res("predictive", 6, 150)},
			share: []*float64{nil, nil},
			cost:  []*float64{nil, nil},
		},
		{
			name:  "no reactive",
			in:    []PolicyResult{res("predictive", 6, 150), res("oracle", 4, 50)},
			share: []*float64{nil, nil},
			cost:  []*float64{f(3), f(1)},
		},
		{
			name:  "oracle no better than reactive, and free",
			in:    []PolicyResult{res("reactive", 4, 100), res("oracle", 4, 0)},
			share: []*float64{nil, nil},
			cost:  []*float64{nil, nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compareToOracle(tc.in)
			for i, p := range tc.in {
				if !sameRatio(p.AvoidableShare, tc.share[i]) || !sameRatio(p.CostVsOracle, tc.cost[i]) {
					t.Errorf("%s: avoidable %v, cost/oracle %v; want %v, %v", p.Name, ratioString(p.AvoidableShare),
						ratioString(p.CostVsOracle), ratioString(tc.share[i]), ratioString(tc.cost[i]))
				}
			}
		})
	}
}

func sameRatio(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Abs(*a-*b) < 1e-12
}

func ratioString(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// TestOracleColumns: the table and the HTML scorecard show the avoidable
// share and the cost against oracle only when oracle was replayed.
func TestOracleColumns(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for _, withOracle := range []bool{false, true} {
		ps := []PolicyResult{{Name: "reactive", Incidents: 12, Cost: CostJSON{Total: 100}}, {Name: "predictive", Incidents: 6, Cost: CostJSON{Total: 150}}}
		if withOracle {
			ps = append(ps, PolicyResult{Name: "oracle", Incidents: 4, Cost: CostJSON{Total: 50}})
		}
		compareToOracle(ps)
		rep := &Report{Config: cfg, Interval: time.Minute, Policies: ps}
		var table, page strings.Builder
		if err := rep.WriteTable(&table); err != nil {
			t.Fatal(err)
		}
		if err := reportPage.Execute(&page, map[string]any{"Policies": ps, "Oracle": rep.hasOracle()}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			where, text, want string
		}{
			{"table", table.String(), "cost/oracle"},
			{"table", table.String(), "75%"},
			{"table", table.String(), "3.00x"},
			{"page", page.String(), "<th>avoidable</th>"},
			{"page", page.String(), "<td>75%</td><td>3.00×</td>"},
		} {
			if got := strings.Contains(c.text, c.want); got != withOracle {
				t.Errorf("oracle replayed %v: %s has %q: %v\n%s", withOracle, c.where, c.want, got, c.text)
			}
		}
	}
}
