package sim

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// flat returns a one-minute trace from t0 with the given values.
func flat(vals ...float64) *metrics.Grid {
	return &metrics.Grid{Start: t0, Step: time.Minute, Values: vals}
}

func TestSourceRead(t *testing.T) {
	web := &Service{Name: "web", Plant: NewPlant(config.Plant{}, 1), Load: flat(10, 20, 30, 40, 50, 60)}
	api := &Service{Name: "api", Plant: NewPlant(config.Plant{}, 2), Load: flat(5, 5, 5, 5, 5, 5)}
	src, err := NewSource([]*Service{web, api}, time.Minute, map[string]map[metrics.Signal]string{
		"api": {metrics.Latency: SignalLatencyP99},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The first read takes one step, at now.
	now := t0.Add(30 * time.Second)
	snap, err := src.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if h := src.History("web"); len(h) != 1 || !h[0].Time().Equal(now) || h[0].Load != 10 {
		t.Fatalf("history after the first read: %+v", h)
	}
	if len(snap["web"]) != 4 || len(snap["api"]) != 1 {
		t.Fatalf("snapshot %v: want 4 signals for web, the latency only for api", snap)
	}
	for svc, sigs := range snap {
		for sig, s := range sigs {
			if !s.Time.Equal(now) || s.Missing() || !(s.Value > 0) {
				t.Errorf("%s %s: %+v, want a value > 0 at %v", svc, sig, s, now)
			}
		}
	}
	h := src.History("web")[0].Signals
	if got, _ := snap.Get("web", metrics.Requests); got.Value != h.Requests {
		t.Errorf("requests %v, history %v", got.Value, h.Requests)
	}

	// Less than an interval later: no step, the same values at the new now.
	now2 := now.Add(59 * time.Second)
	snap2, err := src.Read(ctx, now2)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(src.History("web")); n != 1 {
		t.Errorf("%d steps after a read within the interval, want 1", n)
	}
	if got, _ := snap2.Get("web", metrics.Latency); got.Value != h.LatencyP99 || !got.Time.Equal(now2) {
		t.Errorf("latency %+v, want %v at %v", got, h.LatencyP99, now2)
	}

	// Three intervals and a bit later: three steps on the grid of the first.
	now3 := now.Add(3*time.Minute + 10*time.Second)
	snap3, err := src.Read(ctx, now3)
	if err != nil {
		t.Fatal(err)
	}
	hist := src.History("web")
	if len(hist) != 4 {
		t.Fatalf("%d steps, want 4", len(hist))
	}
	for i, r := range hist {
		if want := now.Add(time.Duration(i) * time.Minute); !r.Time().Equal(want) || r.Load != float64(10*(i+1)) {
			t.Errorf("step %d at %v load %v; want %v and %v", i, r.Time(), r.Load, want, 10*(i+1))
		}
		if i > 0 && !(r.Signals.LatencyP99 > hist[i-1].Signals.LatencyP99) {
			t.Errorf("step %d: latency %v not above %v under a rising load", i, r.Signals.LatencyP99, hist[i-1].Signals.LatencyP99)
		}
	}
	last := hist[3]
	if got, _ := snap3.Get("web", metrics.PoolInUse); got.Value != last.Signals.PoolInUse || !got.Time.Equal(now3) {
		t.Errorf("pool in use %+v, want %v at %v", got, last.Signals.PoolInUse, now3)
	}
	if got, _ := snap3.Get("web", metrics.PoolLimit); got.Value != 50 {
		t.Errorf("pool limit %v, want 50", got.Value)
	}
	if src.History("nope") != nil {
		t.Error("history of an unknown service")
	}

	if _, err := src.Read(ctx, now); err == nil || !strings.Contains(err.Error(), "before the last step") {
		t.Errorf("read in the past: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.Read(cctx, now3.Add(time.Hour)); err == nil {
		t.Error("read with a cancelled context succeeded")
	}
}

func TestSourceGapLeavesSignalsOut(t *testing.T) {
	nan := math.NaN()
	svc := &Service{Name: "web", Plant: NewPlant(config.Plant{}, 1), Load: flat(150, nan, 20)}
	src, err := NewSource([]*Service{svc}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustRead := func(now time.Time) metrics.Snapshot {
		t.Helper()
		s, err := src.Read(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if snap := mustRead(t0); len(snap["web"]) != 4 {
		t.Fatalf("first step: %v", snap)
	}
	backlog := svc.Plant.State().Backlog
	if !(backlog > 0) {
		t.Fatalf("no backlog at 150 req/s")
	}
	if snap := mustRead(t0.Add(time.Minute)); len(snap) != 0 {
		t.Errorf("snapshot in a gap: %v, want nothing", snap)
	}
	r := src.History("web")[1]
	if !math.IsNaN(r.Load) || !math.IsNaN(r.Signals.LatencyP99) || !math.IsNaN(r.Signals.PoolLimit) {
		t.Errorf("gap record %+v, want NaN load and signals", r)
	}
	if b := svc.Plant.State().Backlog; !(b < backlog) {
		t.Errorf("backlog %v did not drain in the gap from %v", b, backlog)
	}
	if snap := mustRead(t0.Add(2 * time.Minute)); len(snap["web"]) != 4 {
		t.Errorf("after the gap: %v", snap)
	}
	if snap := mustRead(t0.Add(3 * time.Minute)); len(snap) != 0 {
		t.Errorf("after the trace: %v, want nothing", snap)
	}
}

func TestNewSourceErrors(t *testing.T) {
	p := NewPlant(config.Plant{}, 1)
	tr := flat(1)
	tests := []struct {
		name     string
		services []*Service
		interval time.Duration
		signals  map[string]map[metrics.Signal]string
		want     []string
	}{
		{"zero interval", []*Service{{Name: "a", Plant: p, Load: tr}}, 0, nil, []string{"interval"}},
		{"nil service", []*Service{nil}, time.Minute, nil, []string{"service 0 is nil"}},
		{"no name, no plant, no load", []*Service{{}}, time.Minute, nil, []string{"service 0 has no name", "has no plant", "has no load"}},
		{"duplicate", []*Service{{Name: "a", Plant: p, Load: tr}, {Name: "a", Plant: p, Load: tr}}, time.Minute, nil, []string{`"a" appears twice`}},
		{"unknown signal",
			[]*Service{{Name: "a", Plant: p, Load: tr}}, time.Minute,
			map[string]map[metrics.Signal]string{"a": {metrics.Latency: "latency"}},
			[]string{`service "a" signal latency: unknown simulator signal "latency"`}},
		{"unknown service in signals",
			[]*Service{{Name: "a", Plant: p, Load: tr}}, time.Minute,
			map[string]map[metrics.Signal]string{"b": {metrics.Latency: SignalLatencyP99}},
			[]string{`signals for unknown service "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(tt.services, tt.interval, tt.signals)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSourceConcurrent(t *testing.T) {
	svc := &Service{Name: "web", Plant: NewPlant(config.Plant{}, 1), Load: flat(make([]float64, 2000)...)}
	src, err := NewSource([]*Service{svc}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := src.Knob("web", KnobReplicas)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			if _, err := src.Read(ctx, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range 500 {
			if err := k.Apply(ctx, actuators.Action{To: float64(i % 3)}); err != nil {
				t.Error(err)
				return
			}
			if _, err := k.Current(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range 200 {
			_ = src.History("web")
			_ = svc.Plant.Cost()
		}
	})
	wg.Wait()
	if n := len(src.History("web")); n != 500 {
		t.Errorf("%d steps, want 500", n)
	}
}

func TestSourceOptionsAlignLoopAndBoundedHistory(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tr := &metrics.Grid{Start: start, Step: time.Minute, Values: []float64{10, 20, 30}}
	svc := &Service{Name: "a", Plant: NewPlant(config.Plant{}, 1), Load: tr}
	src, err := NewSource([]*Service{svc}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.SetOptions(SourceOptions{Align: true, Loop: true, MaxHistory: 4})
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC) // far from the trace
	for i := range 7 {
		if _, err := src.Read(context.Background(), now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	h := src.History("a")
	if len(h) > 8 {
		t.Fatalf("history holds %d records, want at most 2×MaxHistory", len(h))
	}
	var loads []float64
	for _, r := range h {
		loads = append(loads, r.Load)
	}
	want := []float64{10, 20, 30, 10, 20, 30, 10}[7-len(h):]
	for i := range want {
		if loads[i] != want[i] {
			t.Fatalf("loads = %v, want %v (aligned to the first read, looped)", loads, want)
		}
	}
}
