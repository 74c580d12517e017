package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// CombinationSize is the number of best backtested models that the
// automatic choice combines.
const CombinationSize = 3

// AutoTolerance is the relative improvement below which a parameter search
// of the automatic choice stops early (10 Nelder-Mead iterations in a row),
// within Settings.MaxEvaluations. Explicit models search until the bound or
// gonum's default convergence.
const AutoTolerance = 1e-4

// AutoHuber is the threshold, in robust standard deviations of the
// one-step errors at the starting parameters, beyond which the parameter
// searches of the automatic choice count an error linearly instead of
// squared (Huber's loss): a few gross errors, an outage or a burst, do not
// set the smoothing parameters.
const AutoHuber = 3

// LogShareMin is the least share of finite observations that must be > 0
// for the automatic choice to try models of log y (LogScale); the others
// are missing on that scale.
const LogShareMin = 0.9

// CalibrationQuantile is the quantile of the calibration ratios at which
// the automatic choice sets its 80% interval (see Fit): the nominal level.
const CalibrationQuantile = 0.8

// CalibrationMin and CalibrationMax bound the calibration factors.
const (
	CalibrationMin = 0.2
	CalibrationMax = 10
)

// CalibrationPaths is the number of sample paths per backtest origin from
// which the automatic choice calibrates its intervals.
const CalibrationPaths = 100

// spec is a model name with the periods it uses.
type spec struct {
	name   string
	m1, m2 int
	log    bool // fitted to log y (LogScale)
}

// String returns the name, with the periods the model uses, as
// "holt-winters/24", "double-seasonal/24/168" or "log ar/24/168".
func (sp spec) String() string {
	s := sp.name
	switch {
	case sp.m2 > 0 && (sp.name == NameDoubleSeasonal || sp.name == NameAR):
		s += "/" + strconv.Itoa(sp.m1) + "/" + strconv.Itoa(sp.m2)
	case sp.m1 > 0 && sp.name != NameNaive:
		s += "/" + strconv.Itoa(sp.m1)
	}
	if sp.log {
		s = "log " + s
	}
	return s
}

// fit fits the model to y.
func (sp spec) fit(y []float64, bud budget, start *HoltWintersParams) (Forecaster, error) {
	if sp.log {
		if countPositive(y) < 3 {
			return nil, fmt.Errorf("%s: observations must be > 0: %w", sp, ErrSettings)
		}
		raw := sp
		raw.log = false
		f, err := raw.fit(logOf(y), bud, nil)
		if err != nil {
			return nil, err
		}
		return &LogScale{Forecaster: f}, nil
	}
	switch sp.name {
	case NameHoltWinters:
		return forecaster(fitHoltWinters(y, sp.m1, bud, start))
	case NameHoltWintersMult:
		return forecaster(fitHoltWintersMult(y, sp.m1, bud, start))
	case NameDoubleSeasonal:
		return forecaster(fitDoubleSeasonal(y, sp.m1, sp.m2, bud))
	case NameSeasonalNaive:
		if sp.m1 == 0 {
			return nil, fmt.Errorf("seasonal-naive: no period: %w", ErrSettings)
		}
		return forecaster(fitSeasonalNaive(y, sp.m1))
	case NameNaive:
		return forecaster(fitNaive(y))
	case NameTheta:
		return forecaster(fitTheta(y, sp.m1, bud))
	case NameAR:
		return forecaster(fitAR(y, sp.m1, sp.m2))
	case NameLinearTrend:
		return forecaster(fitLinearTrend(y, sp.m1))
	}
	return nil, fmt.Errorf("%q: %w", sp.name, ErrUnknownModel)
}

