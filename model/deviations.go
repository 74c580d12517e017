package model

import "math/rand/v2"

// deviator is a Forecaster whose sample paths are its point forecast plus
// deviations that do not depend on its state (see DeviationsInto).
type deviator interface {
	deviationsInto(out [][]float64, rng *rand.Rand)
}

var (
	_ deviator = (*HoltWinters)(nil)
	_ deviator = (*Naive)(nil)
	_ deviator = (*SeasonalNaive)(nil)
)

// DeviationsInto fills out (paths of len(out[0]) steps, as for PathsInto)
// with sample deviations of f from its point forecast, and reports whether
// f's paths have that form. For the additive models (Holt-Winters with
// additive season, Naive, SeasonalNaive) a sample path is
//
//	path(j) = ŷ(T+j|T) + d(j)
//
// where the deviation d is the state equations' response to the drawn
// residuals alone, starting from a zero state: it depends on the model's
// parameters and residual pool, not on its level, trend, season or last
// observations. So deviations drawn once hold for every step until the
// model is refitted: f.Forecast(h)[j] + out[i][j], after any number of
// Updates, is a sample path of f then, the one PathsInto draws with the
// same random values (up to rounding). Using the same deviations at every
// step is the method of common random numbers: each step's breach risk is
// still an estimate over independent paths, and the steps' estimates move
// with the forecast rather than with fresh sampling noise.
//
// For the other models (multiplicative season, log scale, combinations,
// known events) DeviationsInto returns false and leaves out as it was.
func DeviationsInto(f Forecaster, out [][]float64, rng *rand.Rand) bool {
	d, ok := f.(deviator)
	if !ok {
		return false
	}
	if len(out) > 0 && len(out[0]) > 0 {
		d.deviationsInto(out, rng)
	}
	return true
}

// deviationsInto draws paths of the model with its state and centre at
// zero.
func (hw *HoltWinters) deviationsInto(out [][]float64, rng *rand.Rand) {
	z := *hw
	z.level, z.trend, z.center, z.pos = 0, 0, 0, 0
	if hw.m > 0 {
		z.season = make([]float64, hw.m)
	}
	z.fillPaths(out, rng)
}

func (nv *Naive) deviationsInto(out [][]float64, rng *rand.Rand) {
	z := Naive{resid: nv.resid}
	z.fillPaths(out, rng)
}

func (sn *SeasonalNaive) deviationsInto(out [][]float64, rng *rand.Rand) {
	z := SeasonalNaive{ring: make([]float64, len(sn.ring)), resid: sn.resid}
	z.fillPaths(out, rng)
}

// forecasterInto is a Forecaster that writes its forecast into the caller's
// memory.
type forecasterInto interface {
	forecastInto(out []float64)
}

var (
	_ forecasterInto = (*HoltWinters)(nil)
	_ forecasterInto = (*Naive)(nil)
	_ forecasterInto = (*SeasonalNaive)(nil)
)

// ForecastInto writes f.Forecast(len(out)) into out: without allocating
// for Holt-Winters and the naive models, by a copy for the others.
func ForecastInto(f Forecaster, out []float64) {
	if len(out) == 0 {
		return
	}
	if fi, ok := f.(forecasterInto); ok {
		fi.forecastInto(out)
		return
	}
	copy(out, f.Forecast(len(out)))
}
