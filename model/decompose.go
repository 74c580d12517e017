package model

import "math"

// SeasonalityCritical is the critical value of the seasonality test
// (Seasonal): the one-sided 95% normal quantile, which makes the test the
// two-sided 90% test of the M4 competition.
const SeasonalityCritical = 1.645

// Seasonal reports whether y is seasonal with period m by the test of the
// M4 competition (Makridakis et al. 2020): with the sample autocorrelation
//
//	r(k) = Σ_{t<n-k} (y_t − ȳ)(y_{t+k} − ȳ) / Σ_t (y_t − ȳ)²,
//
// y is seasonal when
//
//	|r(m)| > 1.645 · √((1 + 2 Σ_{k=1}^{m-1} r(k)²) / n).
//
// It needs n ≥ 3m (false otherwise) and m > 1. Missing observations (NaN,
// ±Inf) count as the mean. Unlike R's acf, which the M4 code calls with
// its default of 10·log10(n) lags, there is no cap on m: for the M4 Hourly
// lengths (n ≥ 700, m = 24) the two agree.
func Seasonal(y []float64, m int) bool {
	n := len(y)
	if m <= 1 || n < 3*m {
		return false
	}
	acf, ok := autocovariance(y)
	if !ok || !(acf[0] > 0) || !finite(acf[0]) {
		return false
	}
	var sum2 float64
	for k := 1; k < m; k++ {
		r := acf[k] / acf[0]
		sum2 += r * r
	}
	rm := acf[m] / acf[0]
	limit := SeasonalityCritical * math.Sqrt((1+2*sum2)/float64(n))
	return math.Abs(rm) > limit
}

// centered returns y minus the mean of its finite values, with missing
// values as 0, scaled by the largest magnitude so that the products cannot
// overflow; ok is false when fewer than 2 values are finite.
func centered(y []float64) (x []float64, ok bool) {
	var mean float64
	var c int
	big := maxAbs(y)
	for _, v := range y {
		if finite(v) {
			mean += v / big
			c++
		}
	}
	if c < 2 {
		return nil, false
	}
	mean /= float64(c)
	x = make([]float64, len(y))
	for i, v := range y {
		if finite(v) {
			x[i] = v/big - mean
		}
	}
	return x, true
}

// Decompose returns the seasonal indices of y with period m by classical
// decomposition (R's decompose, as the M4 benchmarks use it). The trend is
// the centred moving average of order m (2×m when m is even):
//
//	T(t) = Σ_{j=-⌊m/2⌋}^{⌊m/2⌋} w_j y(t+j),  w_j = 1/m (½m at both ends when m is even),
//
// undefined in the first and last ⌊m/2⌋ steps and wherever a y in the
// window is missing. The index of phase j is the mean over t ≡ j (mod m)
// of y(t)/T(t) (multiplicative) or y(t) − T(t) (additive), normalised to
// mean 1 (multiplicative) or 0 (additive). Phase j is the index at every
// t ≡ j (mod m), counting t from 0 at y[0]. A phase without a defined ratio
// gets the neutral 1 or 0; so does every phase when m ≤ 1 or len(y) < 2m.
// A multiplicative decomposition skips the steps where T(t) ≤ 0.
func Decompose(y []float64, m int, multiplicative bool) []float64 {
	if m < 1 {
		m = 1
	}
	idx := make([]float64, m)
	neutral := 0.0
	if multiplicative {
		neutral = 1
	}
	for j := range idx {
		idx[j] = neutral
	}
	n := len(y)
	if m <= 1 || n < 2*m {
		return idx
	}
	// Work on y/big so that the prefix sums cannot overflow.
	big := maxAbs(y)
	// Prefix sums of the scaled values and of the missing ones.
	ps := make([]float64, n+1)
	miss := make([]int, n+1)
	for t, v := range y {
		ps[t+1], miss[t+1] = ps[t], miss[t]
		if finite(v) {
			ps[t+1] += v / big
		} else {
			miss[t+1]++
		}
	}
	half := m / 2
	sum := make([]float64, m)
	cnt := make([]int, m)
	for t := half; t < n-half; t++ {
		if miss[t+half+1]-miss[t-half] > 0 {
			continue
		}
		var tr float64
		if m%2 == 0 {
			tr = (ps[t+half]-ps[t-half+1])/float64(m) + 0.5*(y[t-half]+y[t+half])/big/float64(m)
		} else {
			tr = (ps[t+half+1] - ps[t-half]) / float64(m)
		}
		v := y[t] / big
		var r float64
		if multiplicative {
			if !(tr > 0) {
				continue
			}
			r = v / tr
		} else {
			r = (v - tr) * big
		}
		if !finite(r) {
			continue
		}
		sum[t%m] += r
		cnt[t%m]++
	}
	mean, ok := phaseMeans(idx, sum, cnt)
	if !ok {
		return idx
	}
	for j := range idx {
		if cnt[j] == 0 {
			continue
		}
		if multiplicative {
			if mean > 0 {
				idx[j] /= mean
			}
			if !(idx[j] > 0) {
				idx[j] = 1
			}
		} else {
			idx[j] -= mean
		}
	}
	return idx
}

// phaseMeans sets out[j] to sum[j]/cnt[j] for each phase j with cnt[j] > 0
// and returns the mean of those; ok is false when there is none.
func phaseMeans(out, sum []float64, cnt []int) (mean float64, ok bool) {
	var k int
	for j := range out {
		if cnt[j] > 0 {
			out[j] = sum[j] / float64(cnt[j])
			mean += out[j]
			k++
		}
	}
	if k == 0 {
		return 0, false
	}
	return mean / float64(k), true
}

// allPositive reports whether every finite value of y is > 0 (and at least
// one is).
func allPositive(y []float64) bool {
	seen := false
	for _, v := range y {
		if finite(v) {
			if !(v > 0) {
				return false
			}
			seen = true
		}
	}
	return seen
}
