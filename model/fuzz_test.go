package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// fuzzSeries decodes data two bytes per observation: the first byte picks
// the kind (plain value, missing, infinite, huge, tiny), the second the
// value; every value is then multiplied by scale.
func fuzzSeries(data []byte, scale float64) []float64 {
	y := make([]float64, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		kind, b := data[i], float64(data[i+1])
		var v float64
		switch {
		case kind < 200:
			v = b - 64
		case kind < 215:
			v = math.NaN()
		case kind < 222:
			v = math.Inf(1)
		case kind < 229:
			v = math.Inf(-1)
		case kind < 242:
			v = (b - 128) * 1e300
		default:
			v = b * 1e-300
		}
		y = append(y, v*scale)
	}
	return y
}

// FuzzFit checks that no input makes Fit, Update, Forecast or Paths panic,
// that Fit fails only with the package's errors, and that a fitted model
// never forecasts NaN or ±Inf.
func FuzzFit(f *testing.F) {
	seed := func(pattern []byte, n int) []byte {
		out := make([]byte, 0, 2*n)
		for i := range n {
			out = append(out, pattern[(2*i)%len(pattern)], pattern[(2*i+1)%len(pattern)])
		}
		return out
	}
	f.Add(seed([]byte{0, 70, 0, 90, 0, 120, 0, 80}, 200), 4, uint8(0), 1.0, uint8(8))
	f.Add(seed([]byte{0, 70, 0, 90, 0, 120, 0, 80}, 200), 4, uint8(1), 1.0, uint8(8))
	f.Add(seed([]byte{0, 70, 0, 90, 0, 120, 0, 80}, 120), 4, uint8(2), 1e305, uint8(30))
	f.Add(seed([]byte{0, 100, 0, 100}, 80), 7, uint8(3), 1.0, uint8(5))
	f.Add(seed([]byte{0, 100, 210, 0, 0, 120}, 90), 3, uint8(4), -2.0, uint8(5))
	f.Add(seed([]byte{230, 255, 230, 0, 0, 1}, 90), 3, uint8(5), 1.0, uint8(12))
	f.Add(seed([]byte{245, 7, 0, 64, 250, 9}, 90), 3, uint8(6), 1.0, uint8(12))
	f.Add(seed([]byte{0, 65, 0, 66, 0, 200, 0, 70}, 300), 4, uint8(7), 1.0, uint8(9))
	f.Add(seed([]byte{0, 65, 220, 0, 0, 200}, 300), 2, uint8(8), 1.0, uint8(9))
	f.Add(seed([]byte{0, 90, 0, 91}, 40), 0, uint8(9), 1.0, uint8(3))
	f.Add([]byte{0, 1, 0, 2, 0, 3}, 1, uint8(0), 1.0, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, period int, which uint8, scale float64, h uint8) {
		if len(data) > 4000 {
			data = data[:4000]
		}
		y := fuzzSeries(data, scale)
		names := Names()
		s := Settings{
			Model:          names[int(which)%len(names)],
			Period:         period % 100,
			MaxEvaluations: 60,
			Horizon:        int(h % 50),
		}
		if period%3 == 0 && s.Period > 1 {
			s.Periods = []int{2 * s.Period}
		}
		fc, err := Fit(y, s)
		if err != nil {
			if !errors.Is(err, ErrShortHistory) && !errors.Is(err, ErrSettings) {
				t.Fatalf("Fit(%v, %+v): unexpected error %v", y, s, err)
			}
			return
		}
		check := func(when string, v []float64) {
			for i, x := range v {
				if !finite(x) {
					t.Fatalf("%s: %s[%d] = %v for y = %v, %+v", fc.Name(), when, i, x, y, s)
				}
			}
		}
		steps := int(h%60) + 1
		check("forecast", fc.Forecast(steps))
		for _, p := range fc.Paths(steps, 5, rand.New(rand.NewPCG(1, 2))) {
			for i, x := range p {
				if math.IsNaN(x) {
					t.Fatalf("%s: path[%d] is NaN for y = %v, %+v", fc.Name(), i, y, s)
				}
			}
		}
		fc.Update(math.NaN())
		fc.Update(math.Inf(-1))
		if len(y) > 0 {
			fc.Update(y[len(y)-1])
		}
		check("forecast after update", fc.Forecast(steps))
	})
}
