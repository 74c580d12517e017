package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eventSeries is hourly: a daily cycle around 100 with noise, lifted by
// lift during 19:00–22:00 on the days in days.
func eventSeries(n int, days []int, lift float64) (y []float64, mask []bool) {
	rng := rand.New(rand.NewPCG(7, 7))
	y, mask = make([]float64, n), make([]bool, n)
	for i := range y {
		h := i % 24
		y[i] = 100 + 30*math.Sin(2*math.Pi*float64(h-9)/24) + rng.NormFloat64()
		for _, d := range days {
			if i/24 == d && h >= 19 && h < 22 {
				y[i] *= lift
				mask[i] = true
			}
		}
	}
	return y, mask
}

// TestEventsAnticipate: after one occurrence (day 1), the model with the
// event regressor forecasts the second (day 4) within a few percent, where
// the model without it forecasts an ordinary evening.
func TestEventsAnticipate(t *testing.T) {
	const lift = 1.8
	y, mask := eventSeries(6*24, []int{1, 4}, lift)
	cut := 4*24 + 16 // fitted up to 16:00 on day 4
	for _, name := range []string{NameHoltWinters, NameSeasonalNaive, NameAuto} {
		t.Run(name, func(t *testing.T) {
			plain, err := Fit(y[:cut], Settings{Period: 24, Model: name})
			if err != nil {
				t.Fatal(err)
			}
			withEv, err := Fit(y[:cut], Settings{Period: 24, Model: name, Events: mask})
			if err != nil {
				t.Fatal(err)
			}
			ev, ok := withEv.(*Events)
			if !ok {
				t.Fatalf("Fit with events = %T, want *Events", withEv)
			}
			if math.Abs(ev.Uplift-lift)/lift > 0.05 {
				t.Errorf("uplift %.3f, want %.1f within 5%%", ev.Uplift, lift)
			}
			// Feed 16:00–18:00, then forecast the event's three hours.
			for i := cut; i < cut+3; i++ {
				plain.Update(y[i])
				withEv.Update(y[i])
			}
			fp, fe := plain.Forecast(3), withEv.Forecast(3)
			var errPlain, errEv float64
			for j := range 3 {
				actual := y[cut+3+j]
				errPlain += math.Abs(fp[j]-actual) / actual / 3
				errEv += math.Abs(fe[j]-actual) / actual / 3
			}
			t.Logf("%s: mean abs %% error over the event: %.1f%% without, %.1f%% with (uplift %.3f)", name, 100*errPlain, 100*errEv, ev.Uplift)
			if errEv > 0.08 || errEv > errPlain/3 {
				t.Errorf("error with events %.1f%%, without %.1f%%: want under 8%% and a third of it", 100*errEv, 100*errPlain)
			}
			// The paths carry the uplift too.
			paths := withEv.Paths(3, 50, rand.New(rand.NewPCG(1, 1)))
			var mean float64
			for _, p := range paths {
				mean += p[1] / 50
			}
			if math.Abs(mean-fe[1])/fe[1] > 0.1 {
				t.Errorf("mean path %.1f far from the forecast %.1f", mean, fe[1])
			}
			// A clone keeps its place in the mask.
			c := clone(withEv)
			c.Update(y[cut+3])
			if got, want := c.Forecast(1)[0], withEv.Forecast(2)[1]; math.Abs(got-want) > 0.3*want {
				t.Errorf("clone after one update forecasts %.1f, want near %.1f", got, want)
			}
		})
	}
}

// TestEventsNone: a mask with no event in the history fits exactly as
// without one.
func TestEventsNone(t *testing.T) {
	y, _ := eventSeries(5*24, nil, 1)
	mask := make([]bool, len(y)+48)
	mask[len(y)+20] = true // only in the future: nothing to learn from
	a, err := Fit(y, Settings{Period: 24})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(y, Settings{Period: 24, Events: mask})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*Events); ok {
		t.Fatal("Fit with no past event returned *Events")
	}
	fa, fb := a.Forecast(48), b.Forecast(48)
	for j := range fa {
		if fa[j] != fb[j] {
			t.Fatalf("step %d: %v without a mask, %v with an empty one", j, fa[j], fb[j])
		}
	}
}

func TestUplift(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		y    []float64
		mask []bool
		m    int
		want float64
		ok   bool
	}{
		{"seasonal", []float64{1, 2, 1, 2, 2, 4}, []bool{false, false, false, false, true, true}, 2, 2, true},
		{"seasonal from later", []float64{3, 6, 1, 2, 1, 2}, []bool{true, true}, 2, 3, true},
		{"non-seasonal: last before", []float64{5, 5, 10, 10, 5}, []bool{false, false, true, true}, 0, 2, true},
		{"missing skipped", []float64{5, nan, 10, nan}, []bool{false, false, true, true}, 0, 2, true},
		{"no baseline", []float64{5, 5}, []bool{true, true}, 0, 0, false},
		{"no event", []float64{5, 5}, nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := uplift(tt.y, tt.mask, tt.m)
			if ok != tt.ok || ok && math.Abs(u-tt.want) > 1e-12 {
				t.Errorf("uplift = %v, %v; want %v, %v", u, ok, tt.want, tt.ok)
			}
		})
	}
}
