package controller

import (
	"errors"
	"math"
	"time"

	"github.com/presage-dev/presage/model"
)

// warmEvaluations bounds a refit that starts from the previous fit: a warm
// start begins near the optimum and needs few evaluations, and a refit is
// most of the forecasting's time.
const warmEvaluations = 20

// A warm refit that leaves the forecast where it was (no point of the
// horizon moved by more than refitSteady relatively) is steady: the
// schedule's next refit is passed over, then the next three, then seven
// (refitBackoffMax) in a row, the model meanwhile updated by each
// observation as between any two refits; a refit that moves the forecast
// resets the schedule. Warm refits are most of a replay's time, and a
// forecast that a refit does not move needs no refit soon.
const (
	refitSteady     = 0.02
	refitBackoffMax = 7
)

// coldFitBudget bounds the time a step spends on refits before it holds
// back the cold ones: those that start from no earlier parameters (a
// model of another kind or period than the one forecasting, as the
// seasonal one once the history covers two periods), tens of milliseconds
// of CPU each, where a warm refit takes a fraction of one. Services that
// start together (a controller started with empty histories) reach those
// points together: 10,000 of them would make one step of minutes. Past the
// budget (the fits' time summed over the step's goroutines) a service
// keeps forecasting with the model it has and tries again at the next
// step, without finding its period anew. A step's first fit always runs,
// so a controller of one service (a replay's) is never held back, and a
// service's very first fit, with no model at all, is not either. Half a
// second leaves the rest of a second of CPU to the step's other work.
const coldFitBudget = 500 * time.Millisecond

// windowPeriods is how many seasonal periods of history a refit fits on.
// Two gave the same incidents but a lower precision than four on the same
// services.
const windowPeriods = 4

// forecastModel refits the model when the refit schedule says so (against
// the step's time) and otherwise feeds it the new observation.
func (c *Controller) forecastModel(s *service, y float64, now time.Time) {
	c.trackError(s, y)
	defer func() {
		s.prevForecast = math.NaN()
		if s.fc != nil {
			var one [1]float64
			model.ForecastInto(s.fc, one[:])
			s.prevForecast = one[0]
		}
	}()
	if s.fixed || s.fc != nil && now.Before(s.next) {
		s.fc.Update(y)
		return
	}
	s.next = s.nextRefit(now)
	if s.fc != nil && s.passed < s.backoff && !s.deferred {
		s.passed++
		s.fc.Update(y)
		return
	}
	s.passed = 0
	if s.cfg.Forecast.Period == 0 && !s.deferred {
		s.period = c.detectPeriod(s)
	}
	window := s.hist.len()
	if s.period > 0 {
		// double-seasonal fits on two of its long periods.
		window = min(window, max(windowPeriods*s.period, 2*s.long))
	}
	ms := model.Settings{Period: s.period, Model: s.cfg.Forecast.Model, Seed: s.cfg.Forecast.Seed,
		Events: c.eventMask(s, window, now)}
	if s.long > 0 {
		ms.Periods = []int{s.long}
	}
	if ms.Model == model.NameCombination {
		// The backtest that chooses the combination scores the horizon
		// the risk looks over.
		ms.Horizon = s.horizon
	}
	// Before two periods of history the automatic choice fits Holt's
	// model without a season (model.Fit), refitted until then as well.
	fitPeriod := s.period
	if s.period > 0 && window < 2*s.period {
		fitPeriod = 0
	}
	warm := false
	base := s.fc
	if ev, ok := base.(*model.Events); ok {
		base = ev.Forecaster
	}
	if hw, ok := base.(*model.HoltWinters); ok && hw.Period() == fitPeriod &&
		(ms.Model == model.NameHoltWinters || !explicitModel(ms.Model)) {
		// A refit starts from the previous parameters: it converges in
		// far fewer evaluations.
		p := hw.Params()
		ms.Start, ms.MaxEvaluations = &p, warmEvaluations
		warm = true
	}
	if !warm && s.fc != nil && c.fitting.Load() >= int64(c.fitBudget) {
		// The step's refits have had their time: the model forecasts on,
		// updated, and the refit is tried again at the next step.
		s.fc.Update(y)
		s.next, s.deferred = now, true
		return
	}
	s.deferred = false
	began := time.Now()
	defer func() { c.fitting.Add(int64(time.Since(began))) }()
	recent := s.hist.last(window)
	fc, err := model.Fit(recent, ms)
	switch {
	case err != nil && explicitModel(ms.Model) && (s.fc == nil || s.interim):
		// The configured model cannot be fitted yet (it needs more history
		// than there is, or this history does not suit it): the automatic
		// choice by length forecasts until it can. A configured model that
		// has forecast before and fails a refit keeps forecasting instead.
		c.tel.refits.WithLabelValues(s.cfg.Name, ms.Model, "failed").Inc()
		if !s.interim {
			log := c.log.Warn
			if errors.Is(err, model.ErrShortHistory) {
				log = c.log.Info
			}
			log("the configured model cannot be fitted yet: the automatic choice forecasts until it can",
				"service", s.cfg.Name, "model", ms.Model, "err", err)
			s.interim = true
		}
		ms.Model, ms.Periods, ms.Start, ms.MaxEvaluations = model.NameAuto, nil, nil, 0
		warm = false
		fc, err = model.Fit(recent, ms)
	case err == nil && s.interim:
		c.log.Info("the configured model now forecasts", "service", s.cfg.Name, "model", fc.Name(), "points", window)
		s.interim = false
	}
	if err != nil {
		c.tel.refits.WithLabelValues(s.cfg.Name, ms.Model, "failed").Inc()
		if s.fc != nil {
			s.fc.Update(y)
		}
		if errors.Is(err, model.ErrShortHistory) {
			// Too little history for any model yet: try again next step.
			s.next = now
			return
		}
		if s.fc != nil {
			c.log.Warn("model fit failed; keeping the previous model until the next refit", "service", s.cfg.Name, "err", err)
		} else {
			c.log.Warn("model fit failed; no forecast until the next refit", "service", s.cfg.Name, "err", err)
		}
		return
	}
	if !sameKind(s.fc, fc) {
		s.env.ok = false // another kind of model: measure its paths' spread afresh
	}
	prev := s.backoff
	s.backoff = 0
	if warm && sameKind(s.fc, fc) {
		s.fc.Update(y) // the previous model at now, to compare with the refit
		if steady(s.fc.Forecast(s.horizon), fc.Forecast(s.horizon)) {
			s.backoff = min(2*prev+1, refitBackoffMax)
		}
	}
	s.fc = fc
	c.tel.refits.WithLabelValues(s.cfg.Name, fc.Name(), "ok").Inc()
	c.log.Debug("model fitted", "service", s.cfg.Name, "model", fc.Name(), "points", window)
}

