package controller

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

// cycle is a metrics.Source that serves ramps(240) over and over.
type cycle struct {
	lat, load []float64
	i         int
}

func newCycle() *cycle {
	lat, load := ramps(240)
	return &cycle{lat: lat, load: load}
}

func (c *cycle) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	i := c.i % len(c.lat)
	c.i++
	snap := metrics.Snapshot{}
	snap.Set("web", metrics.Latency, metrics.Sample{Time: now, Value: c.lat[i]})
	snap.Set("web", metrics.Requests, metrics.Sample{Time: now, Value: c.load[i]})
	return snap, nil
}

// viewHarness is newHarness with the view kept (Options.View).
func viewHarness(t *testing.T, mode policy.Mode, src metrics.Source) *harness {
	t.Helper()
	h := &harness{rec: actuators.NewRecorder(nil), reg: prometheus.NewRegistry()}
	ctl, err := New(Options{
		Config: loadConfig(t), Source: src, Mode: mode, Registerer: h.reg, View: true,
		Actuators:  map[string][]actuators.Actuator{"web": {h.rec, h.rec}},
		OnDecision: func(r Record) { h.recs = append(h.recs, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.ctl = ctl
	return h
}

// TestViewOff: without Options.View the controller keeps no view and
// answers nothing.
func TestViewOff(t *testing.T) {
	h := newHarness(t, policy.Plan, newCycle())
	h.steps(t, 10)
	if ov := h.ctl.Overview(); ov != nil {
		t.Errorf("overview %v without a view", ov)
	}
	if _, ok := h.ctl.ServiceView("web"); ok || h.ctl.Watch("web", time.Now().Add(time.Hour)) {
		t.Error("a service has a view without Options.View")
	}
}

// TestViewKeepsTheSteps: nobody looking, the view holds every step's
// latency, risk and level, the last decision, and the decisions that
// changed something, newest first; none of what only a page needs.
func TestViewKeepsTheSteps(t *testing.T) {
	h := viewHarness(t, policy.Predictive, newCycle())
	h.steps(t, 240)
	ov := h.ctl.Overview()
	if len(ov) != 1 || ov[0].Name != "web" || !ov[0].Stepped {
		t.Fatalf("overview %+v, want web, stepped", ov)
	}
	last := h.recs[len(h.recs)-1]
	if ov[0].Reason != last.Reason || ov[0].Level != last.Level || !ov[0].Time.Equal(last.Time) {
		t.Errorf("overview says %s level %d at %v, the last record %s level %d at %v", ov[0].Reason, ov[0].Level, ov[0].Time, last.Reason, last.Level, last.Time)
	}
	v, ok := h.ctl.ServiceView("web")
	if !ok {
		t.Fatal("no view of web")
	}
	if len(v.Times) != 240 || len(v.Latency) != 240 || len(v.Forecast[2]) != 240 {
		t.Fatalf("%d times, %d latencies, want 240", len(v.Times), len(v.Latency))
	}
	for i, r := range h.recs {
		if !v.Times[i].Equal(r.Time) || math.Abs(v.Latency[i]-r.Latency) > 1e-6*r.Latency || v.Level[i] != r.Level {
			t.Fatalf("step %d: view %v %g %d, record %v %g %d", i, v.Times[i], v.Latency[i], v.Level[i], r.Time, r.Latency, r.Level)
		}
	}
	changes := 0
	for _, r := range h.recs {
		if len(r.Actions) > 0 {
			changes++
		}
	}
	got := 0
	for i, d := range v.Decisions {
		if i > 0 && d.Time.After(v.Decisions[i-1].Time) {
			t.Errorf("decision %d at %v after the one before it: not newest first", i, d.Time)
		}
		if len(d.Actions) > 0 {
			got++
		}
	}
	if changes == 0 || got != changes {
		t.Errorf("the view has %d decisions with changes, the records %d (want > 0 and equal)", got, changes)
	}
	if !v.Watched.IsZero() || v.Load != nil || v.Ahead.Times != nil || v.Capacities != nil {
		t.Error("nobody looked, yet the view copied the page's data")
	}
	if _, ok := h.ctl.ServiceView("nope"); ok || h.ctl.Watch("nope", time.Now().Add(time.Hour)) {
		t.Error("an unknown service has a view")
	}
}

// TestViewWatchedChangesNoDecision: a page looking at the service gets the
// load, the band ahead, the capacities and (planner) the sets weighed,
// and the decisions are exactly those of a run nobody looked at.
func TestViewWatchedChangesNoDecision(t *testing.T) {
	for _, mode := range []policy.Mode{policy.Predictive, policy.Plan} {
		t.Run(mode.String(), func(t *testing.T) {
			alone := viewHarness(t, mode, newCycle())
			alone.steps(t, 300)
			seen := viewHarness(t, mode, newCycle())
			seen.ctl.Watch("web", time.Now().Add(time.Hour))
			seen.steps(t, 300)
			for i := range alone.recs {
				a, b := alone.recs[i], seen.recs[i]
				if a.Reason != b.Reason || a.Message != b.Message || a.Risk != b.Risk || a.Level != b.Level {
					t.Fatalf("step %d: looked at, %s %q; alone, %s %q", i, b.Reason, b.Message, a.Reason, a.Message)
				}
			}
			v, _ := seen.ctl.ServiceView("web")
			if !v.Watched.Equal(seen.recs[299].Time) {
				t.Errorf("watched at %v, want the last step %v", v.Watched, seen.recs[299].Time)
			}
			if len(v.Load) != 300 || len(v.LoadTimes) != 300 || v.Load[299] != seen.recs[299].Load || !v.LoadTimes[299].Equal(seen.recs[299].Time) {
				t.Errorf("load %d values (last %v at %v), want 300 ending %g at %v", len(v.Load), v.Load[len(v.Load)-1], v.LoadTimes[len(v.LoadTimes)-1], seen.recs[299].Load, seen.recs[299].Time)
			}
			if len(v.Ahead.Times) != 10 || !v.Ahead.Times[0].Equal(seen.recs[299].Time.Add(time.Minute)) {
				t.Fatalf("band ahead %v, want 10 steps from a minute after the last step", v.Ahead.Times)
			}
			for j := range v.Ahead.Times {
				if !(v.Ahead.Lo[j] <= v.Ahead.Mid[j] && v.Ahead.Mid[j] <= v.Ahead.Hi[j]) {
					t.Errorf("band ahead at %d: %g %g %g, not ordered", j, v.Ahead.Lo[j], v.Ahead.Mid[j], v.Ahead.Hi[j])
				}
			}
			want := 3 // by level
			if mode == policy.Plan {
				want = 4 // by set
				if len(v.Options) == 0 {
					t.Error("the planner's sets are missing")
				}
			}
			if len(v.Capacities) != want {
				t.Errorf("%d capacities, want %d", len(v.Capacities), want)
			}
			known := 0
			for _, c := range v.Capacities {
				if !math.IsInf(c.Level, 1) {
					known++
				}
			}
			if known == 0 {
				t.Error("no capacity learned after 300 steps of ramps")
			}
		})
	}
}

// TestViewRingWraps: the series hold the last ViewHistory of steps.
func TestViewRingWraps(t *testing.T) {
	h := viewHarness(t, policy.Reactive, newCycle())
	n := int(ViewHistory/time.Minute) + 40
	h.steps(t, n)
	v, _ := h.ctl.ServiceView("web")
	if len(v.Times) != n-40 {
		t.Fatalf("%d steps held, want %d", len(v.Times), n-40)
	}
	if !v.Times[0].Equal(h.recs[40].Time) || !v.Times[len(v.Times)-1].Equal(h.recs[n-1].Time) {
		t.Errorf("held %v … %v, want %v … %v", v.Times[0], v.Times[len(v.Times)-1], h.recs[40].Time, h.recs[n-1].Time)
	}
	if len(v.Decisions) > maxViewDecisions {
		t.Errorf("%d decisions held, at most %d", len(v.Decisions), maxViewDecisions)
	}
}

// TestViewReadWhileStepping reads the view while the loop steps (run it
// with -race).
func TestViewReadWhileStepping(t *testing.T) {
	h := viewHarness(t, policy.Plan, newCycle())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			h.ctl.Watch("web", time.Now().Add(time.Minute))
			h.ctl.Overview()
			if v, ok := h.ctl.ServiceView("web"); ok && len(v.Ahead.Lo) > 0 {
				_ = v.Ahead.Lo[0] + v.Load[0]
			}
		}
	})
	h.steps(t, 200)
	close(done)
	wg.Wait()
}

// BenchmarkStepView measures a step of the planner with nobody looking
// and with a page open: a reader that asks for the service's page every
// 10 ms of wall time (a page refreshes every few seconds).
func BenchmarkStepView(b *testing.B) {
	for _, open := range []bool{false, true} {
		name := "nobody"
		if open {
			name = "page-open"
		}
		b.Run(name, func(b *testing.B) {
			cfg, err := config.Load([]byte(testConfig), "test.yaml")
			if err != nil {
				b.Fatal(err)
			}
			rec := actuators.NewRecorder(nil)
			ctl, err := New(Options{Config: cfg, Source: newCycle(), Mode: policy.Plan, Registerer: prometheus.NewRegistry(), View: true,
				Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
			if err != nil {
				b.Fatal(err)
			}
			h := &harness{ctl: ctl}
			ctx := context.Background()
			for i := range 240 {
				if err := h.ctl.Step(ctx, t0.Add(time.Duration(i)*time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
			done := make(chan struct{})
			var wg sync.WaitGroup
			if open {
				wg.Go(func() {
					tick := time.NewTicker(10 * time.Millisecond)
					defer tick.Stop()
					for {
						h.ctl.Watch("web", time.Now().Add(time.Second))
						h.ctl.Overview()
						h.ctl.ServiceView("web")
						select {
						case <-done:
							return
						case <-tick.C:
						}
					}
				})
				time.Sleep(20 * time.Millisecond)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := h.ctl.Step(ctx, t0.Add(time.Duration(240+i)*time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(done)
			wg.Wait()
		})
	}
}
