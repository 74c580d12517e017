package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// Parameter bounds of a Holt-Winters fit. Alpha and the component-form
// trend and season weights β* = Beta/Alpha and γ* = Gamma/(1-Alpha) lie in
// [smoothLo, smoothHi]; Phi lies in [PhiLo, PhiHi].
const (
	smoothLo = 1e-4
	smoothHi = 0.9999
	// PhiLo and PhiHi bound the fitted damping parameter φ.
	PhiLo = 0.8
	PhiHi = 0.98
)

// HoltWintersParams are the parameters of a HoltWinters model, in
// error-correction form (see HoltWinters). A fit keeps them in
//
//	0 < Alpha < 1,  0 < Beta < Alpha,  0 < Gamma < 1 - Alpha,  PhiLo <= Phi <= PhiHi
//
// (Beta = Alpha·β* and Gamma = (1-Alpha)·γ* with β*, γ* in (0, 1)).
type HoltWintersParams struct {
	Alpha float64 // level smoothing α
	Beta  float64 // trend smoothing β (= αβ* of the component form)
	Gamma float64 // season smoothing γ; unused without a season
	Phi   float64 // trend damping φ
}

// HoltWinters is Holt-Winters exponential smoothing with additive season and
// damped trend, ETS(A,Ad,A) in Hyndman & Athanasopoulos, "Forecasting:
// Principles and Practice" (3rd ed., section 8.5). With period m, state
// level ℓ, trend b and season s, one step is
//
//	ŷ(t|t-1) = ℓ(t-1) + φ b(t-1) + s(t-m)
//	e(t)     = y(t) - ŷ(t|t-1)
//	ℓ(t)     = ℓ(t-1) + φ b(t-1) + α e(t)
//	b(t)     = φ b(t-1) + β e(t)
//	s(t)     = s(t-m) + γ e(t)
//
// and the h-step forecast from time T is
//
//	ŷ(T+h|T) = ℓ(T) + (φ + φ² + … + φʰ) b(T) + s(T+h-m(k+1)),  k = ⌊(h-1)/m⌋.
//
// Without a season (period 0) s is zero and the model is damped Holt,
// ETS(A,Ad,N).
//
// Missing observations (NaN, ±Inf) are filled with the one-step forecast:
// e(t) = 0, so the state advances on the model's own forecast, and the
// missing step adds nothing to the fit objective or to the residual pool.
//
// Internally the series is mapped to z = (y - c)/r, with c the midrange and
// r the half range of the finite observations of the fit (r = 1 for a
// constant series). The model is affine-equivariant, so this changes nothing
// but the rounding, and lets the fit and the state handle values near the
// float64 limits.
type HoltWinters struct {
	p      HoltWintersParams
	m      int
	center float64
	scale  float64

	level, trend float64
	season       []float64 // ring of the last m seasonal states; nil when m = 0
	pos          int       // index in season of s(T+1-m)
	resid        []float64 // in-sample one-step residuals, scaled
}

var _ Forecaster = (*HoltWinters)(nil)

// Name returns "holt-winters".
func (*HoltWinters) Name() string { return NameHoltWinters }

// Period returns the seasonal period in steps, 0 when non-seasonal.
func (hw *HoltWinters) Period() int { return hw.m }

// Params returns the model's parameters.
func (hw *HoltWinters) Params() HoltWintersParams { return hw.p }

// Update advances the state by y in O(1). A NaN or ±Inf y advances the
// state on its one-step forecast (e = 0).
func (hw *HoltWinters) Update(y float64) {
	z := (y - hw.center) / hw.scale
	var s float64
	if hw.m > 0 {
		s = hw.season[hw.pos]
	}
	hw.level, hw.trend, s, _, _ = step(hw.p, hw.level, hw.trend, s, z)
	if hw.m > 0 {
		hw.season[hw.pos] = s
		hw.pos++
		if hw.pos == hw.m {
			hw.pos = 0
		}
	}
}

// Forecast returns ŷ(T+1|T), …, ŷ(T+h|T).
func (hw *HoltWinters) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	hw.forecastInto(out)
	return out
}

func (hw *HoltWinters) forecastInto(out []float64) {
	var phiH, phiPow float64 = 0, 1
	idx := hw.pos
	for j := range out {
		phiPow *= hw.p.Phi
		phiH += phiPow
		z := hw.level + phiH*hw.trend
		if hw.m > 0 {
			z += hw.season[idx]
			idx++
			if idx == hw.m {
				idx = 0
			}
		}
		out[j] = bound(hw.center + hw.scale*z)
	}
}

