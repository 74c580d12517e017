package model

import (
	"math"
	"math/rand/v2"
)

// NameKnown is the name of the Known forecaster.
const NameKnown = "known"

// Known is a perfect forecast: it knows the series' values ahead of time
// and forecasts them, with no spread. It is not fitted; a replay gives it
// the series its plant will produce, to bound what any forecast could buy
// (the clairvoyant policy).
//
// After n Updates, Forecast(h) returns Values[n], …, Values[n+h-1] (NaN
// past the end), and every sample path is that forecast.
type Known struct {
	Values []float64
	n      int
}

// Name returns "known".
func (*Known) Name() string { return NameKnown }

// Update counts one more observation; its value is not read.
func (k *Known) Update(float64) { k.n++ }

// Forecast returns the next h values.
func (k *Known) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	k.forecastInto(out)
	return out
}

func (k *Known) forecastInto(out []float64) {
	for j := range out {
		out[j] = math.NaN()
		if i := k.n + j; i < len(k.Values) {
			out[j] = k.Values[i]
		}
	}
}

// Paths returns n copies of the forecast.
func (k *Known) Paths(h, n int, _ *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := NewPaths(h, n)
	for _, p := range out {
		k.forecastInto(p)
	}
	return out
}

// deviationsInto: a perfect forecast has no deviations.
func (k *Known) deviationsInto(out [][]float64, _ *rand.Rand) {
	for _, p := range out {
		clear(p)
	}
}
