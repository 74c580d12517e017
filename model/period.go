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
	acf, ok := autocovariance(y)
	if !ok || !(acf[0] > 0) {
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

// autocovariance returns the sums Σ_t (y_t − ȳ)(y_{t+k} − ȳ) for lags
// k = 0…len(y)-1 and more (the slice is longer than y; entries past
// len(y)-1 are zero), computed with the FFT on y zero-padded to at least
// twice its length so that the correlation is linear, not circular.
// Missing values (NaN, ±Inf) count as the mean, and y is scaled by its
// largest magnitude first, which leaves the ratios r(k) = c(k)/c(0)
// unchanged. ok is false when fewer than 4 values are finite.
func autocovariance(y []float64) (acf []float64, ok bool) {
	n := len(y)
	x0, ok := centered(y)
	if !ok || countFinite(y) < 4 {
		return nil, false
	}
	size := 1
	for size < 2*n {
		size *= 2
	}
	x := make([]float64, size)
	copy(x, x0)
	fft := fourier.NewFFT(size)
	coef := fft.Coefficients(nil, x)
	for i, z := range coef {
		coef[i] = complex(real(z)*real(z)+imag(z)*imag(z), 0)
	}
	return fft.Sequence(nil, coef), true
}

// DetectPeriods returns the seasonal periods of y, at most two, shortest
// first. With p the period of DetectPeriod:
//
//   - when p is a multiple (within one lag) of a shorter period d ≥ 2 that
//     is itself a local maximum of the autocorrelation with
//     r(d) ≥ MinPeriodACF, the periods are d and the multiple of d nearest p;
//   - else, when a multiple q = kp ≤ maxPeriod (k ≥ 2, within one lag) has a
//     bias-corrected autocorrelation r(q)·n/(n−q) at least
//     MultiplePeriodGain above p's, the periods are p and kp;
//   - else p alone.
//
// Hourly load with a weekly cycle gives [24, 168]; one with only a daily
// cycle gives [24]. It returns nil when DetectPeriod finds no period.
func DetectPeriods(y []float64, maxPeriod int) []int {
	p, ok := DetectPeriod(y, maxPeriod)
	if !ok {
		return nil
	}
	n := len(y)
	if maxPeriod <= 0 || maxPeriod > n/2 {
		maxPeriod = n / 2
	}
	acf, _ := autocovariance(y)
	r := func(k int) float64 { return acf[k] / acf[0] }
	peak := func(k int) bool { return acf[k] >= acf[k-1] && acf[k] >= acf[k+1] }
	best, bestR := 0, math.Inf(-1)
	for d := 2; 2*d <= p+1; d++ {
		k := int(math.Round(float64(p) / float64(d)))
		if k < 2 || abs(p-k*d) > 1 {
			continue
		}
		if rd := r(d); rd >= MinPeriodACF && rd > bestR && peak(d) {
			best, bestR = d, rd
		}
	}
	if best > 0 {
		return []int{best, best * int(math.Round(float64(p)/float64(best)))}
	}
	unbiased := func(k int) float64 { return r(k) * float64(n) / float64(n-k) }
	base := unbiased(p)
	best, bestR = 0, base+MultiplePeriodGain
	for k := 2; k*p+1 <= maxPeriod && k*p+2 < len(acf); k++ {
		for q := k*p - 1; q <= k*p+1; q++ {
			if u := unbiased(q); u >= bestR && peak(q) {
				best, bestR = q, u
			}
		}
	}
	if best > 0 {
		return []int{p, p * int(math.Round(float64(best)/float64(p)))}
	}
	return []int{p}
}

// MultiplePeriodGain is the least gain in bias-corrected autocorrelation
// for which DetectPeriods adds a multiple of the detected period.
const MultiplePeriodGain = 0.03

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
