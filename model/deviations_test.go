package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDeviationsMatchPaths checks DeviationsInto's contract: deviations
// drawn at the fit, added to the point forecast after any number of
// updates, are the paths PathsInto draws then from the same random values.
// A long horizon (beyond the period) takes Holt-Winters' and the seasonal
// naive model's in-path season updates too.
func TestDeviationsMatchPaths(t *testing.T) {
	y := seasonal(300, 24, 10, 0.1, 3, 1, 21)
	tail := seasonal(60, 24, 14, -0.2, 5, 2, 22) // moves the state about
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 24, Model: NameHoltWinters}},
		{name: "damped holt", s: Settings{Model: NameHoltWinters}},
		{name: "seasonal naive", s: Settings{Period: 24, Model: NameSeasonalNaive}},
		{name: "naive", s: Settings{Model: NameNaive}},
	} {
		for _, h := range []int{20, 50} {
			f, err := Fit(y, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			dev := NewPaths(h, 30)
			if !DeviationsInto(f, dev, rand.New(rand.NewPCG(5, 6))) {
				t.Fatalf("%s: DeviationsInto = false", tc.name)
			}
			for step, v := range tail {
				f.Update(v)
				if step%20 != 19 {
					continue
				}
				paths := NewPaths(h, 30)
				PathsInto(f, paths, rand.New(rand.NewPCG(5, 6)))
				point := f.Forecast(h)
				into := make([]float64, h)
				ForecastInto(f, into)
				if !equalSlices(into, point, 0) {
					t.Fatalf("%s h=%d: ForecastInto %v, Forecast %v", tc.name, h, into, point)
				}
				for i := range paths {
					for j := range h {
						got, want := point[j]+dev[i][j], paths[i][j]
						if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
							t.Fatalf("%s h=%d after %d updates: path %d step %d: point+deviation %v, path %v",
								tc.name, h, step+1, i, j, got, want)
						}
					}
				}
				r1 := BreachRisk(paths, point[h/2], 3, 1, 0.5)
				r2 := BreachRiskShifted(point, dev, point[h/2], 3, 1, 0.5)
				if r1 != r2 {
					t.Fatalf("%s h=%d: BreachRiskShifted %+v, BreachRisk over the paths %+v", tc.name, h, r2, r1)
				}
			}
		}
	}
}

// TestDeviationsOtherModels checks that the models whose paths are not
// the forecast plus a fixed deviation say so.
func TestDeviationsOtherModels(t *testing.T) {
	y := seasonal(300, 24, 10, 0.1, 3, 1, 21)
	f, err := Fit(y, Settings{Period: 24, Model: NameHoltWinters, Events: make([]bool, len(y)+10)})
	if err != nil {
		t.Fatal(err)
	}
	ev := &Events{Forecaster: f, Uplift: 2, Mask: make([]bool, 400)}
	if DeviationsInto(ev, NewPaths(5, 5), rand.New(rand.NewPCG(1, 1))) {
		t.Error("DeviationsInto on a model with known events = true")
	}
}

// TestBreachShare checks that BreachShare is at or above a level exactly
// when BreachRisk's probability is, and equal to it below the level.
func TestBreachShare(t *testing.T) {
	f, err := Fit(seasonal(300, 24, 10, 0.1, 3, 1, 21), Settings{Period: 24, Model: NameHoltWinters})
	if err != nil {
		t.Fatal(err)
	}
	dev := NewPaths(20, 100)
	DeviationsInto(f, dev, rand.New(rand.NewPCG(5, 6)))
	point := f.Forecast(20)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range dev {
		for j, d := range dev[i] {
			lo, hi = min(lo, point[j]+d), max(hi, point[j]+d)
		}
	}
	plain := NewPaths(20, 100) // the same paths, drawn out
	for i := range dev {
		for j, d := range dev[i] {
			plain[i][j] = point[j] + d
		}
	}
	tested := map[bool]int{}
	for step := range 60 {
		above := lo + (hi-lo)*float64(step)/60
		for _, at := range []float64{0.2, 0.5, 0.37} {
			p := BreachRiskShifted(point, dev, above, 3, 1, 0.5).Probability
			got := BreachShare(point, dev, above, 3, 1, at, 0)
			if (got >= at) != (p >= at) || (p < at && got != p) || got > p {
				t.Fatalf("above %v at %v: share %v, probability %v", above, at, got, p)
			}
			tested[p >= at]++
		}
		// Within the first w steps: the share over the paths cut at w,
		// shifted or drawn out.
		for _, w := range []int{2, 5, 11, 20, 40} {
			want := BreachRiskShifted(point[:min(w, len(point))], dev, above, 3, 1, 0.5).Probability
			if got := BreachShare(point, dev, above, 3, 1, 1, w); got != want {
				t.Fatalf("above %v within %d: shifted share %v, want %v", above, w, got, want)
			}
			if got := BreachShare(nil, plain, above, 3, 1, 1, w); got != want {
				t.Fatalf("above %v within %d: share %v, want %v", above, w, got, want)
			}
		}
	}
	if tested[true] == 0 || tested[false] == 0 {
		t.Fatalf("levels tested on one side only: %v", tested)
	}
}
