package model

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// MinPeriodACF is the least autocorrelation at which DetectPeriod accepts
// a period.
const MinPeriodACF = 0.3

// DetectPeriod finds the seasonal period of y from its autocorrelation
// function
//
//	r(k) = Σ_t (y_t − ȳ)(y_{t+k} − ȳ) / Σ_t (y_t − ȳ)²
//
// computed with the FFT (y zero-padded to twice its length, so the
// correlation is linear, not circular). The period is the lag k in
// [2, maxPeriod], past the first lag at which r turns negative (before it a
// smooth series is merely close to its recent self), with the highest r(k)
// among the local maxima of r, provided
// r(k) ≥ MinPeriodACF and y covers at least two periods (k ≤ len(y)/2).
// Missing values (NaN, ±Inf) count as the mean. ok is false when no lag
// qualifies; maxPeriod ≤ 0 means len(y)/2.
func DetectPeriod(y []float64, maxPeriod int) (period int, ok bool) {
	n := len(y)
	if maxPeriod <= 0 || maxPeriod > n/2 {
		maxPeriod = n / 2
	}
	if maxPeriod < 2 {
		return 0, false
	}
	var mean float64
	var c int
	for _, v := range y {
		if finite(v) {
			mean += v
			c++
		}
	}
	if c < 4 {
		return 0, false
	}
	mean /= float64(c)
	size := 1
	for size < 2*n {
		size *= 2
	}
	x := make([]float64, size)
	for i, v := range y {
		if finite(v) {
			x[i] = v - mean
		}
	}
	fft := fourier.NewFFT(size)
	coef := fft.Coefficients(nil, x)
	for i, z := range coef {
		coef[i] = complex(real(z)*real(z)+imag(z)*imag(z), 0)
	}
	acf := fft.Sequence(nil, coef)
	if !(acf[0] > 0) {
		return 0, false // constant series
	}
	// Skip the lags a smooth series is merely close to itself at: search
	// from the first lag at which r turns negative.
	start := 1
	for start <= maxPeriod && acf[start] >= 0 {
		start++
	}
	best, bestR := 0, math.Inf(-1)
	for k := max(start, 2); k <= maxPeriod && k+1 < len(acf); k++ {
		r := acf[k] / acf[0]
		if r >= MinPeriodACF && r > bestR && acf[k] >= acf[k-1] && acf[k] >= acf[k+1] {
			best, bestR = k, r
		}
	}
	return best, best > 0
}
