package controller

import (
	"math"

	"github.com/presage-dev/presage/model"
)

// Screening. Most steps the forecast is nowhere near the breach level, and
// drawing forecast.paths sample paths to find a risk of zero is most of a
// step's work. samplePaths skips them in two stages, and draws them all
// only when the risk could reach forecast.clear:
//
//  1. Far: the spread of the current model's paths above its point
//     forecast, measured at its last full draw (at most envelopeMaxAge
//     steps ago), widened by envelopeSafety, stays below the current
//     level's breach level at one step of every k in a row (k the
//     incident pattern's samples, fewer at the start by the run already
//     above), and, at a level above 0, so it does at the breach level
//     beneath too, or (with the
//     spread below the forecast) above it for the steps that complete the
//     incident pattern: every path breaches there.
//     For the additive Holt-Winters model the spread does not depend on
//     the state, only on the parameters and the residuals, so it carries
//     from one step to the next, and across a warm refit of the same model
//     (whose parameters move little); another kind of model is measured
//     afresh. The spread is kept both as a difference and as a ratio to
//     the forecast, and the wider of the two is used.
//  2. Screen: a batch of screenPaths paths (the first of the full draw)
//     has no path in which the incident pattern occurs at the current
//     level's breach level, and, at a level above 0, none or at least half
//     of them breach at the level beneath within the reverted action's
//     reach (the risk one level down, which decides reverts against
//     forecast.clear; the envelope's test of stage 1 is over the reach
//     too). If the true risk were the
//     default clear 0.2, no path of 20 would breach with probability
//     0.8^20 ≈ 1%, and half of them with probability 0.3%; a revert needs
//     revert_after of clear steps in a row, and escalating needs the risk
//     at the current level to reach the trigger, which 20 paths without a
//     breach rule out.
//
// A skipped step has risk 0 at the current level and no time to breach;
// the risk one level down is 0 or 1 (far), or the screening batch's share
// (0, or at least one half). Decisions stay deterministic: the random
// source is drawn only on steps that the same inputs select.
const (
	screenPaths    = 20
	screenHalf     = 0.5
	envelopeSafety = 1.5
	envelopeMaxAge = 120
)

// sameKind reports whether two forecasters are the same model with the
// same period (a warm refit), whose paths spread alike.
func sameKind(a, b model.Forecaster) bool {
	if a == nil || b == nil || a.Name() != b.Name() {
		return false
	}
	type periodic interface{ Period() int }
	pa, okA := a.(periodic)
	pb, okB := b.(periodic)
	return okA == okB && (!okA || pa.Period() == pb.Period())
}

// envelope is how far the sample paths of the current model reached above
// its point forecast at its last full draw.
type envelope struct {
	ok  bool
	age int // steps since it was measured
	// exact is set when the envelope is that of a model's fixed deviations
	// (model.DeviationsInto): it holds every path of every step until the
	// next fit, and safety is 1; otherwise safety is envelopeSafety.
	exact  bool
	safety float64
	abs    []float64 // per step ahead: max over paths of path − forecast, ≥ 0
	rel    []float64 // the same as a ratio to |forecast| (0 where the forecast is 0)
	// absDown and relDown are the same below the forecast: max over paths
	// of forecast − path.
	absDown, relDown []float64
	dev              [3]float64
	// dev is the horizon's 10%, 50% and 90% quantiles of the paths minus
	// the point forecast, for the forecast band of a skipped step.
}

