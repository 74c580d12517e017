package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ARMaxOrder is the highest order of consecutive lags an AR fit considers.
const ARMaxOrder = 24

// AR is an autoregression on the seasonally adjusted series. With periods
// m₁ < m₂ (either may be absent), the series is adjusted by additive
// classical decomposition (Decompose): s₁ of period m₁ from y when
// len(y) ≥ 2m₁, then s₂ of period m₂ from y − s₁ when len(y) ≥ 2m₂, and
//
//	x(t) = y(t) − s₁(t) − s₂(t)
//	x(t) = c + Σ_{k∈L} φ_k x(t−k) + e(t),  L = {1, …, p} ∪ {m₁, m₂}
//
// The seasonal lags m₁ and m₂ (those of the adjustments made) let the
// seasons drift away from the fixed indices. The order p ≤ min(ARMaxOrder,
// n/10) minimises Akaike's criterion n·log σ̂²(p) + 2p with σ̂²(p) from the
// Durbin-Levinson recursion on the sample autocorrelations of x; c and φ
// are then the least-squares solution (gonum/mat: the normal equations by
// Cholesky, or QR when they are ill-conditioned) over the rows whose lags
// are all observed. When that solution is explosive (its impulse
// response grows), the Yule-Walker estimates of lags 1…p, which are always
// stationary, are used instead. The h-step forecast iterates the recursion
// with e = 0 and adds the seasons back; sample paths iterate it with e
// drawn from the least-squares residuals. A missing observation is
// replaced by its one-step forecast. Values are kept in units of the
// largest |y| internally.
type AR struct {
	m1, m2 int
	s1, s2 []float64 // additive seasonal indices by phase; nil when absent
	scale  float64
	c      float64
	lags   []int     // ascending
	phi    []float64 // φ by lag
	hist   []float64 // ring of the last max(lags) values of x, filled
	pos    int       // index in hist of the next value
	t      int       // time of the next observation
	resid  []float64
}

var _ Forecaster = (*AR)(nil)

// Name returns "ar".
func (*AR) Name() string { return NameAR }

// Period returns the shorter period of the seasonal adjustment, 0 when
// there is none.
func (ar *AR) Period() int {
	if ar.s1 == nil {
		return 0
	}
	return ar.m1
}

// Coefficients returns the intercept c, in the units of y, and the lags
// and their coefficients φ.
func (ar *AR) Coefficients() (c float64, lags []int, phi []float64) {
	return ar.c * ar.scale, slices.Clone(ar.lags), slices.Clone(ar.phi)
}

func (ar *AR) season(t int) float64 {
	var s float64
	if ar.s1 != nil {
		s += ar.s1[t%ar.m1]
	}
	if ar.s2 != nil {
		s += ar.s2[t%ar.m2]
	}
	return s
}

// past returns x(T+1−k) from the ring, k ≥ 1.
func (ar *AR) past(k int) float64 {
	i := ar.pos - k
	if i < 0 {
		i += len(ar.hist)
	}
	return ar.hist[i]
}

// oneStep returns the one-step forecast of x from the ring.
func (ar *AR) oneStep() float64 {
	f := ar.c
	for i, k := range ar.lags {
		f += ar.phi[i] * ar.past(k)
	}
	return f
}

func (ar *AR) push(x float64) {
	if len(ar.hist) == 0 {
		return
	}
	ar.hist[ar.pos] = x
	ar.pos++
	if ar.pos == len(ar.hist) {
		ar.pos = 0
	}
}

// Update appends y in O(number of lags).
func (ar *AR) Update(y float64) {
	x := y/ar.scale - ar.season(ar.t)
	if !finite(x) {
		x = ar.oneStep()
	}
	ar.push(x)
	ar.t++
}

// Forecast returns ŷ(T+1|T), …, ŷ(T+h|T).
func (ar *AR) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	buf := ar.window(h)
	L := len(ar.hist)
	out := make([]float64, h)
	for j := range out {
		x := ar.at(buf, L+j)
		buf[L+j] = x
		out[j] = bound(ar.scale * (x + ar.season(ar.t+j)))
	}
	return out
}

