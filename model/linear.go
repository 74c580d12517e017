package model

import (
	"fmt"
	"math/rand/v2"
)

// LinearTrend is a least-squares line with additive seasonal terms,
//
//	y(t) = a + b·t + s(t mod m) + e(t),  Σ s = 0,
//
// fitted over the finite observations (seasonal terms only when the series
// covers two periods m). With seasonal dummies the slope is the pooled
// within-phase regression
//
//	b = Σ (t − t̄ₚ)(y(t) − ȳₚ) / Σ (t − t̄ₚ)²,  s(p) + a = ȳₚ − b·t̄ₚ,
//
// where p is the phase of t and t̄ₚ, ȳₚ its means. The forecast extends the
// line; sample paths add errors drawn from the residuals, independently at
// each step. Update only advances t: the line does not adapt until a refit.
type LinearTrend struct {
	m      int
	a, b   float64
	season []float64 // nil when not seasonal
	scale  float64
	t      int
	resid  []float64
}

var _ Forecaster = (*LinearTrend)(nil)

// Name returns "linear-trend".
func (*LinearTrend) Name() string { return NameLinearTrend }

// Period returns the seasonal period, 0 when not seasonal.
func (lt *LinearTrend) Period() int {
	if lt.season == nil {
		return 0
	}
	return lt.m
}

// Line returns the intercept a (at t = 0, the first observation of the
// fit) and the slope b per step, in the units of y.
func (lt *LinearTrend) Line() (a, b float64) { return lt.a * lt.scale, lt.b * lt.scale }

func (lt *LinearTrend) mean(t int) float64 {
	v := lt.a + lt.b*float64(t)
	if lt.season != nil {
		v += lt.season[t%lt.m]
	}
	return v
}

// Update advances the time index.
func (lt *LinearTrend) Update(float64) { lt.t++ }

// Forecast returns a + b·t + s for t = T+1, …, T+h.
func (lt *LinearTrend) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	for j := range out {
		out[j] = bound(lt.scale * lt.mean(lt.t+j))
	}
	return out
}

// Paths returns the forecast plus residuals drawn independently.
func (lt *LinearTrend) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	d := newDrawer(lt.resid, rng)
	for _, path := range out {
		for j := range path {
			path[j] = bound(lt.scale * (lt.mean(lt.t+j) + d.draw()))
		}
	}
	return out
}

func fitLinearTrend(y []float64, m int) (*LinearTrend, error) {
	if c := countFinite(y); c < 2 {
		return nil, fmt.Errorf("linear-trend: %d finite observations, need 2: %w", c, ErrShortHistory)
	}
	lt := &LinearTrend{m: max(m, 1), scale: maxAbs(y), t: len(y)}
	k := 1
	if m > 1 && len(y) >= 2*m {
		k = m
	}
	sumT := make([]float64, k)
	sumY := make([]float64, k)
	cnt := make([]float64, k)
	for t, v := range y {
		if finite(v) {
			p := t % k
			sumT[p] += float64(t)
			sumY[p] += v / lt.scale
			cnt[p]++
		}
	}
	var sxy, sxx float64
	for t, v := range y {
		if finite(v) {
			p := t % k
			dt := float64(t) - sumT[p]/cnt[p]
			sxy += dt * (v/lt.scale - sumY[p]/cnt[p])
			sxx += dt * dt
		}
	}
	if sxx > 0 {
		lt.b = sxy / sxx
	}
	// Intercepts per phase; a is their mean, s the deviations.
	icpt := make([]float64, k)
	var total float64
	var phases int
	for p := range icpt {
		if cnt[p] > 0 {
			icpt[p] = sumY[p]/cnt[p] - lt.b*sumT[p]/cnt[p]
			total += icpt[p]
			phases++
		}
	}
	lt.a = total / float64(phases)
	if k > 1 {
		lt.season = make([]float64, k)
		for p := range icpt {
			if cnt[p] > 0 {
				lt.season[p] = icpt[p] - lt.a
			}
		}
	}
	for t, v := range y {
		if finite(v) {
			lt.resid = append(lt.resid, v/lt.scale-lt.mean(t))
		}
	}
	return lt, nil
}
