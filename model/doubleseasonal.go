package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DoubleSeasonalParams are the parameters of a DoubleSeasonal model, in
// error-correction form. A fit keeps Alpha, Delta and Omega in (0, 1) and
// Phi in [0, PhiARHi].
type DoubleSeasonalParams struct {
	Alpha float64 // level smoothing α
	Delta float64 // smoothing δ of the shorter season
	Omega float64 // smoothing ω of the longer season
	Phi   float64 // first-order autocorrelation φ of the errors
}

// PhiARHi bounds the error autocorrelation φ of a DoubleSeasonal fit.
const PhiARHi = 0.98

// DoubleSeasonal is Taylor's double seasonal Holt-Winters method (J. W.
// Taylor, "Short-term electricity demand forecasting using double seasonal
// exponential smoothing", JORS 54, 2003): a level and two additive seasons,
// d of period m₁ (a day) and w of period m₂ (a week), and a first-order
// autoregressive adjustment of the one-step error. In error-correction form,
// with r the unadjusted error,
//
//	μ(t) = ℓ(t-1) + d(t-m₁) + w(t-m₂)
//	r(t) = y(t) - μ(t)
//	ŷ(t|t-1) = μ(t) + φ r(t-1),  e(t) = y(t) - ŷ(t|t-1)
//	ℓ(t) = ℓ(t-1) + α r(t)
//	d(t) = d(t-m₁) + δ r(t)
//	w(t) = w(t-m₂) + ω r(t)
//
// and the h-step forecast from time T is
//
//	ŷ(T+h|T) = ℓ(T) + d(T+h-m₁k₁) + w(T+h-m₂k₂) + φʰ r(T),
//
// with k the least number of whole periods that brings the index to T or
// before. The parameters minimise the mean squared e. There is no trend
// term: over the horizons of load forecasting the level and the weekly
// season absorb it (Taylor 2003).
//
// Initial state, from the first two long periods: ℓ the mean of their finite
// observations, d(j) the mean deviation from ℓ at phase j of the short
// period, w(j) the mean remaining deviation at phase j of the long period,
// each centred to sum to zero. Missing observations are filled with the
// one-step forecast (r = e = 0) and add nothing to the fit or the residual
// pool; sample paths draw e from that pool and run the equations above.
// As in HoltWinters, y is mapped to (y - c)/r internally.
type DoubleSeasonal struct {
	p             DoubleSeasonalParams
	m1, m2        int
	center, scale float64

	level float64
	d, w  []float64 // seasonal rings
	pos1  int
	pos2  int
	lastR float64 // r(T)
	resid []float64
}

var _ Forecaster = (*DoubleSeasonal)(nil)

// Name returns "double-seasonal".
func (*DoubleSeasonal) Name() string { return NameDoubleSeasonal }

// Period returns the shorter seasonal period.
func (ds *DoubleSeasonal) Period() int { return ds.m1 }

// Periods returns both seasonal periods, shorter first.
func (ds *DoubleSeasonal) Periods() [2]int { return [2]int{ds.m1, ds.m2} }

// Params returns the model's parameters.
func (ds *DoubleSeasonal) Params() DoubleSeasonalParams { return ds.p }

// Update advances the state by y in O(1).
func (ds *DoubleSeasonal) Update(y float64) {
	z := (y - ds.center) / ds.scale
	mu := ds.level + ds.d[ds.pos1] + ds.w[ds.pos2]
	var r float64
	if finite(z) {
		r = z - mu
	} else {
		r = ds.p.Phi * ds.lastR // the adjusted forecast: e = 0
	}
	ds.level += ds.p.Alpha * r
	ds.d[ds.pos1] += ds.p.Delta * r
	ds.w[ds.pos2] += ds.p.Omega * r
	ds.lastR = r
	ds.pos1 = (ds.pos1 + 1) % ds.m1
	ds.pos2 = (ds.pos2 + 1) % ds.m2
}

// Forecast returns ŷ(T+1|T), …, ŷ(T+h|T).
func (ds *DoubleSeasonal) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	i1, i2 := ds.pos1, ds.pos2
	ar := ds.lastR
	for j := range out {
		ar *= ds.p.Phi
		out[j] = bound(ds.center + ds.scale*(ds.level+ds.d[i1]+ds.w[i2]+ar))
		if i1++; i1 == ds.m1 {
			i1 = 0
		}
		if i2++; i2 == ds.m2 {
			i2 = 0
		}
	}
	return out
}

// Paths returns n sample paths of length h from the state equations with
// e drawn from the in-sample residuals.
func (ds *DoubleSeasonal) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	res := newDrawer(ds.resid, rng)
	var fresh1, fresh2 []float64
	if h > ds.m1 {
		fresh1 = make([]float64, h)
	}
	if h > ds.m2 {
		fresh2 = make([]float64, h)
	}
	p := ds.p
	for _, path := range out {
		l, rPrev := ds.level, ds.lastR
		i1, i2 := ds.pos1, ds.pos2
		for j := range path {
			var d, w float64
			if j < ds.m1 {
				d = ds.d[i1]
				if i1++; i1 == ds.m1 {
					i1 = 0
				}
			} else {
				d = fresh1[j-ds.m1]
			}
			if j < ds.m2 {
				w = ds.w[i2]
				if i2++; i2 == ds.m2 {
					i2 = 0
				}
			} else {
				w = fresh2[j-ds.m2]
			}
			r := p.Phi*rPrev + res.draw()
			path[j] = bound(ds.center + ds.scale*(l+d+w+r))
			l += p.Alpha * r
			if fresh1 != nil {
				fresh1[j] = d + p.Delta*r
			}
			if fresh2 != nil {
				fresh2[j] = w + p.Omega*r
			}
			rPrev = r
		}
	}
	return out
}

