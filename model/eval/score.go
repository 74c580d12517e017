package eval

import (
	"math"

	"github.com/presage-dev/presage/model"
)

// SMAPE returns the symmetric absolute percentage errors of the M4
// competition,
//
//	sMAPE(t) = 200 |y(t) − f(t)| / (|y(t)| + |f(t)|),
//
// for each step where y is finite (NaN elsewhere); 0 when y = f = 0.
// It panics when the lengths differ.
func SMAPE(y, f []float64) []float64 {
	if len(y) != len(f) {
		panic("eval: slice length mismatch")
	}
	out := make([]float64, len(y))
	for t := range y {
		out[t] = smape(y[t], f[t])
	}
	return out
}

// smape is SMAPE at one step.
func smape(y, f float64) float64 {
	switch d := math.Abs(y) + math.Abs(f); {
	case !finite(y):
		return math.NaN()
	case d == 0:
		return 0
	default:
		return 200 * math.Abs(y-f) / d
	}
}

// MASEScale returns the denominator of the M4 MASE for the in-sample series
// x and the seasonal lag m: the mean absolute seasonal difference
//
//	Q = mean_{t ≥ m} |x(t) − x(t−m)|
//
// over the pairs where both are finite (m < 1 counts as 1). It is NaN when
// there is no such pair.
func MASEScale(x []float64, m int) float64 {
	m = max(m, 1)
	var sum float64
	var k int
	for t := m; t < len(x); t++ {
		if finite(x[t]) && finite(x[t-m]) {
			sum += math.Abs(x[t] - x[t-m])
			k++
		}
	}
	if k == 0 {
		return math.NaN()
	}
	return sum / float64(k)
}

// MASE returns |y(t) − f(t)| / scale for each step where y is finite (NaN
// elsewhere), scale from MASEScale.
func MASE(y, f []float64, scale float64) []float64 {
	if len(y) != len(f) {
		panic("eval: slice length mismatch")
	}
	out := make([]float64, len(y))
	for t := range y {
		out[t] = math.NaN()
		if finite(y[t]) {
			out[t] = math.Abs(y[t]-f[t]) / scale
		}
	}
	return out
}

// OWA returns the overall weighted average of the M4 competition: the mean
// of the method's sMAPE and MASE, each relative to Naive2's,
//
//	OWA = ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2),
//
// all four being averages over every series and step.
func OWA(smape, mase, smapeNaive2, maseNaive2 float64) float64 {
	return (smape/smapeNaive2 + mase/maseNaive2) / 2
}

// Naive2 returns the M4 Naive2 benchmark forecast for h steps after x: the
// last observation of the seasonally adjusted series, seasonalised again.
// When x passes the M4 seasonality test at lag m (model.Seasonal: 90%,
// n ≥ 3m), the seasonal indices come from classical multiplicative
// decomposition (model.Decompose; additive when some value is ≤ 0, where
// the multiplicative one is undefined), else there is no adjustment. The
// phase of x[0] is 0, as in R's ts(x, frequency = m). Missing values are
// skipped: the last finite observation is used.
func Naive2(x []float64, h, m int) []float64 {
	n := len(x)
	last := -1
	for t := n - 1; t >= 0; t-- {
		if finite(x[t]) {
			last = t
			break
		}
	}
	out := make([]float64, h)
	if last < 0 {
		for j := range out {
			out[j] = math.NaN()
		}
		return out
	}
	if !model.Seasonal(x, m) {
		for j := range out {
			out[j] = x[last]
		}
		return out
	}
	mult := positive(x)
	idx := model.Decompose(x, m, mult)
	var des float64
	if mult {
		des = x[last] / idx[last%m]
	} else {
		des = x[last] - idx[last%m]
	}
	for j := range out {
		s := idx[(n+j)%m]
		if mult {
			out[j] = des * s
		} else {
			out[j] = des + s
		}
	}
	return out
}

func positive(x []float64) bool {
	for _, v := range x {
		if finite(v) && !(v > 0) {
			return false
		}
	}
	return true
}

func finite(v float64) bool { return v-v == 0 }