// Paths returns n sample paths of length h.
func (ar *AR) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	d := newDrawer(ar.resid, rng)
	buf := ar.window(h)
	L := len(ar.hist)
	season := make([]float64, h)
	for j := range season {
		season[j] = ar.season(ar.t + j)
	}
	for _, path := range out {
		for j := range path {
			x := ar.at(buf, L+j) + d.draw()
			buf[L+j] = x
			path[j] = bound(ar.scale * (x + season[j]))
		}
	}
	return out
}

// window returns the last len(hist) values of x, oldest first, followed by
// h free slots.
func (ar *AR) window(h int) []float64 {
	L := len(ar.hist)
	buf := make([]float64, L+h)
	n := copy(buf, ar.hist[ar.pos:])
	copy(buf[n:L], ar.hist[:ar.pos])
	return buf
}

// at returns the one-step forecast of buf[i] from the values before it.
func (ar *AR) at(buf []float64, i int) float64 {
	f := ar.c
	for k, lag := range ar.lags {
		f += ar.phi[k] * buf[i-lag]
	}
	return f
}

// fitAR fits the AR model with seasonal periods m1 < m2 (0 for none).
func fitAR(y []float64, m1, m2 int) (*AR, error) {
	n := len(y)
	if c := countFinite(y); c < 3 {
		return nil, fmt.Errorf("ar: %d finite observations, need 3: %w", c, ErrShortHistory)
	}
	ar := &AR{m1: m1, m2: m2, scale: maxAbs(y)}
	x := make([]float64, n)
	for t, v := range y {
		x[t] = v / ar.scale
	}
	if m1 > 1 && n >= 2*m1 {
		ar.s1 = Decompose(x, m1, false)
		for t := range x {
			x[t] -= ar.s1[t%m1]
		}
	}
	if m2 > max(m1, 1) && n >= 2*m2 {
		ar.s2 = Decompose(x, m2, false)
		for t := range x {
			x[t] -= ar.s2[t%m2]
		}
	}
	yw, p := arOrder(x, min(ARMaxOrder, n/10))
	ar.c, ar.lags, ar.phi = yw.c, yw.lags, yw.phi
	lags := make([]int, 0, p+2)
	for k := 1; k <= p; k++ {
		lags = append(lags, k)
	}
	for _, m := range []int{m1, m2} {
		if m > p && (m == m1 && ar.s1 != nil || m == m2 && ar.s2 != nil) && n >= 4*m {
			lags = append(lags, m)
		}
	}
	slices.Sort(lags)
	lags = slices.Compact(lags)
	if len(lags) > 0 {
		if phi, c, ok := arLeastSquares(x, lags); ok && !explosive(lags, phi) {
			ar.c, ar.lags, ar.phi = c, lags, phi
		}
	}
	// Filter: residuals and the final lags. The ring starts full of the
	// first finite value.
	L := 1
	if len(ar.lags) > 0 {
		L = ar.lags[len(ar.lags)-1]
	}
	ar.hist = make([]float64, L)
	started := false
	for t, v := range x {
		if !started {
			if !finite(v) {
				continue
			}
			for i := range ar.hist {
				ar.hist[i] = v
			}
			started = true
			ar.push(v)
			continue
		}
		f := ar.oneStep()
		if !finite(v) {
			v = f
		} else if t >= L {
			ar.resid = append(ar.resid, v-f)
		}
		ar.push(v)
	}
	if len(ar.resid) == 0 {
		ar.resid = []float64{0}
	}
	ar.t = n
	return ar, nil
}

type arCoef struct {
	c    float64
	lags []int
	phi  []float64
}