// Paths returns n sample paths of length h: the state equations above with
// e(t) drawn with replacement from the in-sample one-step residuals.
func (hw *HoltWinters) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	hw.fillPaths(out, rng)
	return out
}

// fillPaths fills out with sample paths (see Paths), each of len(out[0]).
//
// The residuals are drawn first, into the paths themselves, in the order
// the recursion takes them (path by path, step by step); the recursion then
// runs over four paths at once. One path's recursion is a chain of
// dependent additions that kept the processor waiting; four independent
// chains fill that wait. The paths are the same, bit for bit, as drawing
// and filtering one path after the other.
func (hw *HoltWinters) fillPaths(out [][]float64, rng *rand.Rand) {
	h := len(out[0])
	d := newDrawer(hw.resid, rng)
	for _, path := range out {
		d.fill(path)
	}
	if hw.m > 0 && h > hw.m {
		hw.filterPathsSeasonal(out)
		return
	}
	// The season of each step ahead (the horizon is within one period).
	var sbuf [64]float64
	seas := sbuf[:0]
	if h > len(sbuf) {
		seas = make([]float64, h)
	}
	seas = seas[:h]
	if hw.m > 0 {
		idx := hw.pos
		for j := range seas {
			seas[j] = hw.season[idx]
			if idx++; idx == hw.m {
				idx = 0
			}
		}
	} else {
		clear(seas)
	}
	p, c, sc := hw.p, hw.center, hw.scale
	i := 0
	for ; i+4 <= len(out); i += 4 {
		p0, p1, p2, p3 := out[i][:h], out[i+1][:h], out[i+2][:h], out[i+3][:h]
		l0, l1, l2, l3 := hw.level, hw.level, hw.level, hw.level
		b0, b1, b2, b3 := hw.trend, hw.trend, hw.trend, hw.trend
		for j, s := range seas {
			e0, e1, e2, e3 := p0[j], p1[j], p2[j], p3[j]
			f0, f1, f2, f3 := l0+p.Phi*b0, l1+p.Phi*b1, l2+p.Phi*b2, l3+p.Phi*b3
			p0[j] = bound(c + sc*(f0+s+e0))
			p1[j] = bound(c + sc*(f1+s+e1))
			p2[j] = bound(c + sc*(f2+s+e2))
			p3[j] = bound(c + sc*(f3+s+e3))
			l0, l1, l2, l3 = f0+p.Alpha*e0, f1+p.Alpha*e1, f2+p.Alpha*e2, f3+p.Alpha*e3
			b0, b1, b2, b3 = p.Phi*b0+p.Beta*e0, p.Phi*b1+p.Beta*e1, p.Phi*b2+p.Beta*e2, p.Phi*b3+p.Beta*e3
		}
	}
	for _, path := range out[i:] {
		path = path[:h]
		l, b := hw.level, hw.trend
		for j, s := range seas {
			e := path[j]
			f := l + p.Phi*b
			path[j] = bound(c + sc*(f+s+e))
			l = f + p.Alpha*e
			b = p.Phi*b + p.Beta*e
		}
	}
}

// filterPathsSeasonal runs the recursion over paths that hold their
// residuals, one path after the other, for a horizon beyond one period.
func (hw *HoltWinters) filterPathsSeasonal(out [][]float64) {
	h := len(out[0])
	// Seasonal states updated within a path are needed again only m steps
	// later, so one scratch slice of length h serves every path.
	fresh := make([]float64, h)
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
			e := path[j]
			f := l + p.Phi*b
			path[j] = bound(hw.center + hw.scale*(f+s+e))
			l = f + p.Alpha*e
			b = p.Phi*b + p.Beta*e
			fresh[j] = s + p.Gamma*e
		}
	}
}

// NewHoltWinters filters y with the given parameters, without fitting them,
// and returns the model at the end of y. The initial state and the handling
// of missing observations are those of Fit. period 0 (or 1) means no season;
// y needs at least 2 finite observations and, with a season, 2 periods.
func NewHoltWinters(y []float64, period int, p HoltWintersParams) (*HoltWinters, error) {
	if period <= 1 {
		period = 0
	}
	if err := checkHoltWinters(y, period); err != nil {
		return nil, err
	}
	if !(p.Alpha >= 0 && p.Alpha <= 1 && p.Beta >= 0 && p.Beta <= p.Alpha &&
		p.Gamma >= 0 && p.Gamma <= 1-p.Alpha && p.Phi > 0 && p.Phi <= 1) {
		return nil, fmt.Errorf("holt-winters parameters %+v: %w", p, ErrSettings)
	}
	hw, z := newScaled(y, period)
	hw.filter(z, initHoltWinters(hw.season, z, period), p)
	return hw, nil
}

