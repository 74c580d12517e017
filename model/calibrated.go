package model

import "math/rand/v2"

// Calibrated is a model whose sample paths are rescaled around its
// forecast ŷ: path i is
//
//	ŷ(T+j) + cᵢ·(pathᵢ(j) − ŷ(T+j)),  cᵢ = Scales[i mod len(Scales)],
//
// with pathᵢ the model's own. Fit's automatic choice returns one, with a
// factor per backtest origin (see Fit): the spread of the bootstrap is
// matched to the errors the model actually made, and cycling through the
// origins' factors mixes their uncertainty into the paths. For models
// linear in their errors (all but the multiplicative seasons) scaling the
// deviations is the same as scaling the residuals that drive the paths.
// Name, Update and Forecast are the model's; nil or empty Scales leave the
// paths unchanged.
type Calibrated struct {
	Forecaster
	Scales []float64
}

var _ Forecaster = (*Calibrated)(nil)

// Paths returns the model's paths with their deviations from the forecast
// scaled.
func (c *Calibrated) Paths(h, n int, rng *rand.Rand) [][]float64 {
	out := c.Forecaster.Paths(h, n, rng)
	if len(out) == 0 || len(c.Scales) == 0 {
		return out
	}
	fc := c.Forecaster.Forecast(h)
	for i, p := range out {
		k := c.Scales[i%len(c.Scales)]
		for j := range p {
			p[j] = bound(recentre(p[j], fc[j], fc[j], k))
		}
	}
	return out
}

// recentre returns to + k·(v − from), in halves so that values near the
// float64 limits do not overflow on the way.
func recentre(v, from, to, k float64) float64 {
	return to + 2*k*(v/2-from/2)
}
