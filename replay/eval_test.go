package replay

import (
	"math"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
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
			r.Action = &actuators.Action{Service: s.Name, Action: "async-queue", Op: actuators.Engage, To: 1}
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
