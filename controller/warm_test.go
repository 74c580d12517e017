package controller

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

// ranged is a script that can also read the past: a day of a ramp that
// breaches above a load of 90.
type ranged struct {
	*script
	calls  int
	err    error
	empty  bool
	asked  []string
	starts []time.Time
}

func (r *ranged) Range(_ context.Context, services []string, start, end time.Time, step time.Duration) (metrics.History, error) {
	r.calls++
	r.asked = append(r.asked, services...)
	r.starts = append(r.starts, start)
	if r.err != nil {
		return nil, r.err
	}
	h := metrics.History{}
	if r.empty {
		return h, nil
	}
	h["web"] = map[metrics.Signal]metrics.Series{}
	for t := start; !t.After(end); t = t.Add(step) {
		i := int(t.Sub(start) / step)
		x := 40 + float64(i%120)/2 // 40 .. 99.5, every two hours
		h["web"][metrics.Requests] = append(h["web"][metrics.Requests], metrics.Sample{Time: t, Value: x})
		h["web"][metrics.Latency] = append(h["web"][metrics.Latency], metrics.Sample{Time: t, Value: 0.05 / (1 - x/100)})
	}
	return h, nil
}

func TestWarmStartFitsOnTheFirstStep(t *testing.T) {
	src := &ranged{script: &script{lat: repeat(0.1, 5), load: repeat(50, 5)}}
	h := newHarness(t, policy.Predictive, src)
	h.steps(t, 1)
	s := h.ctl.services[0]
	if src.calls != 1 || len(src.asked) != 1 || src.asked[0] != "web" {
		t.Fatalf("Range called %d times for %v, want once for web", src.calls, src.asked)
	}
	if want := t0.Add(-24 * time.Hour); !src.starts[0].Equal(want) {
		t.Errorf("history from %s, want %s (global.history 1d)", src.starts[0], want)
	}
	if s.fc == nil {
		t.Fatal("no model after the first step")
	}
	if s.hist.len() < 1000 {
		t.Errorf("history holds %d samples after the warm start", s.hist.len())
	}
	if !s.levels[0].known || math.Abs(s.levels[0].level-90) > 2 {
		t.Errorf("breach level %v (known %v), want about 90 learned from the backfill", s.levels[0].level, s.levels[0].known)
	}
	if math.IsNaN(h.recs[0].Forecast[1]) {
		t.Error("no forecast on the first step")
	}
	h.steps(t, 3)
	if src.calls != 1 {
		t.Errorf("Range called %d times, want once", src.calls)
	}
}

func TestWarmStartRetries(t *testing.T) {
	t.Run("failed read retried next step", func(t *testing.T) {
		src := &ranged{script: &script{lat: repeat(0.1, 5), load: repeat(50, 5)}, err: errors.New("down")}
		h := newHarness(t, policy.Predictive, src)
		h.steps(t, 1)
		src.err = nil
		h.ctl.Step(context.Background(), t0.Add(time.Minute))
		if src.calls != 2 || !h.ctl.services[0].warmed {
			t.Fatalf("calls %d warmed %v, want a second, successful read", src.calls, h.ctl.services[0].warmed)
		}
	})
	t.Run("empty history retried when the service appears", func(t *testing.T) {
		nan := math.NaN()
		src := &ranged{script: &script{lat: []float64{nan, nan, 0.1, 0.1}, load: []float64{nan, nan, 50, 50}}, empty: true}
		h := newHarness(t, policy.Predictive, src)
		h.steps(t, 2)
		if src.calls != 1 {
			t.Fatalf("Range called %d times before the service appeared, want 1", src.calls)
		}
		src.empty = false
		h.ctl.Step(context.Background(), t0.Add(2*time.Minute))
		h.ctl.Step(context.Background(), t0.Add(3*time.Minute))
		if src.calls != 2 || !h.ctl.services[0].warmed {
			t.Fatalf("calls %d warmed %v, want one more read when the service appeared", src.calls, h.ctl.services[0].warmed)
		}
	})
}

func TestForecastErrorExported(t *testing.T) {
	n := 120
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 10*math.Sin(float64(i)/10)
	}
	h := newHarness(t, policy.Predictive, &script{lat: repeat(0.1, n), load: load})
	h.steps(t, n)
	mf, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range mf {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	mae, ok := got["presage_forecast_error_mae"]
	if !ok || !(mae > 0 && mae < 2) {
		t.Errorf("MAE %v (present %v): want a small positive error on a smooth series", mae, ok)
	}
	if mape := got["presage_forecast_error_mape"]; !(mape > 0 && mape < 0.05) {
		t.Errorf("MAPE %v, want a small positive ratio", mape)
	}
}