// arOrder returns the Yule-Walker estimates of the AIC-best order ≤ pmax
// for x (missing values count as the mean), and that order.
func arOrder(x []float64, pmax int) (arCoef, int) {
	var mean float64
	var k int
	for _, v := range x {
		if finite(v) {
			mean += v
			k++
		}
	}
	mean /= float64(k)
	n := len(x)
	pmax = max(min(pmax, n-1), 0)
	r := make([]float64, pmax+1)
	for lag := 0; lag <= pmax; lag++ {
		var s float64
		for t := lag; t < n; t++ {
			a, b := x[t], x[t-lag]
			if finite(a) && finite(b) {
				s += (a - mean) * (b - mean)
			}
		}
		r[lag] = s / float64(n)
	}
	if !(r[0] > 0) || !finite(r[0]) {
		return arCoef{c: mean}, 0
	}
	// Durbin-Levinson.
	best := arCoef{c: mean}
	bestAIC := float64(k) * math.Log(r[0])
	bestP := 0
	phi := make([]float64, pmax+1)
	prev := make([]float64, pmax+1)
	v := r[0]
	for p := 1; p <= pmax; p++ {
		acc := r[p]
		for j := 1; j < p; j++ {
			acc -= prev[j] * r[p-j]
		}
		kp := acc / v
		if !finite(kp) || math.Abs(kp) >= 1 {
			break
		}
		phi[p] = kp
		for j := 1; j < p; j++ {
			phi[j] = prev[j] - kp*prev[p-j]
		}
		v *= 1 - kp*kp
		if !(v > 0) {
			break
		}
		copy(prev, phi)
		aic := float64(k)*math.Log(v) + 2*float64(p)
		if aic < bestAIC {
			bestAIC, bestP = aic, p
			c := mean
			coef := slices.Clone(phi[1 : p+1])
			lags := make([]int, p)
			for i, f := range coef {
				c -= f * mean
				lags[i] = i + 1
			}
			best = arCoef{c: c, lags: lags, phi: coef}
		}
	}
	return best, bestP
}

// arLeastSquares regresses x(t) on 1 and x(t−k), k in lags, over the rows
// with every value observed.
func arLeastSquares(x []float64, lags []int) (phi []float64, c float64, ok bool) {
	L := lags[len(lags)-1]
	var rows []int
outer:
	for t := L; t < len(x); t++ {
		if !finite(x[t]) {
			continue
		}
		for _, k := range lags {
			if !finite(x[t-k]) {
				continue outer
			}
		}
		rows = append(rows, t)
	}
	p := len(lags)
	if len(rows) < 2*(p+1) {
		return nil, 0, false
	}
	ad := make([]float64, len(rows)*(p+1))
	bd := make([]float64, len(rows))
	for r, t := range rows {
		row := ad[r*(p+1) : (r+1)*(p+1)]
		row[0] = 1
		for i, k := range lags {
			row[i+1] = x[t-k]
		}
		bd[r] = x[t]
	}
	a := mat.NewDense(len(rows), p+1, ad)
	b := mat.NewVecDense(len(rows), bd)
	// The normal equations by Cholesky, which is several times faster than
	// QR for these tall, narrow systems; QR when they are ill-conditioned.
	var beta mat.VecDense
	var xtx mat.SymDense
	xtx.SymOuterK(1, a.T())
	var xty mat.VecDense
	xty.MulVec(a.T(), b)
	var chol mat.Cholesky
	if !chol.Factorize(&xtx) || chol.Cond() > 1e10 || chol.SolveVecTo(&beta, &xty) != nil {
		if err := beta.SolveVec(a, b); err != nil {
			return nil, 0, false
		}
	}
	phi = make([]float64, p)
	for i := range phi {
		phi[i] = beta.AtVec(i + 1)
		if !finite(phi[i]) {
			return nil, 0, false
		}
	}
	c = beta.AtVec(0)
	return phi, c, finite(c)
}

// explosive reports whether the impulse response of the recursion
// x(t) = Σ φ_k x(t−k) grows: its largest magnitude over the last
// max(lags) of 8·max(lags) steps exceeds 10 times that over the first.
// A stationary or unit-root recursion does not.
func explosive(lags []int, phi []float64) bool {
	L := lags[len(lags)-1]
	steps := 8 * max(L, 8)
	x := make([]float64, steps)
	x[0] = 1
	var first, last float64
	for t := 1; t < steps; t++ {
		var v float64
		for i, k := range lags {
			if k <= t {
				v += phi[i] * x[t-k]
			}
		}
		x[t] = v
		if !finite(v) {
			return true
		}
		switch a := math.Abs(v); {
		case t <= L:
			first = math.Max(first, a)
		case t >= steps-L:
			last = math.Max(last, a)
		}
	}
	return last > 10*math.Max(first, 1)
}
