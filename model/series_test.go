package model

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// series expands a compact series notation, space separated:
//
//	1.5      one value
//	_        one missing value (NaN)
//	0.9x5    0.9 five times
//	_x3      three missing values
//	1+2x3    1, 3, 5, 7 (start, increment, then 3 more, as promqltest)
//
// It panics on malformed input: it is for hand-written test cases.
func series(s string) []float64 {
	var out []float64
	for _, tok := range strings.Fields(s) {
		val, times, hasTimes := strings.Cut(tok, "x")
		n := 1
		if hasTimes {
			var err error
			if n, err = strconv.Atoi(times); err != nil {
				panic(err)
			}
		}
		if val == "_" {
			for range n {
				out = append(out, math.NaN())
			}
			continue
		}
		start, inc, hasInc := strings.Cut(val, "+")
		a := mustFloat(start)
		if !hasInc {
			for range n {
				out = append(out, a)
			}
			continue
		}
		d := mustFloat(inc)
		for i := 0; i <= n; i++ {
			out = append(out, a+float64(i)*d)
		}
	}
	return out
}

func mustFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return v
}

func TestSeries(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []float64
	}{
		{name: "empty", in: "", want: nil},
		{name: "values", in: "1 2.5 -3", want: []float64{1, 2.5, -3}},
		{name: "repeat", in: "0.2x3 1", want: []float64{0.2, 0.2, 0.2, 1}},
		{name: "missing", in: "1 _ _x2", want: []float64{1, math.NaN(), math.NaN(), math.NaN()}},
		{name: "increment", in: "1+2x3", want: []float64{1, 3, 5, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := series(tc.in)
			if !equalSlices(got, tc.want, 0) {
				t.Errorf("series(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// equalSlices compares element-wise within tol (absolute or relative); NaN
// equals NaN.
func equalSlices(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) && math.IsNaN(b[i]) {
			continue
		}
		if a[i] != b[i] && !scalar.EqualWithinAbsOrRel(a[i], b[i], tol, tol) {
			return false
		}
	}
	return true
}

// seasonal returns n steps of level + slope·t + amp·sin(2πt/period) plus
// Gaussian noise of standard deviation sd, seeded.
func seasonal(n, period int, level, slope, amp, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed))
	y := make([]float64, n)
	for t := range y {
		y[t] = level + slope*float64(t) + amp*math.Sin(2*math.Pi*float64(t)/float64(period)) + sd*rng.NormFloat64()
	}
	return y
}

func mse(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s / float64(len(a))
}
