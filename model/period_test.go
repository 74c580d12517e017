package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDetectPeriod(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	seasonal := func(n, m int, noise float64) []float64 {
		y := make([]float64, n)
		for i := range y {
			y[i] = 10 + 3*math.Sin(2*math.Pi*float64(i)/float64(m)) + noise*rng.NormFloat64()
		}
		return y
	}
	tests := []struct {
		name   string
		y      []float64
		max    int
		want   int
		wantOK bool
	}{
		{name: "hourly daily", y: seasonal(24*14, 24, 0.5), want: 24, wantOK: true},
		{name: "minutely daily", y: seasonal(1440*3, 1440, 0.5), want: 1440, wantOK: true},
		{name: "bounded search misses long period", y: seasonal(1440*3, 1440, 0.5), max: 600, wantOK: false},
		{name: "noise has no period", y: seasonal(500, 1e9, 1), wantOK: false},
		{name: "constant", y: seasonal(100, 10, 0)[:0:0], wantOK: false},
		{name: "too short", y: []float64{1, 2, 3}, wantOK: false},
		{name: "with gaps", y: func() []float64 {
			y := seasonal(24*14, 24, 0.5)
			for i := 5; i < len(y); i += 17 {
				y[i] = math.NaN()
			}
			return y
		}(), want: 24, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DetectPeriod(tt.y, tt.max)
			// A noisy flat-topped peak may sit a lag or so off.
			if ok != tt.wantOK || (ok && math.Abs(float64(got-tt.want)) > 0.01*float64(tt.want)) {
				t.Errorf("DetectPeriod = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func BenchmarkDetectPeriod10080(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	y := make([]float64, 10080)
	for i := range y {
		y[i] = 10 + 3*math.Sin(2*math.Pi*float64(i)/1440) + rng.NormFloat64()
	}
	for b.Loop() {
		DetectPeriod(y, 0)
	}
}
