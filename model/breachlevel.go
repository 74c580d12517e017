package model

import (
	"cmp"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat"
)

type pair struct{ x, y float64 }

// pairPool holds BreachLevel's scratch: a controller re-estimates its
// breach levels over a week of pairs every few steps.
var pairPool = sync.Pool{New: func() any { return new([]pair) }}

// MinBreachLevelPairs is the least number of finite (x, y) pairs from which
// BreachLevel says anything.
const MinBreachLevelPairs = 20

// BreachLevel estimates from paired observations the load x at and above
// which the response y exceeds above, e.g. x the request rate and y the p99
// latency, both observed while the service ran at one fixed configuration.
// Pairs with a NaN or ±Inf member are skipped.
//
// If some y exceed above, level is the threshold x* for which the rule
// "x >= x*" misclassifies the fewest pairs as to y > above. Sorted by x, one
// pass counts, for each distinct x(i) taken as x*,
//
//	errors(i) = #{j < i: y(j) > above} + #{j >= i: y(j) <= above}
//
// and x* is the midpoint between x(i) and the largest x below it (x(0)
// itself for i = 0); ties go to the lowest x*. When no threshold does
// better than predicting no breach at all, the breaches are not explained
// by the load and BreachLevel proceeds as if there were none.
//
// If no y exceeds above, it extrapolates an M/M/1-like response, p99 ∝
// 1/(capacity - rate): the least-squares line
//
//	1/y = a - b·x
//
// on the pairs in the upper half of x (with y > 0), and
//
//	x* = (a - 1/above) / b,
//
// accepted only when b > 0 and x* <= 2·max(x). Since no observation up to
// max(x) breached, an x* below max(x) is raised to max(x).
//
// ok is false when there are fewer than MinBreachLevelPairs finite pairs,
// when above <= 0 in the extrapolation, or when nothing sensible can be
// said. It panics if len(x) != len(y).
func BreachLevel(x, y []float64, above float64) (level float64, ok bool) {
	if len(x) != len(y) {
		panic("model: slice length mismatch")
	}
	buf := pairPool.Get().(*[]pair)
	defer pairPool.Put(buf)
	ps := slices.Grow((*buf)[:0], len(x))
	defer func() { *buf = ps[:0] }()
	breaches := 0
	for i := range x {
		if finite(x[i]) && finite(y[i]) {
			ps = append(ps, pair{x[i], y[i]})
			if y[i] > above {
				breaches++
			}
		}
	}
	if len(ps) < MinBreachLevelPairs {
		return 0, false
	}
	slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.x, b.x) })

	if breaches > 0 {
		// Threshold at ps[0]: every non-breach is an error.
		best, bestErr := -1, breaches // -1: predict no breach at all
		errs := len(ps) - breaches
		for i := 0; i < len(ps); {
			if errs < bestErr {
				best, bestErr = i, errs
			}
			// Move the threshold past every pair at this x.
			j := i
			for ; j < len(ps) && ps[j].x == ps[i].x; j++ {
				if ps[j].y > above {
					errs++
				} else {
					errs--
				}
			}
			i = j
		}
		switch {
		case best == 0:
			return ps[0].x, true
		case best > 0:
			return ps[best-1].x/2 + ps[best].x/2, true
		}
	}

	if !(above > 0) {
		return 0, false
	}
	upper := ps[len(ps)/2:]
	xs := make([]float64, 0, len(upper))
	us := make([]float64, 0, len(upper))
	for _, p := range upper {
		if p.y > 0 {
			xs = append(xs, p.x)
			us = append(us, 1/p.y)
		}
	}
	if len(xs) < MinBreachLevelPairs/2 || xs[0] == xs[len(xs)-1] {
		return 0, false
	}
	a, slope := stat.LinearRegression(xs, us, nil, false)
	b := -slope
	maxX := ps[len(ps)-1].x
	if !(b > 0) {
		return 0, false
	}
	level = (a - 1/above) / b
	if !finite(level) || level > 2*maxX {
		return 0, false
	}
	return max(level, maxX), true
}