type dsInit struct {
	level float64
	d, w  []float64
}

func initDoubleSeasonal(z []float64, m1, m2 int) dsInit {
	n := min(len(z), 2*m2)
	var level float64
	var c int
	for _, v := range z[:n] {
		if finite(v) {
			level += v
			c++
		}
	}
	if c > 0 {
		level /= float64(c)
	}
	d := make([]float64, m1)
	w := make([]float64, m2)
	// centred sets out to the phase means of dev, centred to sum to zero.
	centred := func(out []float64, m int, dev func(t int) float64) {
		sum := make([]float64, m)
		cnt := make([]int, m)
		for t, v := range z[:n] {
			if finite(v) {
				sum[t%m] += dev(t)
				cnt[t%m]++
			}
		}
		if mean, ok := phaseMeans(out, sum, cnt); ok {
			for j := range out {
				if cnt[j] > 0 {
					out[j] -= mean
				}
			}
		}
	}
	centred(d, m1, func(t int) float64 { return z[t] - level })
	centred(w, m2, func(t int) float64 { return z[t] - level - d[t%m1] })
	return dsInit{level: level, d: d, w: w}
}

// runDouble filters z and returns the mean squared adjusted one-step error.
// The state slices hold the initial state on entry and the final one on
// return.
func runDouble(z []float64, p DoubleSeasonalParams, level *float64, d, w []float64, lastR *float64, resid *[]float64, huber float64) float64 {
	l := *level
	m1, m2 := len(d), len(w)
	var sse float64
	var n, i1, i2 int
	rPrev := 0.0
	for _, v := range z {
		mu := l + d[i1] + w[i2]
		var r float64
		if finite(v) {
			r = v - mu
			e := r - p.Phi*rPrev
			sse += loss(e, huber)
			n++
			if resid != nil {
				*resid = append(*resid, e)
			}
		} else {
			r = p.Phi * rPrev
		}
		l += p.Alpha * r
		d[i1] += p.Delta * r
		w[i2] += p.Omega * r
		rPrev = r
		if i1++; i1 == m1 {
			i1 = 0
		}
		if i2++; i2 == m2 {
			i2 = 0
		}
	}
	*level, *lastR = l, rPrev
	if n == 0 {
		return 0
	}
	return sse / float64(n)
}

func dsParamsOf(u []float64) DoubleSeasonalParams {
	a := logistic(u[0], smoothLo, smoothHi)
	return DoubleSeasonalParams{
		Alpha: a,
		Delta: (1 - a) * logistic(u[1], smoothLo, smoothHi),
		Omega: (1 - a) * logistic(u[2], smoothLo, smoothHi),
		Phi:   logistic(u[3], 0, PhiARHi),
	}
}

func checkDoubleSeasonal(y []float64, m1, m2 int) error {
	if m1 <= 1 || m2 <= m1 {
		return fmt.Errorf("double-seasonal: periods %d and %d: %w", m1, m2, ErrSettings)
	}
	if c := countFinite(y); c < 2 {
		return fmt.Errorf("double-seasonal: %d finite observations, need 2: %w", c, ErrShortHistory)
	}
	if len(y) < 2*m2 {
		return fmt.Errorf("double-seasonal: %d observations, need 2 periods of %d: %w", len(y), m2, ErrShortHistory)
	}
	return nil
}

// fitDoubleSeasonal fits α, δ* = δ/(1-α), ω* = ω/(1-α) in [1e-4, 0.9999]
// and φ in [0, PhiARHi] with Nelder-Mead from α = 0.1, δ* = ω* = 0.1,
// φ = 0.5, within bud (Huber's loss when bud.huber > 0, as fitHoltWinters).
func fitDoubleSeasonal(y []float64, m1, m2 int, bud budget) (*DoubleSeasonal, error) {
	if err := checkDoubleSeasonal(y, m1, m2); err != nil {
		return nil, err
	}
	shell, z := newScaled(y, 0)
	init := initDoubleSeasonal(z, m1, m2)
	d, w := make([]float64, m1), make([]float64, m2)
	u0 := []float64{toUnbounded(0.1, smoothLo, smoothHi), toUnbounded(0.1, smoothLo, smoothHi),
		toUnbounded(0.1, smoothLo, smoothHi), toUnbounded(0.5, 0, PhiARHi)}
	var c float64
	if bud.huber > 0 {
		l, r := init.level, 0.0
		copy(d, init.d)
		copy(w, init.w)
		var resid []float64
		runDouble(z, dsParamsOf(u0), &l, d, w, &r, &resid, 0)
		c = bud.huber * robustScale(resid)
	}
	objective := func(u []float64) float64 {
		p := dsParamsOf(u)
		l, r := init.level, 0.0
		copy(d, init.d)
		copy(w, init.w)
		mse := runDouble(z, p, &l, d, w, &r, nil, c)
		if !finite(mse) {
			return math.MaxFloat64
		}
		return mse
	}
	x, err := minimize(objective, u0, bud)
	if err != nil {
		return nil, fmt.Errorf("fit double-seasonal: %w", err)
	}
	ds := &DoubleSeasonal{p: dsParamsOf(x), m1: m1, m2: m2, center: shell.center, scale: shell.scale,
		level: init.level, d: init.d, w: init.w}
	ds.resid = make([]float64, 0, countFinite(z))
	runDouble(z, ds.p, &ds.level, ds.d, ds.w, &ds.lastR, &ds.resid, 0)
	ds.pos1, ds.pos2 = len(z)%m1, len(z)%m2
	return ds, nil
}