// candidates returns the models the automatic choice backtests on a fit
// of n observations with periods m1 < m2 (0 when absent). With names, only
// the models named there (every model that suits the series, Theta and
// multiplicative Holt-Winters included, when names is ["all"]).
func candidates(m1, m2, n int, positive, logOK bool, names []string) []spec {
	all := len(names) == 1 && names[0] == "all"
	var out []spec
	add := func(sp spec, ok, byDefault bool) {
		switch {
		case !ok:
		case all, len(names) == 0 && byDefault, slices.Contains(names, sp.name):
			out = append(out, sp)
		}
	}
	add(spec{name: NameSeasonalNaive, m1: m1}, m1 > 0 && n >= m1, true)
	add(spec{name: NameSeasonalNaive, m1: m2}, m2 > 0 && n >= m2, true)
	add(spec{name: NameHoltWinters, m1: m1}, (m1 > 0 && n >= 2*m1) || (m1 == 0 && n >= MinHolt), true)
	add(spec{name: NameHoltWintersMult, m1: m1}, m1 > 0 && n >= 2*m1 && positive, false)
	add(spec{name: NameDoubleSeasonal, m1: m1, m2: m2}, m2 > 0 && n >= 2*m2, true)
	add(spec{name: NameTheta, m1: m1}, true, false)
	add(spec{name: NameAR, m1: m1, m2: m2}, true, true)
	add(spec{name: NameAR, m1: m1, m2: m2, log: true}, logOK, true)
	add(spec{name: NameLinearTrend, m1: m1}, true, true)
	add(spec{name: NameNaive}, m1 == 0, true)
	return out
}

// backtest is one candidate's rolling-origin backtest.
type backtest struct {
	spec  spec
	fc    [][]float64  // forecasts at each origin
	snap  []Forecaster // the model at each origin
	model Forecaster   // the model at the end of y
}

// fitAuto is the automatic choice documented on Fit.
func fitAuto(y []float64, s Settings) (Forecaster, error) {
	n := len(y)
	H, K := s.horizon(), s.origins()
	m1, m2 := s.period(), s.longPeriod()
	minFit := 2 * MinHolt
	if m1 > 0 {
		minFit = 2 * m1
	}
	if n < minFit+K*H {
		return byLength(y, s)
	}
	n0 := n - K*H
	actual := y[n0:]
	if countFinite(actual) == 0 || countFinite(y[:n0]) < 2 {
		return byLength(y, s)
	}
	positive := allPositive(y)
	logOK := shareAbove0(y) >= LogShareMin
	bud := budget{evals: s.maxEvaluations(), tol: AutoTolerance, huber: AutoHuber}
	var bts []backtest
	for _, sp := range candidates(m1, m2, n0, positive, logOK, s.Candidates) {
		f, err := sp.fit(y[:n0], bud, s.Start)
		if err != nil {
			continue
		}
		bt := backtest{spec: sp, fc: make([][]float64, K), snap: make([]Forecaster, K), model: f}
		for t := n0; t < n; t++ {
			if k := t - n0; k%H == 0 {
				bt.fc[k/H] = f.Forecast(H)
				bt.snap[k/H] = clone(f)
			}
			f.Update(y[t])
		}
		if finite(meanAbsError(actual, bt.fc, H, -1)) {
			bts = append(bts, bt)
		}
	}
	if len(bts) == 0 {
		return byLength(y, s)
	}
	score := meanAbsError
	if positive {
		score = meanSMAPE
	}
	best := choose(bts, actual, H, -1, score)
	// Calibrate on origins the choice did not see: at each origin, the
	// combination chosen from the other origins (from all when there is
	// only one).
	rng := s.Rand()
	scales := make([]float64, K)
	for o := range K {
		ch := best
		if K > 1 {
			ch = choose(bts, actual, H, o, score)
		}
		scales[o] = calibration(bts[ch[0]].snap[o], combined(bts, ch, o, H), actual[o*H:(o+1)*H], rng)
	}
	// Refit the members on all of y, from their backtest parameters when
	// they have some.
	fits := make([]Forecaster, len(best))
	for i, k := range best {
		bt := bts[k]
		start := s.Start
		if hw, ok := bt.model.(*HoltWinters); ok {
			p := hw.Params()
			start = &p
		}
		f, err := bt.spec.fit(y, bud, start)
		if err != nil {
			f = bt.model // the backtest fit, run to the end of y
		}
		fits[i] = f
	}
	var out Forecaster = fits[0]
	if len(fits) > 1 {
		out = NewCombination(fits...)
	}
	return &Calibrated{Forecaster: out, Scales: scales}, nil
}