// nextRefit returns the time of the service's next refit after now: the
// refit schedule's next time, shifted later by the service's own share
// (s.jitter, a hash of its name) of the schedule's interval (the gap
// between its next two times). Services that share a schedule refit at
// their own offsets within each of its intervals, spread evenly, and not
// all at the step at which it fires: a refit is most of a forecasting
// step's time, and a thousand at once make one step seconds long.
func (s *service) nextRefit(now time.Time) time.Time {
	a := s.refit.Next(now)
	d := time.Duration(s.jitter * float64(s.refit.Next(a).Sub(a)))
	return s.refit.Next(now.Add(-d)).Add(d)
}

// refitShare returns a service's share of its refit schedule's interval
// by which its refits come later, in [0, 1): a hash of its name, so that
// it does not change from one run to the next, nor with the other
// services configured. FNV-1a's high bits barely change with the last
// characters of a name (svc-0001, svc-0002, ...), so the hash goes through
// SplitMix64's finaliser, which spreads every bit over all of them.
func refitShare(name string) float64 {
	z := nameStream(name) // the name's FNV-1a
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// explicitModel reports whether name is one model, not a choice among
// models.
func explicitModel(name string) bool {
	return name != "" && name != model.NameAuto && name != model.NameCombination
}

// steady reports whether the refit's forecast b is within refitSteady of
// the previous model's a at every step, relatively to a.
func steady(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for j := range a {
		if !(math.Abs(b[j]-a[j]) <= refitSteady*math.Abs(a[j])) {
			return false
		}
	}
	return true
}

// errorWindow is how many recent one-step forecast errors the live MAE and
// MAPE are computed over.
const errorWindow = 60

// trackError scores the previous step's one-step forecast against y and
// exports the rolling mean absolute error and mean absolute percentage
// error (as a ratio; samples where y is 0 are left out of it).
func (c *Controller) trackError(s *service, y float64) {
	f := s.prevForecast
	if s.tel == nil || math.IsNaN(f) || math.IsNaN(y) {
		return // the errors are kept for the exported MAE and MAPE only
	}
	s.errAbs.push(math.Abs(y - f))
	if y != 0 {
		s.errPct.push(math.Abs((y - f) / y))
	}
	var mape float64
	if s.errPct.len() > 0 {
		mape = s.errPct.mean()
	}
	s.tel.setError(s.errAbs.mean(), mape, s.errPct.len() > 0)
}

// detectPeriod finds the forecast signal's period in its history
// (model.DetectPeriod), snapped to an hour, a day or a week when within 2%
// of one; 0 when there is none.
func (c *Controller) detectPeriod(s *service) int {
	p, ok := model.DetectPeriod(s.hist.last(s.hist.len()), 0)
	if !ok {
		return 0
	}
	for _, cal := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		steps := int(cal / c.interval)
		if steps >= 2 && math.Abs(float64(p-steps)) <= 0.02*float64(steps) {
			return steps
		}
	}
	return p
}
