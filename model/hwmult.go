package model

import (
	"fmt"
	"math/rand/v2"
)

// HoltWintersMult is Holt-Winters exponential smoothing with multiplicative
// season and damped trend, ETS(A,Ad,M) in Hyndman & Athanasopoulos,
// "Forecasting: Principles and Practice" (3rd ed., section 8.5). With
// period m, level ℓ, trend b and season s (indices around 1), one step is
//
//	μ(t)  = (ℓ(t-1) + φ b(t-1)) s(t-m)
//	e(t)  = y(t) - μ(t)
//	ℓ(t)  = ℓ(t-1) + φ b(t-1) + α e(t)/s(t-m)
//	b(t)  = φ b(t-1) + β e(t)/s(t-m)
//	s(t)  = s(t-m) + γ e(t)/(ℓ(t-1) + φ b(t-1))
//
// and the h-step forecast from time T is
//
//	ŷ(T+h|T) = (ℓ(T) + (φ + … + φʰ) b(T)) s(T+h-m(k+1)),  k = ⌊(h-1)/m⌋.
//
// The season scales with the level, as in load that swings by a share of
// its daily mean. The model needs every finite observation to be > 0.
// Internally y is divided by the mean of its finite observations (the model
// is scale-equivariant). Missing observations are filled with the one-step
// forecast, as in HoltWinters. Divisors are kept at or above 1e-6 of the
// mean so that a level driven to zero cannot make the state infinite.
type HoltWintersMult struct {
	p     HoltWintersParams
	m     int
	scale float64

	level, trend float64
	season       []float64
	pos          int
	resid        []float64
}

var _ Forecaster = (*HoltWintersMult)(nil)

// tiny is the least divisor of the multiplicative models, in units of the
// series mean.
const tiny = 1e-6

// atLeastTiny returns max(v, tiny), NaN as tiny; faster than math.Max.
func atLeastTiny(v float64) float64 {
	if v > tiny {
		return v
	}
	return tiny
}

// Name returns "holt-winters-mult".
func (*HoltWintersMult) Name() string { return NameHoltWintersMult }

// Period returns the seasonal period in steps.
func (hw *HoltWintersMult) Period() int { return hw.m }

// Params returns the model's parameters.
func (hw *HoltWintersMult) Params() HoltWintersParams { return hw.p }

// Update advances the state by y in O(1).
func (hw *HoltWintersMult) Update(y float64) {
	z := y / hw.scale
	s := hw.season[hw.pos]
	f := hw.level + hw.p.Phi*hw.trend
	var e float64
	if finite(z) {
		e = z - f*s
	}
	sd, fd := atLeastTiny(s), atLeastTiny(f)
	hw.level = f + hw.p.Alpha*e/sd
	hw.trend = hw.p.Phi*hw.trend + hw.p.Beta*e/sd
	hw.season[hw.pos] = s + hw.p.Gamma*e/fd
	hw.pos++
	if hw.pos == hw.m {
		hw.pos = 0
	}
}

// Forecast returns ŷ(T+1|T), …, ŷ(T+h|T).
func (hw *HoltWintersMult) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	var phiH, phiPow float64 = 0, 1
	idx := hw.pos
	for j := range out {
		phiPow *= hw.p.Phi
		phiH += phiPow
		out[j] = bound(hw.scale * (hw.level + phiH*hw.trend) * hw.season[idx])
		idx++
		if idx == hw.m {
			idx = 0
		}
	}
	return out
}

// Paths returns n sample paths of length h: the state equations above with
// e(t) drawn with replacement from the in-sample one-step residuals.
func (hw *HoltWintersMult) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	d := newDrawer(hw.resid, rng)
	var fresh []float64
	if h > hw.m {
		fresh = make([]float64, h)
	}
	p := hw.p
	for _, path := range out {
		l, b, idx := hw.level, hw.trend, hw.pos
		for j := range path {
			var s float64
			if j < hw.m {
				s = hw.season[idx]
				idx++
				if idx == hw.m {
					idx = 0
				}
			} else {
				s = fresh[j-hw.m]
			}
			e := d.draw()
			f := l + p.Phi*b
			path[j] = bound(hw.scale * (f*s + e))
			sd, fd := atLeastTiny(s), atLeastTiny(f)
			l = f + p.Alpha*e/sd
			b = p.Phi*b + p.Beta*e/sd
			if fresh != nil {
				fresh[j] = s + p.Gamma*e/fd
			}
		}
	}
	return out
}

