package controller

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// TestSteadyRefitsBackOff: on a load the model forecasts exactly, every
// warm refit leaves the forecast where it was, and the hourly schedule
// (shifted by the service's jitter) is passed over once, then three times,
// then seven times in a row, and no more than seven (refitBackoffMax).
func TestSteadyRefitsBackOff(t *testing.T) {
	n := 26 * 60
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60)
	}
	cfg, err := config.Load([]byte(strings.Replace(testConfig, "period: 0s", "period: 1h", 1)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: cfg, Source: &script{lat: repeat(0.1, n), load: load}, Mode: policy.Predictive,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
	if err != nil {
		t.Fatal(err)
	}
	s := ctl.services[0]
	var fits []int // steps at which a seasonal Holt-Winters model was fitted
	for i := range n {
		before := s.fc
		if err := ctl.Step(t.Context(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if hw, ok := s.fc.(*model.HoltWinters); ok && hw.Period() == 60 && s.fc != before {
			fits = append(fits, i)
		}
	}
	// 02:00 the first fit (two periods of history), 03:00 the first warm
	// refit, steady: 04:00 passed over, 05:00 steady again: three passed,
	// 09:00 steady again: seven passed, 17:00 steady again: seven again;
	// each at the first step after the service's offset past the hour.
	off := int(math.Ceil(refitShare("web") * 60))
	want := []int{120, 180, 300, 540, 1020, 1500}
	for i := range want {
		want[i] += off
	}
	if !slices.Equal(fits, want) {
		t.Errorf("Holt-Winters fits at steps %v, want %v (offset %d)", fits, want, off)
	}
}

func TestSteady(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		want bool
	}{
		{name: "same", a: []float64{100, 50}, b: []float64{100, 50}, want: true},
		{name: "within 2%", a: []float64{100, 50}, b: []float64{101.9, 49.1}, want: true},
		{name: "one step moved", a: []float64{100, 50}, b: []float64{100, 52}, want: false},
		{name: "NaN", a: []float64{100, 50}, b: []float64{100, math.NaN()}, want: false},
		{name: "lengths differ", a: []float64{100}, b: []float64{100, 50}, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := steady(tc.a, tc.b); got != tc.want {
				t.Errorf("steady(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// TestRefitsSpread: services that share a refit schedule refit at their
// own offsets within its interval, each once an interval, and a step of a
// thousand services refits few of them, not all.
func TestRefitsSpread(t *testing.T) {
	for _, spec := range []string{"@hourly", "*/30 * * * *", "0 */6 * * *"} {
		t.Run(spec, func(t *testing.T) {
			sched, err := cron.ParseStandard(spec)
			if err != nil {
				t.Fatal(err)
			}
			start := sched.Next(t0)
			gap := sched.Next(start).Sub(start)
			steps := int(gap / time.Minute)
			perStep := make(map[time.Time]int)
			const n = 1000
			for i := range n {
				s := &service{refit: sched, jitter: refitShare(fmt.Sprintf("svc-%04d", i))}
				now := start
				first := s.nextRefit(now)
				if !first.After(now) || first.Sub(now) > gap {
					t.Fatalf("service %d: next refit %v after %v, not within the schedule's interval %v", i, first, now, gap)
				}
				if s.nextRefit(first) != first.Add(gap) {
					t.Fatalf("service %d: refits at %v then %v, not one interval apart", i, first, s.nextRefit(first))
				}
				perStep[first.Truncate(time.Minute)]++
			}
			most := 0
			for _, k := range perStep {
				most = max(most, k)
			}
			// Spread evenly, a step refits n/steps on average; a binomial
			// count exceeds four times its mean (at least 10) almost never.
			if bound := max(4*n/steps, 10); most > bound || len(perStep) < min(steps, n)/2 {
				t.Errorf("refits of %d services over %d steps: %d distinct steps, at most %d in one (bound %d)", n, steps, len(perStep), most, bound)
			}
		})
	}
}

// multi is a metrics.Source that serves the same scripted latency and load
// to every named service.
type multi struct {
	names     []string
	lat, load []float64
	i         int
}

func (m *multi) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	i := min(m.i, len(m.lat)-1)
	m.i++
	snap := metrics.Snapshot{}
	for _, n := range m.names {
		snap.Set(n, metrics.Latency, metrics.Sample{Time: now, Value: m.lat[i]})
		snap.Set(n, metrics.Requests, metrics.Sample{Time: now, Value: m.load[i]})
	}
	return snap, nil
}

// TestColdFitsHeldBack: services that reach their first seasonal fit at
// the same step (their refits on the hour, histories alike) do not all
// make it in that step once the step's refits have had their time: with
// a budget that only a step's first fit fits in, one seasonal fit a step,
// until every service has its seasonal model.
func TestColdFitsHeldBack(t *testing.T) {
	const services = 6
	n := 3*60 + 2*services
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60)
	}
	var yaml strings.Builder
	yaml.WriteString("global: {interval: 1m, history: 1d}\nservices:\n")
	src := &multi{lat: repeat(0.1, n), load: load}
	acts := map[string][]actuators.Actuator{}
	for i := range services {
		name := fmt.Sprintf("web-%d", i)
		src.names = append(src.names, name)
		fmt.Fprintf(&yaml, `  - name: %s
    signals: {latency: {sim: latency_p99}, requests: {sim: requests}}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 1h, refit: "@hourly"}
    playbook:
      - {name: queue, actuator: {kind: sim, knob: queue}}
`, name)
		acts[name] = []actuators.Actuator{actuators.NewRecorder(nil)}
	}
	cfg, err := config.Load([]byte(yaml.String()), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := New(Options{Config: cfg, Source: src, Mode: policy.Predictive, Actuators: acts, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctl.fitBudget = 1 // only a step's first fit starts within it
	for _, s := range ctl.services {
		s.jitter = 0 // all on the hour
	}
	seasonal := func() int {
		k := 0
		for _, s := range ctl.services {
			if hw, ok := s.fc.(*model.HoltWinters); ok && hw.Period() == 60 {
				k++
			}
		}
		return k
	}
	prev := 0
	var at []int // steps at which a service got its seasonal model
	for i := range n {
		if err := ctl.Step(t.Context(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		k := seasonal()
		if k-prev > 1 {
			t.Fatalf("step %d: %d seasonal fits in one step, want at most 1", i, k-prev)
		}
		for range k - prev {
			at = append(at, i)
		}
		prev = k
	}
	// 02:00 is two periods of history: the first seasonal fit there, then
	// one a step.
	want := make([]int, services)
	for i := range want {
		want[i] = 120 + i
	}
	if !slices.Equal(at, want) {
		t.Errorf("seasonal fits at steps %v, want %v", at, want)
	}
}
