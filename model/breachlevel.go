package model

import (
	"cmp"
	"slices"

	"gonum.org/v1/gonum/stat"
)

type pair struct{ x, y float64 }

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
	ps := make([]pair, 0, len(x))
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
	xs, ys := make([]float64, len(ps)), make([]float64, len(ps))
	for i, p := range ps {
		xs[i], ys[i] = p.x, p.y
	}
	return breachLevelSorted(xs, ys, breaches, above)
}

// BreachLevelSorted is BreachLevel for pairs already sorted by x, all
// finite: it neither copies nor sorts them. It panics if len(x) != len(y).
func BreachLevelSorted(x, y []float64, above float64) (level float64, ok bool) {
	if len(x) != len(y) {
		panic("model: slice length mismatch")
	}
	if len(x) < MinBreachLevelPairs {
		return 0, false
	}
	breaches := 0
	for _, v := range y {
		if v > above {
			breaches++
		}
	}
	return breachLevelSorted(x, y, breaches, above)
}

// breachLevelSorted is BreachLevel's estimate over at least
// MinBreachLevelPairs finite pairs sorted by x, breaches of which have
// y > above.
func breachLevelSorted(x, y []float64, breaches int, above float64) (level float64, ok bool) {
	if breaches > 0 {
		// Threshold at x[0]: every non-breach is an error.
		best, bestErr := -1, breaches // -1: predict no breach at all
		errs := len(x) - breaches
		for i := 0; i < len(x); {
			if errs < bestErr {
				best, bestErr = i, errs
			}
			// Move the threshold past every pair at this x.
			j := i
			for ; j < len(x) && x[j] == x[i]; j++ {
				if y[j] > above {
					errs++
				} else {
					errs--
				}
			}
			i = j
		}
		switch {
		case best == 0:
			return x[0], true
		case best > 0:
			return x[best-1]/2 + x[best]/2, true
		}
	}

	if !(above > 0) {
		return 0, false
	}
	h := len(x) / 2
	xs := make([]float64, 0, len(x)-h)
	us := make([]float64, 0, len(x)-h)
	for k := h; k < len(x); k++ {
		if y[k] > 0 {
			xs = append(xs, x[k])
			us = append(us, 1/y[k])
		}
	}
	if len(xs) < MinBreachLevelPairs/2 || xs[0] == xs[len(xs)-1] {
		return 0, false
	}
	a, slope := stat.LinearRegression(xs, us, nil, false)
	b := -slope
	maxX := x[len(x)-1]
	if !(b > 0) {
		return 0, false
	}
	level = (a - 1/above) / b
	if !finite(level) || level > 2*maxX {
		return 0, false
	}
	return max(level, maxX), true
}