// choose ranks the backtests by score over the origins other than skip
// (every origin when skip < 0) and returns the indices of the
// CombinationSize best, best first.
func choose(bts []backtest, actual []float64, H, skip int, score func(y []float64, fc [][]float64, H, skip int) float64) []int {
	order := make([]int, len(bts))
	scores := make([]float64, len(bts))
	for i := range bts {
		order[i] = i
		scores[i] = score(actual, bts[i].fc, H, skip)
		if math.IsNaN(scores[i]) {
			scores[i] = math.Inf(1)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch sa, sb := scores[a], scores[b]; {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	return order[:min(CombinationSize, len(order))]
}

// combined returns the combination's backtest forecast at origin o.
func combined(bts []backtest, members []int, o, H int) []float64 {
	fs := make([][]float64, len(members))
	for i, k := range members {
		fs[i] = bts[k].fc[o]
	}
	return combine(fs, H)
}

// meanAbsError returns the mean |y − f| over the finite y, with fc the
// H-step forecasts of consecutive origins, skipping origin skip; +Inf when
// a forecast is not finite and NaN when no y is finite.
func meanAbsError(y []float64, fc [][]float64, H, skip int) float64 {
	// Halved: no overflow near the limits.
	return 2 * meanError(y, fc, H, skip, func(a, v float64) float64 { return math.Abs(a/2 - v/2) })
}

// meanSMAPE is meanAbsError with the M4 symmetric absolute percentage error
// |y − f| / (|y| + |f|) (without the factor 200) in place of |y − f|.
func meanSMAPE(y []float64, fc [][]float64, H, skip int) float64 {
	return meanError(y, fc, H, skip, func(a, v float64) float64 {
		if d := math.Abs(a/2) + math.Abs(v/2); d > 0 {
			return math.Abs(a/2-v/2) / d
		}
		return 0
	})
}

// meanError returns the mean of e(y, f) over the finite y, with fc the
// H-step forecasts of consecutive origins, skipping origin skip; +Inf when
// a forecast is not finite and NaN when no y is finite.
func meanError(y []float64, fc [][]float64, H, skip int, e func(a, v float64) float64) float64 {
	var sum float64
	var k int
	for o, f := range fc {
		if o == skip {
			continue
		}
		for j, v := range f {
			if !finite(v) {
				return math.Inf(1)
			}
			a := y[o*H+j]
			if !finite(a) {
				continue
			}
			sum += e(a, v)
			k++
		}
	}
	if k == 0 {
		return math.NaN()
	}
	return sum / float64(k)
}

// calibration returns the factor by which f's path deviations must be
// scaled for its [10%, 90%] path band, recentred on fc, to cover a share
// CalibrationQuantile of the finite y; see Fit.
func calibration(f Forecaster, fc, y []float64, rng *rand.Rand) float64 {
	H := len(fc)
	paths := f.Paths(H, CalibrationPaths, rng)
	base := f.Forecast(H)
	vals := make([]float64, len(paths))
	var ratios []float64
	for j := range H {
		a := y[j]
		if !finite(a) {
			continue
		}
		for i, p := range paths {
			vals[i] = p[j]/2 - base[j]/2
		}
		lo, hi := -quantileSelect(vals, 0.1), quantileSelect(vals, 0.9)
		var r float64
		switch e := a/2 - fc[j]/2; {
		case e > 0 && hi > 0:
			r = e / hi
		case e < 0 && lo > 0:
			r = -e / lo
		case e == 0:
			r = 0
		default:
			r = math.Inf(1)
		}
		if !math.IsNaN(r) {
			ratios = append(ratios, r)
		}
	}
	if len(ratios) == 0 {
		return 1
	}
	c := quantileSelect(ratios, CalibrationQuantile)
	if math.IsNaN(c) {
		return 1
	}
	return math.Max(CalibrationMin, math.Min(c, CalibrationMax))
}

// quantileSelect is the type-7 quantile (see Quantile) of v, which must
// hold no NaN and which it reorders: a quickselect instead of a sort.
func quantileSelect(v []float64, q float64) float64 {
	i := q * float64(len(v)-1)
	lo := int(i)
	a := nth(v, lo)
	if frac := i - float64(lo); frac > 0 && lo+1 < len(v) {
		if b := slices.Min(v[lo+1:]); b != a {
			return a + frac*(b-a)
		}
	}
	return a
}

// nth reorders v so that v[k] is its k-th smallest element, with no larger
// one before it and no smaller one after it, and returns v[k].
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		pivot := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

func shareAbove0(y []float64) float64 {
	return float64(countPositive(y)) / float64(max(countFinite(y), 1))
}

func countPositive(y []float64) int {
	c := 0
	for _, v := range y {
		if v > 0 && finite(v) {
			c++
		}
	}
	return c
}
