package model

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

func paths(rows ...string) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = series(r)
	}
	return out
}

func TestBreachRisk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		paths   [][]float64
		above   float64
		k, run  int
		trigger float64
		want    Risk
	}{
		{name: "never", paths: paths("0 0 0", "1 1 1"), above: 1, k: 1, trigger: 0.5, want: Risk{Probability: 0, Steps: -1}},
		{name: "always at step 1", paths: paths("2 2 2", "3 0 0"), above: 1, k: 1, trigger: 0.5, want: Risk{Probability: 1, Steps: 1}},
		{name: "k in a row", paths: paths("2 2 0 2", "2 2 2 0", "0 2 2 2"), above: 1, k: 3, trigger: 0.5, want: Risk{Probability: 2.0 / 3, Steps: 4}},
		{name: "run prefix breaches at step 1", paths: paths("2 0 0", "0 0 0"), above: 1, k: 3, run: 2, trigger: 0.5, want: Risk{Probability: 0.5, Steps: 1}},
		{name: "run prefix shortens", paths: paths("2 2 0", "0 2 2", "0 0 0", "0 0 0"), above: 1, k: 3, run: 1, trigger: 0.25, want: Risk{Probability: 0.25, Steps: 2}},
		{name: "run prefix reset", paths: paths("0 2 2", "0 2 2"), above: 1, k: 3, run: 2, trigger: 0.5, want: Risk{Probability: 0, Steps: -1}},
		{name: "run beyond k", paths: paths("2 0", "0 0"), above: 1, k: 2, run: 5, trigger: 0.5, want: Risk{Probability: 0.5, Steps: 1}},
		{name: "negative run", paths: paths("2 0", "2 2"), above: 1, k: 2, run: -3, trigger: 0.5, want: Risk{Probability: 0.5, Steps: 2}},
		{
			name:  "steps to breach",
			paths: paths("0 0 0 2", "0 2 0 0", "0 0 2 0", "0 0 0 0"),
			above: 1, k: 1, trigger: 0.5,
			want: Risk{Probability: 0.75, Steps: 3},
		},
		{name: "trigger not reached", paths: paths("0 2", "0 0", "0 0"), above: 1, k: 1, trigger: 0.5, want: Risk{Probability: 1.0 / 3, Steps: -1}},
		{name: "zero trigger needs a breach", paths: paths("0 0 2", "0 0 0"), above: 1, k: 1, trigger: 0, want: Risk{Probability: 0.5, Steps: 3}},
		{name: "trigger one", paths: paths("2 0", "0 2"), above: 1, k: 1, trigger: 1, want: Risk{Probability: 1, Steps: 2}},
		{name: "k zero is one", paths: paths("0 2"), above: 1, k: 0, trigger: 1, want: Risk{Probability: 1, Steps: 2}},
		{name: "missing ends a run", paths: paths("2 _ 2", "2 2 _"), above: 1, k: 2, trigger: 0.5, want: Risk{Probability: 0.5, Steps: 2}},
		{name: "uneven lengths", paths: paths("0", "0 0 2"), above: 1, k: 1, trigger: 0.5, want: Risk{Probability: 0.5, Steps: 3}},
		{name: "no paths", paths: nil, above: 1, k: 1, trigger: 0.5, want: Risk{Steps: -1}},
		{name: "empty paths", paths: paths("", ""), above: 1, k: 1, trigger: 0.5, want: Risk{Steps: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BreachRisk(tc.paths, tc.above, tc.k, tc.run, tc.trigger)
			if got.Steps != tc.want.Steps || !scalar.EqualWithinAbsOrRel(got.Probability, tc.want.Probability, 1e-12, 1e-12) {
				t.Errorf("BreachRisk = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	five := paths("9 1", "9 5", "9 3", "9 2", "9 4")
	for _, tc := range []struct {
		name  string
		paths [][]float64
		h     int
		q     float64
		want  float64
	}{
		{name: "median", paths: five, h: 2, q: 0.5, want: 3},
		{name: "min", paths: five, h: 2, q: 0, want: 1},
		{name: "max", paths: five, h: 2, q: 1, want: 5},
		{name: "interpolated", paths: five, h: 2, q: 0.1, want: 1.4},
		{name: "quartile", paths: five, h: 2, q: 0.25, want: 2},
		{name: "constant step", paths: five, h: 1, q: 0.9, want: 9},
		{name: "even count", paths: paths("1", "2"), h: 1, q: 0.5, want: 1.5},
		{name: "skips missing and short", paths: paths("1 _", "1 4", "1", "1 6"), h: 2, q: 0.5, want: 5},
		{name: "nothing", paths: paths("1", "2"), h: 2, q: 0.5, want: math.NaN()},
		{name: "single", paths: paths("7"), h: 1, q: 0.3, want: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Quantile(tc.paths, tc.h, tc.q)
			if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && !scalar.EqualWithinAbsOrRel(got, tc.want, 1e-12, 1e-12) {
				t.Errorf("Quantile(h=%d, q=%v) = %v, want %v", tc.h, tc.q, got, tc.want)
			}
		})
	}
}

func TestQuantilePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    int
		q    float64
	}{
		{name: "q above one", h: 1, q: 1.5},
		{name: "q negative", h: 1, q: -0.1},
		{name: "q NaN", h: 1, q: math.NaN()},
		{name: "h zero", h: 0, q: 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			Quantile(paths("1"), tc.h, tc.q)
		})
	}
}
