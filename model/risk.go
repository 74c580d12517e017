package model

import (
	"math"
)

// Risk is the breach risk over sample paths.
type Risk struct {
	// Probability is the share of paths in which the incident pattern
	// occurs within the horizon.
	Probability float64
	// Steps is the steps to breach: the first step h (1-based) at which the
	// share of paths that have breached by h is at least the trigger (and
	// above zero); -1 when it never is.
	Steps int
}

// BreachRisk computes the share of paths in which the incident pattern
// Pattern{Above: above, Consecutive: k} occurs: a path breaches at the first
// step at which it has been above `above` for k consecutive samples, counting
// the run samples right before the path (the observed history, Hold.Run)
// that were already above. With run = k-1 one path sample above breaches at
// step 1. k < 1 counts as 1, run < 0 as 0; a NaN sample is not above and
// ends a run, as in Incidents.
//
// Steps is the first h with
//
//	#{paths breached at or before h} / len(paths) >= trigger
//
// and -1 when there is none; a trigger <= 0 is met by the first breach of
// any path. Paths may differ in length; an empty set of paths has
// Probability 0 and Steps -1.
func BreachRisk(paths [][]float64, above float64, k, run int, trigger float64) Risk {
	return breachRisk(nil, paths, above, k, run, trigger, 0, 0)
}

// BreachRiskShifted is BreachRisk over the paths point + dev[i]: the
// deviations DeviationsInto draws around a point forecast. A path's step j
// beyond len(point) counts as NaN.
func BreachRiskShifted(point []float64, dev [][]float64, above float64, k, run int, trigger float64) Risk {
	return breachRisk(point, dev, above, k, run, trigger, 0, 0)
}

// BreachShare is the Probability of BreachRisk(paths, above, k, run, ·)
// (of BreachRiskShifted(point, paths, ...) when point is not nil) over
// the first steps samples of the paths (all of them when steps <= 0), for
// a caller that only asks whether it reaches at least: the count stops
// once it does, and any share >= at comes back as the first count of
// paths that reaches it, over len(paths). With at = 1 it is the exact
// share.
func BreachShare(point []float64, paths [][]float64, above float64, k, run int, at float64, steps int) float64 {
	enough := max(int(math.Ceil(at*float64(len(paths))-1e-9)), 1)
	if steps > 0 && point != nil {
		point, steps = point[:min(steps, len(point))], 0
	}
	return breachRisk(point, paths, above, k, run, 1, enough, steps).Probability
}

// breachRisk is BreachRisk over the paths shift + paths[i], or paths[i]
// when shift is nil, over their first steps samples when steps > 0; with
// enough > 0 it stops counting once enough paths have breached (Steps is
// then meaningless).
func breachRisk(shift []float64, paths [][]float64, above float64, k, run int, trigger float64, enough, steps int) Risk {
	horizon := 0
	for _, p := range paths {
		horizon = max(horizon, len(p))
	}
	if steps > 0 {
		horizon = min(horizon, steps)
	}
	if len(paths) == 0 || horizon == 0 {
		return Risk{Steps: -1}
	}
	// first[h] counts the paths whose first breach is at step h+1.
	var buf [64]int // on the stack for the usual horizons
	first := buf[:0]
	if horizon > len(buf) {
		first = make([]int, horizon)
	}
	first = first[:horizon]
	var breached int
	k, run = max(k, 1), max(run, 0)
	for _, p := range paths {
		n := run // samples above in a row
		if steps > 0 && len(p) > steps {
			p = p[:steps]
		}
		for j, v := range p {
			if shift != nil {
				if j >= len(shift) {
					break
				}
				v += shift[j]
			}
			if !(v > above) {
				n = 0
				continue
			}
			if n++; n >= k {
				first[j]++
				breached++
				break
			}
		}
		if enough > 0 && breached >= enough {
			break
		}
	}
	r := Risk{Probability: float64(breached) / float64(len(paths)), Steps: -1}
	var cum int
	for j, c := range first {
		cum += c
		if cum > 0 && float64(cum)/float64(len(paths)) >= trigger {
			r.Steps = j + 1
			break
		}
	}
	return r
}

// Quantile returns the q-quantile (0 <= q <= 1) across paths of the values
// at step h (1-based), linearly interpolated between order statistics:
// with the n finite values sorted as v(0) <= … <= v(n-1),
//
//	Q(q) = v(⌊i⌋) + (i - ⌊i⌋)(v(⌊i⌋+1) - v(⌊i⌋)),  i = q(n-1)
//
// (type 7 of Hyndman & Fan, the default of R and NumPy). Paths shorter than
// h and NaN values are skipped; Quantile returns NaN when nothing is left.
// It panics if q is outside [0, 1] or h < 1.
func Quantile(paths [][]float64, h int, q float64) float64 {
	return Quantiles(paths, h, q)[0]
}

// Quantiles returns Quantile(paths, h, q) for each q in qs, selecting the
// order statistics (quickselect) instead of sorting the values at step h.
func Quantiles(paths [][]float64, h int, qs ...float64) []float64 {
	for _, q := range qs {
		if !(q >= 0 && q <= 1) {
			panic("model: quantile out of range")
		}
	}
	if h < 1 {
		panic("model: step out of range")
	}
	vs := make([]float64, 0, len(paths))
	for _, p := range paths {
		if len(p) >= h && !math.IsNaN(p[h-1]) {
			vs = append(vs, p[h-1])
		}
	}
	out := make([]float64, len(qs))
	if len(vs) == 0 {
		for k := range out {
			out[k] = math.NaN()
		}
		return out
	}
	for k, q := range qs {
		out[k] = quantileSelect(vs, q)
	}
	return out
}