func checkHoltWinters(y []float64, m int) error {
	if c := countFinite(y); c < 2 {
		return fmt.Errorf("holt-winters: %d finite observations, need 2: %w", c, ErrShortHistory)
	}
	if m > 0 && len(y) < 2*m {
		return fmt.Errorf("holt-winters: %d observations, need 2 periods of %d: %w", len(y), m, ErrShortHistory)
	}
	if m == 0 && len(y) < MinHolt {
		return fmt.Errorf("holt-winters: %d observations, need %d: %w", len(y), MinHolt, ErrShortHistory)
	}
	return nil
}

// newScaled returns a HoltWinters with center and scale set from y and an
// m-long season buffer, and the scaled series.
func newScaled(y []float64, m int) (*HoltWinters, []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range y {
		if finite(v) {
			lo = math.Min(lo, v)
			hi = math.Max(hi, v)
		}
	}
	// Halve before adding so that the midrange of values near the float64
	// limits does not overflow.
	center, scale := lo/2+hi/2, hi/2-lo/2
	if scale == 0 {
		scale = 1
	}
	z := make([]float64, len(y))
	for i, v := range y {
		z[i] = (v - center) / scale
	}
	hw := &HoltWinters{m: m, center: center, scale: scale}
	if m > 0 {
		hw.season = make([]float64, m)
	}
	return hw, z
}

// hwInit is an initial state: level and trend at time -1, season for times
// 0..m-1.
type hwInit struct {
	level, trend float64
	season       []float64
}

// initHoltWinters returns the initial state for the scaled series z. With a
// season, from the first two periods: the level and trend are the line
// through (t̄₁, z̄₁) and (t̄₂, z̄₂), the mean time and mean value of the
// finite observations of each period, and s(j) is the mean deviation from
// that line of z(j) and z(j+m), centred to sum to zero. Without a season,
// the least-squares line through the finite observations of the first
// MinHolt steps (or more, until there are two). season is scratch space for
// the result.
func initHoltWinters(season, z []float64, m int) hwInit {
	if m == 0 {
		var xs, ys []float64
		for t, v := range z {
			if t >= MinHolt && len(xs) >= 2 {
				break
			}
			if finite(v) {
				xs = append(xs, float64(t))
				ys = append(ys, v)
			}
		}
		a, b := stat.LinearRegression(xs, ys, nil, false)
		return hwInit{level: a - b, trend: b}
	}
	var mean, tmean [2]float64
	var count [2]int
	for i := range 2 {
		for j, v := range z[i*m : (i+1)*m] {
			if finite(v) {
				mean[i] += v
				tmean[i] += float64(i*m + j)
				count[i]++
			}
		}
		if count[i] > 0 {
			mean[i] /= float64(count[i])
			tmean[i] /= float64(count[i])
		}
	}
	var c0, t0, slope float64
	switch {
	case count[0] > 0 && count[1] > 0:
		c0, t0 = mean[0], tmean[0]
		slope = (mean[1] - mean[0]) / (tmean[1] - tmean[0])
	case count[0] > 0:
		c0 = mean[0]
	case count[1] > 0:
		c0 = mean[1]
	default:
		for _, v := range z {
			if finite(v) {
				c0 = v
				break
			}
		}
	}
	line := func(t int) float64 { return c0 + (float64(t)-t0)*slope }
	var total float64
	for j := range season {
		var sum float64
		var k int
		for _, t := range [2]int{j, j + m} {
			if v := z[t]; finite(v) {
				sum += v - line(t)
				k++
			}
		}
		season[j] = 0
		if k > 0 {
			season[j] = sum / float64(k)
		}
		total += season[j]
	}
	for j := range season {
		season[j] -= total / float64(m)
	}
	return hwInit{level: line(-1), trend: slope, season: season}
}