// measure records the spread of paths around the point forecast; q holds
// their quantiles at the horizon.
func (e *envelope) measure(paths [][]float64, point []float64, q [3]float64) {
	h := len(point)
	e.abs, e.rel = grow(e.abs, h), grow(e.rel, h)
	e.absDown, e.relDown = grow(e.absDown, h), grow(e.relDown, h)
	clear(e.abs)
	clear(e.absDown)
	for _, p := range paths { // path by path: each is contiguous
		for j, v := range p[:min(len(p), h)] {
			e.abs[j] = max(e.abs[j], v-point[j])
			e.absDown[j] = max(e.absDown[j], point[j]-v)
		}
	}
	for j := range h {
		e.rel[j], e.relDown[j] = 0, 0
		if point[j] != 0 {
			e.rel[j], e.relDown[j] = e.abs[j]/math.Abs(point[j]), e.absDown[j]/math.Abs(point[j])
		}
	}
	for i := range q {
		e.dev[i] = q[i] - point[h-1]
	}
	e.ok, e.age, e.exact, e.safety = true, 0, false, envelopeSafety
}

// deviations records the exact envelope of a model's fixed deviations
// from its point forecast.
func (e *envelope) deviations(dev [][]float64) {
	h := len(dev[0])
	var q [3]float64
	copy(q[:], model.Quantiles(dev, h, 0.1, 0.5, 0.9))
	e.measure(dev, make([]float64, h), q)
	e.exact, e.safety = true, 1
}

// below reports whether no path within the widened envelope around point
// can complete the incident pattern at level: the envelope's upper bound
// reaches level at no k steps in a row, the run at the start of the
// horizon counting the run samples already above before it. A path that
// breaches is above level for k steps in a row, and so is the upper bound
// of an envelope that holds it.
func (e *envelope) below(point []float64, level float64, k, run int) bool {
	if len(e.abs) < len(point) {
		return false
	}
	k = max(k, 1)
	n := min(max(run, 0), k-1) // steps in a row the envelope reached level
	for j, f := range point {
		if math.IsNaN(f) {
			return false
		}
		if f+e.safety*max(e.abs[j], e.rel[j]*math.Abs(f)) < level {
			n = 0
			continue
		}
		if n++; n >= k {
			return false
		}
	}
	return true
}

