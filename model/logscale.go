package model

import (
	"math"
	"math/rand/v2"
)

// LogScale is a model of log y: it is fitted to log y(t), updated with
// log y, and its forecasts and paths are exponentiated,
//
//	ŷ(T+h|T) = exp(x̂(T+h|T)),  x = log y,
//
// so additive errors, seasons and trends of x are multiplicative in y, and
// forecasts and paths stay positive. exp of the point forecast of x is the
// median forecast of y, not the mean, which is what absolute and
// percentage errors reward. It needs every finite observation to be > 0;
// Update reads a y ≤ 0 as missing. Results beyond the float64 range are
// clamped to it.
type LogScale struct {
	Forecaster // the model of log y
}

var _ Forecaster = (*LogScale)(nil)

// Update advances the model of log y by log y.
func (l *LogScale) Update(y float64) {
	if !(y > 0) {
		y = math.NaN()
	}
	l.Forecaster.Update(math.Log(y))
}

// Forecast returns exp of the model's forecast.
func (l *LogScale) Forecast(h int) []float64 {
	out := l.Forecaster.Forecast(h)
	for j, v := range out {
		out[j] = expClamped(v)
	}
	return out
}

// Paths returns exp of the model's paths.
func (l *LogScale) Paths(h, n int, rng *rand.Rand) [][]float64 {
	out := l.Forecaster.Paths(h, n, rng)
	for _, p := range out {
		for j, v := range p {
			p[j] = expClamped(v)
		}
	}
	return out
}

func expClamped(v float64) float64 {
	if math.IsNaN(v) {
		return v
	}
	return math.Min(math.Exp(v), math.MaxFloat64)
}

// logOf returns log y, with NaN for the values ≤ 0.
func logOf(y []float64) []float64 {
	out := make([]float64, len(y))
	for i, v := range y {
		if v > 0 {
			out[i] = math.Log(v)
		} else {
			out[i] = math.NaN()
		}
	}
	return out
}