// step advances the state (level l, trend b, the season s of this time)
// by the observation v: it returns the new state, the one-step error e and
// whether v was finite (a missing v advances on the forecast, e = 0). It
// is the recursion of the HoltWinters doc comment rearranged with w = v − s:
//
//	f = l + φb,  e = w − f,  ℓ = (1−α)f + αw,  b = φb + β(w − f),  s = s + γe
//
// which shortens the chain of dependent operations from one step's level
// to the next's: the fit's objective runs this over every observation at
// every evaluation, and its time was that chain's latency. Over four days
// of minutes (BenchmarkRecursion) it takes about three quarters of the
// time of the recursion as written above. (math.FMA would shorten it
// further, but without GOAMD64=v3 each call tests the CPU first, and it
// came out slower.)
func step(p HoltWintersParams, l, b, s, v float64) (l2, b2, s2, e float64, ok bool) {
	pb := p.Phi * b
	f := l + pb
	if !finite(v) {
		return f, pb, s, 0, false
	}
	w := v - s
	e = w - f
	return (1-p.Alpha)*f + p.Alpha*w, (pb + p.Beta*w) - p.Beta*f, s + p.Gamma*e, e, true
}

// run filters z from init with p and returns the mean squared one-step
// error over the finite observations. level, trend and season hold the
// initial state on entry (season[j] for time j) and the final state on
// return (season[j] for the last time t ≡ j mod m). It appends the one-step
// errors to *resid when resid is not nil.
func run(z []float64, p HoltWintersParams, level, trend *float64, season []float64, resid *[]float64, huber float64) float64 {
	l, b := *level, *trend
	m := len(season)
	var sse float64
	var n, pos int
	for _, v := range z {
		var s float64
		if m > 0 {
			s = season[pos]
		}
		var e float64
		var ok bool
		l, b, s, e, ok = step(p, l, b, s, v)
		if ok {
			sse += loss(e, huber)
			n++
			if resid != nil {
				*resid = append(*resid, e)
			}
		}
		if m > 0 {
			season[pos] = s
			pos++
			if pos == m {
				pos = 0
			}
		}
	}
	*level, *trend = l, b
	if n == 0 {
		return 0
	}
	return sse / float64(n)
}

// filter runs the scaled series z through the model from init and keeps
// the final state and the residuals. init.season may alias hw.season.
func (hw *HoltWinters) filter(z []float64, init hwInit, p HoltWintersParams) {
	hw.p = p
	hw.level, hw.trend = init.level, init.trend
	hw.pos = 0
	if hw.m > 0 {
		copy(hw.season, init.season)
		hw.pos = len(z) % hw.m
	}
	hw.resid = make([]float64, 0, countFinite(z))
	run(z, p, &hw.level, &hw.trend, hw.season, &hw.resid, 0)
}

// fitHoltWinters fits α, β, γ and φ (α, β and φ without a season) by
// minimising the mean squared in-sample one-step error with Nelder-Mead
// within bud (with bud.huber > 0, the mean Huber loss, its threshold
// bud.huber robust standard deviations of the errors at the start). Each
// parameter is the image of an
// unconstrained variable u under a logistic map onto its interval,
//
//	x = lo + (hi - lo) / (1 + exp(-u)),
//
// with α, β* = β/α and γ* = γ/(1-α) in [1e-4, 0.9999] and φ in
// [PhiLo, PhiHi]. The search starts at α = 0.3, β* = 0.1, γ* = 0.1, φ = 0.9,
// or at start when it is not nil (clamped inside the bounds).
func fitHoltWinters(y []float64, m int, bud budget, start *HoltWintersParams) (*HoltWinters, error) {
	if err := checkHoltWinters(y, m); err != nil {
		return nil, err
	}
	hw, z := newScaled(y, m)
	init := initHoltWinters(make([]float64, m), z, m)
	p, err := searchHoltWinters(z, init, m, bud, start, run)
	if err != nil {
		return nil, fmt.Errorf("fit holt-winters: %w", err)
	}
	hw.filter(z, init, p)
	return hw, nil
}

// hwFilter runs a Holt-Winters variant's recursions over z from the given
// state and returns the (Huber, when huber > 0) mean loss of its one-step
// errors; run and runMult are the two.
type hwFilter func(z []float64, p HoltWintersParams, level, trend *float64, season []float64, resid *[]float64, huber float64) float64