// above reports whether the widened envelope around point stays above
// level at each of the first k steps: every path breaches there.
func (e *envelope) above(point []float64, level float64, k int) bool {
	if len(e.absDown) < len(point) || k > len(point) {
		return false
	}
	for j, f := range point[:k] {
		if math.IsNaN(f) || f-e.safety*max(e.absDown[j], e.relDown[j]*math.Abs(f)) <= level {
			return false
		}
	}
	return true
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// screened is what the screening found: when skip is set, no full draw
// was made and risk and below are the risks at the current level and the
// one beneath (0 or 1; see samplePaths).
type screened struct {
	skip        bool
	risk, below float64
}

// pathSet is a step's sample paths: paths itself, or, when point is set,
// the paths point + paths[i] (the fixed deviations of an additive model;
// see model.DeviationsInto).
type pathSet struct {
	paths [][]float64
	point []float64
}

// risk is model.BreachRisk over the set's paths.
func (ps pathSet) risk(above float64, k, run int, trigger float64) model.Risk {
	if ps.point != nil {
		return model.BreachRiskShifted(ps.point, ps.paths, above, k, run, trigger)
	}
	return model.BreachRisk(ps.paths, above, k, run, trigger)
}

// share is model.BreachShare over the set's paths within their first
// steps samples.
func (ps pathSet) share(above float64, k, run int, at float64, steps int) float64 {
	return model.BreachShare(ps.point, ps.paths, above, k, run, at, steps)
}

// head returns the set's first n paths.
func (ps pathSet) head(n int) pathSet { return pathSet{paths: ps.paths[:n], point: ps.point} }

// samplePaths returns the service's sample paths over the horizon (in the
// service's buffers, valid until its next step) and
// fills q with their 10%, 50% and 90% quantiles at the horizon. th is the
// breach level at the current playbook level, below the one beneath (NaN
// at level 0), run the samples already above (Hold.Run, capped). When the
// screening (above) settles the risks, the set is empty, sc.skip is set
// and q comes from the point forecast and the envelope, or the screening
// batch.
// The screening batch settles them when no path breaches at th and, at a
// level above 0, none or at least half breach at below: the risk one
// level down is then on one side of forecast.clear or the other.
//
// For the additive models (Holt-Winters, the naive models) the paths are
// the point forecast plus deviations drawn once per fit
// (model.DeviationsInto): a step then draws nothing, the envelope is the
// deviations' own, exact, and the quantiles are exact too.
func (c *Controller) samplePaths(s *service, th, below float64, reach, run int, q *[3]float64) (ps pathSet, sc screened) {
	n, h := s.cfg.Forecast.Paths, s.horizon
	quantiles := func(ps [][]float64) {
		copy(q[:], model.Quantiles(ps, h, 0.1, 0.5, 0.9))
	}
	if len(s.paths) != n || len(s.paths[0]) != h {
		s.paths = model.NewPaths(h, n)
		s.devFor = nil
	}
	if c.full {
		model.PathsInto(s.fc, s.paths, s.rng)
		quantiles(s.paths)
		return pathSet{paths: s.paths}, sc
	}
	k := s.pattern.Consecutive
	s.point = grow(s.point, h)
	point := s.point
	model.ForecastInto(s.fc, point)
	if s.devFor != s.fc {
		s.devFor, s.shifted = s.fc, model.DeviationsInto(s.fc, s.paths, s.rng)
		if s.shifted {
			s.env.deviations(s.paths)
		} else if s.env.exact {
			s.env.ok = false
		}
	}
	fresh := s.env.ok && (s.env.exact || s.env.age < envelopeMaxAge)
	if fresh && !math.IsNaN(th) {
		s.env.age++
		if sc = s.env.settle(point, th, below, reach, k, run); sc.skip {
			for i := range q {
				q[i] = point[h-1] + s.env.dev[i]
			}
			return pathSet{}, sc
		}
	}
	if s.shifted {
		ps = pathSet{paths: s.paths, point: point}
		for i := range q {
			q[i] = point[h-1] + s.env.dev[i]
		}
		if sc, ok := screen(ps, th, below, reach, k, run); ok {
			return pathSet{}, sc
		}
		return ps, screened{}
	}
	ps = pathSet{paths: s.paths}
	if n0 := min(n, screenPaths); n0 < n && fresh {
		model.PathsInto(s.fc, ps.paths[:n0], s.rng)
		if sc, ok := screen(ps, th, below, reach, k, run); ok {
			quantiles(ps.paths[:n0])
			return pathSet{}, sc
		}
		model.PathsInto(s.fc, ps.paths[n0:], s.rng)
	} else {
		model.PathsInto(s.fc, ps.paths, s.rng)
	}
	quantiles(ps.paths)
	s.env.measure(ps.paths, point, *q)
	return ps, screened{}
}

// settle is the screening's first stage (see samplePaths): whether the
// envelope around point settles the risks at th and below.
func (e *envelope) settle(point []float64, th, below float64, reach, k, run int) screened {
	sc := screened{skip: e.below(point, th, k, run)}
	if sc.skip && !math.IsNaN(below) {
		within := point[:min(reach, len(point))]
		switch need := max(1, k-run); {
		case e.below(within, below, k, run):
		case e.above(within, below, need):
			sc.below = 1 // every path breaches one level down
		default:
			sc.skip = false
		}
	}
	return sc
}

// screen is the screening's second stage (see samplePaths) over the first
// screenPaths paths of ps, which must hold more than that; ok when it
// settles the risks.
func screen(ps pathSet, th, below float64, reach, k, run int) (sc screened, ok bool) {
	if len(ps.paths) <= screenPaths {
		return sc, false
	}
	batch := ps.head(screenPaths)
	if batch.risk(th, k, run, 1).Probability > 0 {
		return sc, false
	}
	sc = screened{skip: true}
	if !math.IsNaN(below) {
		sc.below = batch.share(below, k, run, 1, reach)
		sc.skip = sc.below == 0 || sc.below >= screenHalf
	}
	return sc, sc.skip
}
