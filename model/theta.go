package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat"
)

// Theta is the Theta method of Assimakopoulos & Nikolopoulos (2000) as the
// M4 competition's benchmark implements it. The series is first seasonally
// adjusted when it passes the seasonality test (Seasonal) at the period m:
// x = y/s by classical multiplicative decomposition (Decompose), or
// x = y − s by the additive one when some observation is ≤ 0. Then, with
// the least-squares line a + b·t through x (the θ=0 line) and simple
// exponential smoothing of the θ=2 line
//
//	θ₂(t) = 2x(t) − (a + b·t),   ℓ(t) = ℓ(t-1) + α (θ₂(t) − ℓ(t-1)),
//
// the forecast is the equal-weight combination of the two lines,
//
//	x̂(T+h|T) = ½ (a + b·(T+h)) + ½ ℓ(T),
//
// seasonalised again. α and the initial level ℓ(-1) minimise the squared
// one-step errors of θ₂, as R's ses does. A missing observation leaves ℓ
// unchanged (θ₂ takes its forecast). Sample paths draw the one-step errors
// e of x̂ from the in-sample pool and run x = x̂ + e, ℓ += 2αe, so the
// level random-walks like SES with drift (Hyndman & Billah 2003).
type Theta struct {
	m      int
	mult   bool
	season []float64 // seasonal indices by phase; nil when not adjusted
	a, b   float64
	alpha  float64
	level  float64
	scale  float64 // a, b, level and resid are in units of scale
	t      int     // time of the next observation
	resid  []float64
}

var _ Forecaster = (*Theta)(nil)

// Name returns "theta".
func (*Theta) Name() string { return NameTheta }

// Period returns the period of the seasonal adjustment, 0 when the series
// was not adjusted.
func (th *Theta) Period() int {
	if th.season == nil {
		return 0
	}
	return th.m
}

// Alpha returns the fitted smoothing parameter.
func (th *Theta) Alpha() float64 { return th.alpha }

func (th *Theta) seasonAt(t int) float64 {
	if th.season == nil {
		if th.mult {
			return 1
		}
		return 0
	}
	return th.season[t%th.m]
}

func (th *Theta) adjust(y float64, t int) float64 {
	if th.mult {
		return y / th.seasonAt(t)
	}
	return y - th.seasonAt(t)
}

func (th *Theta) restore(x float64, t int) float64 {
	if th.mult {
		return x * th.seasonAt(t)
	}
	return x + th.seasonAt(t)
}

// Update advances ℓ by y in O(1).
func (th *Theta) Update(y float64) {
	if x := th.adjust(y/th.scale, th.t); finite(x) {
		th.level += th.alpha * (2*x - th.a - th.b*float64(th.t) - th.level)
	}
	th.t++
}

// Forecast returns ŷ(T+1|T), …, ŷ(T+h|T).
func (th *Theta) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	for j := range out {
		t := th.t + j
		out[j] = bound(th.scale * th.restore(0.5*th.a+0.5*th.b*float64(t)+0.5*th.level, t))
	}
	return out
}

// Paths returns n sample paths of length h.
func (th *Theta) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	d := newDrawer(th.resid, rng)
	for _, path := range out {
		l := th.level
		for j := range path {
			t := th.t + j
			e := d.draw()
			path[j] = bound(th.scale * th.restore(0.5*th.a+0.5*th.b*float64(t)+0.5*l+e, t))
			l += 2 * th.alpha * e
		}
	}
	return out
}

// fitTheta fits the Theta method with period m (0 for none).
func fitTheta(y []float64, m int, bud budget) (*Theta, error) {
	if c := countFinite(y); c < 3 {
		return nil, fmt.Errorf("theta: %d finite observations, need 3: %w", c, ErrShortHistory)
	}
	th := &Theta{m: m, mult: allPositive(y), scale: maxAbs(y)}
	if m > 1 && Seasonal(y, m) {
		th.season = Decompose(y, m, th.mult)
		if !th.mult {
			for j := range th.season {
				th.season[j] /= th.scale
			}
		}
	}
	// Work in units of the largest magnitude, so that values near the
	// float64 limits cannot overflow the regression or θ₂.
	x := make([]float64, len(y))
	var ts, xs []float64
	for t, v := range y {
		x[t] = th.adjust(v/th.scale, t)
		if finite(x[t]) {
			ts = append(ts, float64(t))
			xs = append(xs, x[t])
		}
	}
	if len(xs) < 3 {
		return nil, fmt.Errorf("theta: %d finite adjusted observations, need 3: %w", len(xs), ErrShortHistory)
	}
	th.a, th.b = stat.LinearRegression(ts, xs, nil, false)
	theta2 := make([]float64, len(x))
	for t, v := range x {
		theta2[t] = 2*v - (th.a + th.b*float64(t))
	}
	first := xs[0]*2 - th.a - th.b*ts[0]
	sd := math.Max(stat.StdDev(xs, nil), 1e-12)
	ses := func(alpha, l0 float64, resid *[]float64) float64 {
		l := l0
		var sse float64
		var k int
		for _, v := range theta2 {
			if !finite(v) {
				continue
			}
			e := v - l
			sse += e * e
			k++
			if resid != nil {
				// The one-step error of x̂ = ½(a+bt) + ½ℓ is e/2.
				*resid = append(*resid, e/2)
			}
			l += alpha * e
		}
		if resid == nil {
			return sse / float64(k)
		}
		return l
	}
	objective := func(u []float64) float64 {
		v := ses(logistic(u[0], smoothLo, smoothHi), first+u[1]*sd, nil)
		if !finite(v) {
			return math.MaxFloat64
		}
		return v
	}
	u, err := minimize(objective, []float64{toUnbounded(0.3, smoothLo, smoothHi), 0}, budget{evals: max(bud.evals/3, 20), tol: bud.tol})
	if err != nil {
		return nil, fmt.Errorf("fit theta: %w", err)
	}
	th.alpha = logistic(u[0], smoothLo, smoothHi)
	var resid []float64
	th.level = ses(th.alpha, first+u[1]*sd, &resid)
	th.t = len(y)
	th.resid = resid
	return th, nil
}