// searchHoltWinters minimises filter's loss over the parameters from init,
// starting at startHoltWinters(start, m), within bud; with bud.huber > 0 the
// loss is Huber's at bud.huber robust standard deviations of the errors at
// the start.
func searchHoltWinters(z []float64, init hwInit, m int, bud budget, start *HoltWintersParams, filter hwFilter) (HoltWintersParams, error) {
	scratch := make([]float64, m)
	u0 := startHoltWinters(start, m)
	var c float64
	if bud.huber > 0 {
		l, b := init.level, init.trend
		copy(scratch, init.season)
		var resid []float64
		filter(z, paramsOf(u0, m), &l, &b, scratch, &resid, 0)
		c = bud.huber * robustScale(resid)
	}
	objective := func(u []float64) float64 {
		l, b := init.level, init.trend
		copy(scratch, init.season)
		mse := filter(z, paramsOf(u, m), &l, &b, scratch, nil, c)
		if !finite(mse) {
			return math.MaxFloat64
		}
		return mse
	}
	x, err := minimize(objective, u0, bud)
	if err != nil {
		return HoltWintersParams{}, err
	}
	return paramsOf(x, m), nil
}

// startHoltWinters returns the unconstrained starting point of a fit:
// α = 0.3, β* = 0.1, γ* = 0.1, φ = 0.9, or start when it is not nil
// (clamped inside the bounds).
func startHoltWinters(start *HoltWintersParams, m int) []float64 {
	a, bs, phi, gs := 0.3, 0.1, 0.9, 0.1
	if start != nil {
		a = start.Alpha
		bs = start.Beta / math.Max(a, smoothLo)
		phi = start.Phi
		gs = start.Gamma / math.Max(1-a, smoothLo)
	}
	u0 := []float64{toUnbounded(a, smoothLo, smoothHi), toUnbounded(bs, smoothLo, smoothHi), toUnbounded(phi, PhiLo, PhiHi)}
	if m > 0 {
		u0 = append(u0, toUnbounded(gs, smoothLo, smoothHi))
	}
	return u0
}

// toUnbounded is logit(x, lo, hi) with x first clamped just inside (lo, hi);
// NaN maps to the middle.
func toUnbounded(x, lo, hi float64) float64 {
	eps := (hi - lo) * 1e-6
	switch {
	case math.IsNaN(x):
		x = (lo + hi) / 2
	case !(x > lo+eps):
		x = lo + eps
	case x > hi-eps:
		x = hi - eps
	}
	return logit(x, lo, hi)
}

// budget bounds a parameter search: at most evals evaluations, and, when
// tol > 0, a stop once 10 iterations in a row have improved the objective
// by less than tol relatively (else gonum's default: 100 iterations below
// 1e-10 absolutely).
type budget struct {
	evals int
	tol   float64
	huber float64
}

// loss is the squared error e², or with c > 0 Huber's loss: e² within ±c
// and c(2|e| − c) beyond, so that a few gross errors do not dominate the
// fit.
func loss(e, c float64) float64 {
	if c > 0 {
		if a := math.Abs(e); a > c {
			return c * (2*a - c)
		}
	}
	return e * e
}

// robustScale returns 1.4826 times the median absolute value of e, a
// robust estimate of the standard deviation of errors centred on zero; 0
// when e is empty.
func robustScale(e []float64) float64 {
	if len(e) == 0 {
		return 0
	}
	a := make([]float64, len(e))
	for i, v := range e {
		a[i] = math.Abs(v)
	}
	return 1.4826 * median(a)
}

// minimize minimises f from u0 with Nelder-Mead within bud and returns the
// best point found.
func minimize(f func([]float64) float64, u0 []float64, bud budget) ([]float64, error) {
	set := &optimize.Settings{FuncEvaluations: bud.evals}
	if bud.tol > 0 {
		set.Converger = &optimize.FunctionConverge{Relative: bud.tol, Iterations: 10}
	}
	res, err := optimize.Minimize(
		optimize.Problem{Func: f},
		u0,
		set,
		&optimize.NelderMead{SimplexSize: 1},
	)
	if err != nil {
		return nil, err
	}
	return res.X, nil
}

// paramsOf maps the unconstrained u = (u_α, u_β*, u_φ[, u_γ*]) to parameters.
func paramsOf(u []float64, m int) HoltWintersParams {
	a := logistic(u[0], smoothLo, smoothHi)
	p := HoltWintersParams{
		Alpha: a,
		Beta:  a * logistic(u[1], smoothLo, smoothHi),
		Phi:   logistic(u[2], PhiLo, PhiHi),
	}
	if m > 0 {
		p.Gamma = (1 - a) * logistic(u[3], smoothLo, smoothHi)
	}
	return p
}

func logistic(u, lo, hi float64) float64 { return lo + (hi-lo)/(1+math.Exp(-u)) }

func logit(x, lo, hi float64) float64 {
	q := (x - lo) / (hi - lo)
	return math.Log(q / (1 - q))
}