func checkHoltWintersMult(y []float64, m int) error {
	if m <= 1 {
		return fmt.Errorf("holt-winters-mult: period %d: %w", m, ErrSettings)
	}
	if err := checkHoltWinters(y, m); err != nil {
		return err
	}
	if !allPositive(y) {
		return fmt.Errorf("holt-winters-mult: observations must be > 0: %w", ErrSettings)
	}
	return nil
}

// newScaledMult returns the model shell and y divided by its mean.
func newScaledMult(y []float64, m int) (*HoltWintersMult, []float64) {
	var mean float64
	var c int
	big := maxAbs(y) // the largest value: y is checked > 0
	for _, v := range y {
		if finite(v) {
			mean += v / big
			c++
		}
	}
	scale := mean / float64(c) * big
	if !(scale > 0) || !finite(scale) {
		scale = big
	}
	z := make([]float64, len(y))
	for i, v := range y {
		z[i] = v / scale
	}
	return &HoltWintersMult{m: m, scale: scale, season: make([]float64, m)}, z
}

// initHoltWintersMult is initHoltWinters with seasonal ratios to the line
// instead of differences, normalised to mean 1.
func initHoltWintersMult(season, z []float64, m int) hwInit {
	add := initHoltWinters(season, z, m) // level and trend; season overwritten
	line := func(t int) float64 { return add.level + float64(t+1)*add.trend }
	var total float64
	for j := range season {
		var sum float64
		var k int
		for _, t := range [2]int{j, j + m} {
			if v, l := z[t], line(t); finite(v) && l > tiny {
				sum += v / l
				k++
			}
		}
		season[j] = 1
		if k > 0 {
			season[j] = sum / float64(k)
		}
		total += season[j]
	}
	for j := range season {
		season[j] /= total / float64(m)
	}
	return hwInit{level: add.level, trend: add.trend, season: season}
}

// runMult is run for the multiplicative model.
func runMult(z []float64, p HoltWintersParams, level, trend *float64, season []float64, resid *[]float64, huber float64) float64 {
	l, b := *level, *trend
	m := len(season)
	var sse float64
	var n, pos int
	for _, v := range z {
		s := season[pos]
		f := l + p.Phi*b
		var e float64
		if finite(v) {
			e = v - f*s
			sse += loss(e, huber)
			n++
			if resid != nil {
				*resid = append(*resid, e)
			}
		}
		sd, fd := atLeastTiny(s), atLeastTiny(f)
		l = f + p.Alpha*e/sd
		b = p.Phi*b + p.Beta*e/sd
		season[pos] = s + p.Gamma*e/fd
		pos++
		if pos == m {
			pos = 0
		}
	}
	*level, *trend = l, b
	if n == 0 {
		return 0
	}
	return sse / float64(n)
}

// fitHoltWintersMult fits α, β, γ and φ as fitHoltWinters does.
func fitHoltWintersMult(y []float64, m int, bud budget, start *HoltWintersParams) (*HoltWintersMult, error) {
	if err := checkHoltWintersMult(y, m); err != nil {
		return nil, err
	}
	hw, z := newScaledMult(y, m)
	init := initHoltWintersMult(make([]float64, m), z, m)
	p, err := searchHoltWinters(z, init, m, bud, start, runMult)
	if err != nil {
		return nil, fmt.Errorf("fit holt-winters-mult: %w", err)
	}
	hw.p = p
	hw.level, hw.trend = init.level, init.trend
	copy(hw.season, init.season)
	hw.pos = len(z) % m
	hw.resid = make([]float64, 0, countFinite(z))
	runMult(z, hw.p, &hw.level, &hw.trend, hw.season, &hw.resid, 0)
	return hw, nil
}
