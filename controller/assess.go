package controller

import (
	"math"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// assess fills the risk inputs of the decision.
func (c *Controller) assess(s *service, in *policy.Input, rec *Record, lat, load float64, level int) {
	if s.settings.Mode == policy.Plan {
		c.assessPlan(s, in, rec, load)
		return
	}
	// The risk one level down starts from whether that level would breach
	// now (the revert rule of reactive, and of predictive without a model
	// yet or with forecast.revert reach: policy.Beneath.Holds).
	if level > 0 {
		b := policy.Beneath{Load: load, Level: math.NaN(), LatencyAbove: lat > s.pattern.Above}
		if s.signal != metrics.Latency {
			b.Level = c.breachLevel(s, level-1)
		}
		in.RiskBelow = b2f(b.Holds())
	}
	in.LevelKnown = s.signal == metrics.Latency || s.levels[min(level, len(s.levels)-1)].known
	if s.signal != metrics.Latency && s.cfg.Forecast.Imminent != config.ImminentOff && s.hold.State() == model.Pending {
		in.Imminent = c.underway(s, load, level).Imminent()
	}
	if s.fc == nil {
		return
	}
	th, thBelow := c.threshold(s, level), math.NaN()
	if level > 0 {
		thBelow = c.threshold(s, level-1)
	}
	run := min(s.hold.Run, max(s.pattern.Consecutive-1, 0))
	// One level down, the predictive policy holds (forecast.revert
	// "reach") while the load now is at or above what that level takes
	// (Beneath.Holds, as reactive does) and while the forecast breaches there
	// before it could bring the action back: within the action's reach
	// (warm-up + margin). With "horizon" it holds while the forecast
	// breaches there within the horizon, which holds the actions through
	// every peak the forecast band covers (docs/algorithm.md, "Reverts").
	reach := c.reach(s, level)
	if s.cfg.Forecast.Revert == config.RevertHorizon {
		reach = s.horizon
		if s.settings.Mode.Forecasts() {
			in.RiskBelow = 0
		}
	}
	paths, sc := c.samplePaths(s, th, thBelow, reach, run, &rec.Forecast)
	if !s.settings.Mode.Forecasts() {
		return
	}
	if sc.skip {
		in.Risk, rec.Risk = sc.risk, sc.risk
		if level > 0 {
			in.RiskBelow = max(in.RiskBelow, sc.below)
		}
		return
	}
	r := paths.risk(th, s.pattern.Consecutive, run, s.settings.Trigger)
	in.Risk, rec.Risk = r.Probability, r.Probability
	if r.Steps >= 0 {
		in.TimeToBreach = time.Duration(r.Steps) * c.interval
	}
	rec.TimeToBreach = in.TimeToBreach
	if level > 0 && in.RiskBelow < 1 {
		in.RiskBelow = max(in.RiskBelow, paths.share(thBelow, s.pattern.Consecutive, run, 1, reach))
	}
}

// assessPlan fills the planner's input: the response model, the sample
// paths of the forecast signal (none when the screening finds that no path
// reaches the lowest breach level of any set), and the risk at the engaged
// set. Without a model yet, the one path is the load now, held.
func (c *Controller) assessPlan(s *service, in *policy.Input, rec *Record, load float64) {
	resp := c.response(s)
	cur := s.st.Mask()
	run := min(s.hold.Run, max(s.pattern.Consecutive-1, 0))
	p := &s.plan
	*p = policy.PlanInput{Horizon: s.horizon, K: s.pattern.Consecutive, Run: run, Load: load, Response: resp}
	in.Plan = p
	rec.BreachLevel = resp.Level[cur]
	if run > 0 {
		p.Floor = max(load, s.hist.meanLast(run))
	}
	held := func() [][]float64 { // the service's buffer, as the paths are
		s.held = grow(s.held, s.horizon)
		for j := range s.held {
			s.held[j] = load
		}
		return [][]float64{s.held}
	}
	if s.fc == nil {
		p.Paths = held() // no model yet: the load now, held
		return
	}
	low := math.Inf(1)
	for _, l := range resp.Level {
		low = min(low, l)
	}
	paths, sc := c.samplePaths(s, low, math.NaN(), s.horizon, run, &rec.Forecast)
	if sc.skip || math.IsInf(low, 1) {
		if run > 0 && p.Floor > low {
			p.Paths = held() // the forecast is far below, the overload is not
			return
		}
		p.Clear = true
		return
	}
	p.Paths, p.Point = paths.paths, paths.point
}

// underway returns what the Imminent rule reads of the service at the
// playbook level.
func (c *Controller) underway(s *service, load float64, level int) policy.Underway {
	return policy.Underway{Run: s.hold.Run, K: s.pattern.Consecutive, Load: load,
		RunLoad: s.hist.meanLast(max(s.pattern.Consecutive-1, 1)), Level: c.breachLevel(s, level)}
}

// reach is, at a playbook level above 0, the reach (policy.Step.Reach) of
// the action a revert would take back, in steps within the horizon: how
// soon the forecast would engage it again.
func (c *Controller) reach(s *service, level int) int {
	if level == 0 || level > len(s.st.Engaged) {
		return s.horizon
	}
	step := s.settings.Playbook[s.st.Engaged[level-1].Step]
	d := step.Reach(c.interval)
	return max(1, min(s.horizon, int((d+c.interval-1)/c.interval)))
}

// threshold is the value of the forecast signal above which the service
// breaches at the given playbook level.
func (c *Controller) threshold(s *service, level int) float64 {
	if s.signal == metrics.Latency {
		return s.pattern.Above
	}
	return c.breachLevel(s, level)
}

// breachLevel returns the learned load at which the level breaches; a level
// not yet learned inherits the nearest lower level's (assuming, until it is
// seen, that the action does not help); +Inf when no level is known.
func (c *Controller) breachLevel(s *service, level int) float64 {
	if s.signal == metrics.Latency {
		return s.pattern.Above
	}
	if s.settings.Mode == policy.Plan { // by action set: the engaged one
		return c.response(s).Level[s.st.Mask()]
	}
	for l := min(level, len(s.levels)-1); l >= 0; l-- {
		if s.levels[l].known {
			return s.levels[l].level
		}
	}
	return math.Inf(1)
}
