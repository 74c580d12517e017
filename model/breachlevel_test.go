package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// mm1 returns n pairs of load x evenly spread on [lo, hi] and the p99 of an
// M/M/1-like service of capacity 100, y = 0.05/(1 - x/100), times a
// log-normal noise factor of standard deviation sd (seeded).
func mm1(n int, lo, hi, sd float64, seed uint64) (x, y []float64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	x, y = make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*float64(i)/float64(n-1)
		y[i] = 0.05 / (1 - x[i]/100) * math.Exp(sd*rng.NormFloat64())
	}
	// Shuffle: BreachLevel must not rely on the order.
	rng.Shuffle(n, func(i, j int) { x[i], x[j], y[i], y[j] = x[j], x[i], y[j], y[i] })
	return x, y
}

func TestBreachLevel(t *testing.T) {
	// 0.05/(1 - x/100) > 0.5 when x > 90.
	const above = 0.5
	for _, tc := range []struct {
		name   string
		x, y   []float64
		above  float64
		want   float64
		tol    float64
		wantOK bool
	}{
		{name: "breaches", x: first(mm1(200, 0, 98, 0, 1)), y: second(mm1(200, 0, 98, 0, 1)), above: above, want: 90, tol: 0.5, wantOK: true},
		{name: "breaches with noise", x: first(mm1(400, 0, 98, 0.05, 2)), y: second(mm1(400, 0, 98, 0.05, 2)), above: above, want: 90, tol: 2, wantOK: true},
		{name: "extrapolated", x: first(mm1(100, 0, 80, 0, 3)), y: second(mm1(100, 0, 80, 0, 3)), above: above, want: 90, tol: 1e-6, wantOK: true},
		{name: "extrapolated with noise", x: first(mm1(400, 0, 80, 0.02, 4)), y: second(mm1(400, 0, 80, 0.02, 4)), above: above, want: 90, tol: 3, wantOK: true},
		{name: "extrapolated far", x: first(mm1(100, 0, 40, 0, 5)), y: second(mm1(100, 0, 40, 0, 5)), above: above, want: 90, tol: 1e-6, wantOK: false},
		{name: "flat response", x: series("0+1x99"), y: series("0.1x100"), above: above, wantOK: false},
		{name: "too few points", x: first(mm1(19, 0, 98, 0, 6)), y: second(mm1(19, 0, 98, 0, 6)), above: above, wantOK: false},
		{name: "too few finite points", x: append(series("_x10"), first(mm1(15, 0, 98, 0, 7))...), y: append(series("1x10"), second(mm1(15, 0, 98, 0, 7))...), above: above, wantOK: false},
		{name: "clean split", x: series("0+1x29"), y: series("0.1x20 1x10"), above: above, want: 19.5, tol: 1e-12, wantOK: true},
		{name: "all breach", x: series("0+1x29"), y: series("1x30"), above: above, want: 0, tol: 1e-12, wantOK: true},
		{name: "misclassified point", x: series("0+1x29"), y: series("0.1x10 1 0.1x9 1 0.1 1x8"), above: above, want: 19.5, tol: 1e-12, wantOK: true},
		{name: "breach unrelated to load", x: series("0+1x29"), y: series("0.1x5 1 0.1x24"), above: above, wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := BreachLevel(tc.x, tc.y, tc.above)
			if ok != tc.wantOK {
				t.Fatalf("BreachLevel = %v, %v, want ok %v", got, ok, tc.wantOK)
			}
			if ok && !scalar.EqualWithinAbs(got, tc.want, tc.tol) {
				t.Errorf("BreachLevel = %v, want %v ± %v", got, tc.want, tc.tol)
			}
		})
	}
}

func first(x, _ []float64) []float64  { return x }
func second(_, y []float64) []float64 { return y }

func TestBreachLevelPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on length mismatch")
		}
	}()
	BreachLevel([]float64{1}, nil, 1)
}
