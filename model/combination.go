package model

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// Combination forecasts the median of its members' forecasts at each step
// (the mean when it has two). M4 found combinations of a few models more
// accurate than any one of them (Makridakis et al. 2020).
//
// Its sample paths are the first member's paths (the best of the
// backtest) recentred on the combination:
//
//	path(j) = ŷ(T+j) + path₁(j) − ŷ₁(T+j)
//
// so that the risk and the intervals keep the best member's dynamics; Fit
// then calibrates their scale (Calibrated).
type Combination struct {
	members []Forecaster
}

var _ Forecaster = (*Combination)(nil)

// NewCombination returns the combination of members, the first being the
// one whose paths the combination uses. It panics when members is empty.
func NewCombination(members ...Forecaster) *Combination {
	if len(members) == 0 {
		panic("model: empty combination")
	}
	return &Combination{members: slices.Clone(members)}
}

// Name returns "combination".
func (*Combination) Name() string { return NameCombination }

// Members returns the combined models, best first.
func (cb *Combination) Members() []Forecaster { return slices.Clone(cb.members) }

// String lists the members' names, as "combination(holt-winters, ar, theta)".
func (cb *Combination) String() string {
	names := make([]string, len(cb.members))
	for i, f := range cb.members {
		names[i] = f.Name()
	}
	return "combination(" + strings.Join(names, ", ") + ")"
}

// Update updates every member.
func (cb *Combination) Update(y float64) {
	for _, f := range cb.members {
		f.Update(y)
	}
}

// Forecast returns the median of the members' forecasts at each step.
func (cb *Combination) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	fs := make([][]float64, len(cb.members))
	for i, f := range cb.members {
		fs[i] = f.Forecast(h)
	}
	return combine(fs, h)
}

// combine returns the element-wise median of fs (the mean of two).
func combine(fs [][]float64, h int) []float64 {
	out := make([]float64, h)
	v := make([]float64, len(fs))
	for j := range out {
		for i, f := range fs {
			v[i] = f[j]
		}
		out[j] = median(v)
	}
	return out
}

// median returns the median of v, sorting it; the mean of the middle two
// for an even length. Halving before adding keeps values near the float64
// limits finite.
func median(v []float64) float64 {
	slices.Sort(v)
	k := len(v)
	if k%2 == 1 {
		return v[k/2]
	}
	return v[k/2-1]/2 + v[k/2]/2
}

// Paths returns the best member's paths recentred on the combination.
func (cb *Combination) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := cb.members[0].Paths(h, n, rng)
	f0 := cb.members[0].Forecast(h)
	fc := cb.Forecast(h)
	for _, p := range out {
		for j := range p {
			p[j] = bound(recentre(p[j], f0[j], fc[j], 1))
		}
	}
	return out
}
