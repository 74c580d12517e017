package controller

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// Options wires a Controller.
type Options struct {
	// Config is the validated configuration, defaults applied.
	Config *config.Config
	// Source reads the signals.
	Source metrics.Source
	// Actuators holds, per service name, one actuator per playbook action,
	// in playbook order.
	Actuators map[string][]actuators.Actuator
	// Mode is the policy mode of every service. Default none.
	Mode policy.Mode
	// Logger receives one line per decision that changes something or
	// whose reason changed (debug for the others); nil discards.
	Logger *slog.Logger
	// Registerer receives presage's own metrics. With nil the per-service
	// series (presage_signal_value, presage_breach_risk, ...) are not kept
	// at all: a replay steps a million services per policy, and setting
	// gauges no one reads was a twentieth of its time.
	Registerer prometheus.Registerer
	// OnDecision, when set, is called with every decision, in service
	// order, from Step's goroutine.
	OnDecision func(Record)
	// Terse leaves Record.Message empty for the decisions that change
	// nothing, outside schedule windows (policy.Input.Terse): for a
	// replay, which keeps the messages of the others only.
	Terse bool
	// State is an earlier run's policy state by service (from the state
	// file); engaged actions in it are kept and reverted as usual.
	State map[string]policy.State
	// OnStateChange, when set, is called with the whole state after any
	// service's state changed (to persist it).
	OnStateChange func(map[string]policy.State) error
	// Speed runs Run's clock this many times faster than real time (for
	// demos against the simulator). Default 1.
	Speed float64
	// Workers bounds how many services a predictive step works on at
	// once; 0 means runtime.GOMAXPROCS(0), 1 steps them one after the
	// other. Services are independent, so the decisions do not depend on
	// it; OnDecision and the logs still come in service order. The other
	// modes forecast nothing, and a step of theirs is too short to share.
	Workers int
	// FullPaths draws every sample path at every step, even when the
	// forecast is far from the breach level (see Controller). It gives the
	// same decisions, more slowly: benchmarks compare against it.
	FullPaths bool
	// Known gives, per service, the forecast signal's actual values, one
	// per step from the first: the service forecasts them exactly
	// (model.Known) instead of fitting a model. A replay's bound on what a
	// forecast could buy (the clairvoyant run); nil in production.
	Known map[string][]float64
}

// Record is one decision of one service at one step: what the controller
// saw, forecast and did.
type Record struct {
	Time    time.Time
	Service string
	Mode    policy.Mode
	Reason  policy.Reason
	Message string
	// Latency and Load are the observed latency and forecast signal (NaN
	// when missing).
	Latency float64
	Load    float64
	// Risk is the breach risk at the current level, TimeToBreach when it
	// crosses the trigger (negative: never within the horizon).
	Risk         float64
	TimeToBreach time.Duration
	// Forecast is the forecast signal at the horizon: 10%, 50% and 90%
	// quantiles over the sample paths (NaN without a model).
	Forecast [3]float64
	// BreachLevel is the learned level of the forecast signal at which the
	// current playbook level breaches (+Inf while unknown).
	BreachLevel float64
	// Level is the number of engaged actions after the decision.
	Level int
	// Firing reports an incident in progress.
	Firing bool
	// Action is the change applied or attempted, nil when none.
	Action *actuators.Action
	// Err is the actuator's error when the change failed.
	Err error
	// Windows are the service's schedule windows active at Time, and
	// NextWindows each of its schedules' next window (nil without
	// schedules).
	Windows     []schedule.Window
	NextWindows []schedule.Window
}

// Controller runs the control loop over every configured service.
type Controller struct {
	cfg      *config.Config
	src      metrics.Source
	mode     policy.Mode
	log      *slog.Logger
	tel      *telemetry
	onDec    func(Record)
	onState  func(map[string]policy.State) error
	speed    float64
	interval time.Duration
	stale    time.Duration
	services []*service
	workers  int
	full     bool     // Options.FullPaths
	terse    bool     // Options.Terse
	timed    bool     // the steps' durations are exported (a Registerer is set)
	local    bool     // the source reads from memory (metrics.LocalSource): no read timeout
	recs     []Record // the step's records, reused
	changes  []bool

	// reconcile asks the next Step to reconcile the policy state with the
	// targets first (RequestReconcile).
	reconcile atomic.Bool

	mu        sync.Mutex // guards the fields below (read by /readyz)
	lastOK    time.Time  // step time of the last successful source read
	lastStep  time.Time
	everRead  bool
	sourceErr error
}

// service is the controller's state of one service.
type service struct {
	cfg      config.Service
	settings policy.Settings
	pattern  model.Pattern
	acts     []actuators.Actuator
	signal   metrics.Signal // the forecast signal
	horizon  int            // steps
	period   int            // steps
	long     int            // steps of the double-seasonal model's long period; 0 for the other models
	refit    cron.Schedule
	next     time.Time // next refit
	backoff  int       // scheduled refits to pass over after a steady one (see refitSteady)
	passed   int       // scheduled refits passed over since the last one
	hold     model.Hold
	hist     *ring
	fc       model.Forecaster
	rng      *rand.Rand
	levels   []*levelStats
	st       policy.State
	pending  *actuators.Action
	reason   policy.Reason

	tel     *serviceTelemetry
	cur     []float64        // knob values read this step
	env     envelope         // spread of the sample paths around the forecast
	paths   [][]float64      // the step's sample paths, or the model's deviations (shifted), reused
	point   []float64        // the step's point forecast over the horizon, reused
	devFor  model.Forecaster // the model the paths buffer holds the deviations of, if shifted
	shifted bool             // paths holds devFor's fixed deviations (model.DeviationsInto)

	interim   bool // the automatic choice forecasts while the configured model lacks history
	known     bool // fc is a model.Known, never refitted (Options.Known)
	warmed    bool // history backfilled from a RangeSource
	warmTried bool // a backfill was attempted
	seen      bool // a usable latency sample has been read

	prevForecast float64 // the one-step forecast made at the previous step
	errAbs       *ring   // recent one-step absolute errors
	errPct       *ring   // recent one-step absolute percentage errors (ratio)

	scheds []*schedule.Schedule // the schedules that apply to the service
	events []*schedule.Schedule // those of kind event
	win    []schedWindows       // per schedule, its windows as last found
}

// levelStats is what the controller learned of one playbook level: the
// (load, latency) pairs observed while it was settled, and the load at
// which it breaches.
type levelStats struct {
	obs    *pairRing
	added  int
	level  float64
	known  bool
	breach bool   // a new breach sample arrived since the last estimate
	pushed uint64 // observations pushed so far
	sorted sortedPairs
}

// warmEvaluations bounds a refit that starts from the previous fit.
//
// 20 is what a warm start needs: on the example and on ten services of
// testdata/replay.100.yaml, 80, 40, 20 and 10 gave the same incidents
// within one, and a refit is most of the forecasting's time.
const warmEvaluations = 20

// A warm refit that leaves the forecast where it was (no point of the
// horizon moved by more than refitSteady relatively) is steady: the
// schedule's next refit is passed over, then the next three, then seven
// (refitBackoffMax) in a row, the model meanwhile updated by each
// observation as between any two refits; a refit that moves the forecast
// resets the schedule. Warm refits were most of a replay's time; on twenty
// services of testdata/replay.100.yaml passing over up to 3 halves them,
// with the same incidents (53) and cost within 0.1%; on all of it, up to 7
// instead of 3 takes a sixth off the replay's CPU time for 184 incidents
// instead of 183 (15 gained nothing more).
const (
	refitSteady     = 0.02
	refitBackoffMax = 7
)

// windowPeriods is how many seasonal periods of history a refit fits on.
// Two gave the same incidents but a lower precision than four on the same
// services.
const windowPeriods = 4

// learnEvery is how many new observations of a level trigger a new estimate
// of its breach level; learnAfterBreach, how many when one of them breached.
// A level holds up to a week of observations, and the estimates every 60
// were a sixth of a replay's time: on testdata/replay.100.yaml, 240 gives
// the same incidents (183 predictive, 790 reactive) and costs within 0.1%.
const (
	learnEvery       = 240
	learnAfterBreach = 10
)

// New builds a Controller. It returns an error when the configuration and
// the actuators do not match.
func New(o Options) (*Controller, error) {
	if o.Config == nil || o.Source == nil {
		return nil, errors.New("controller: config and source are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	speed := o.Speed
	if speed <= 0 {
		speed = 1
	}
	g := o.Config.Global
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if !o.Mode.Forecasts() {
		workers = 1
	}
	c := &Controller{
		cfg: o.Config, src: o.Source, mode: o.Mode, log: log, tel: newTelemetry(o.Registerer),
		onDec: o.OnDecision, onState: o.OnStateChange, speed: speed,
		interval: time.Duration(g.Interval), stale: time.Duration(g.StaleAfter),
		workers: workers, full: o.FullPaths, terse: o.Terse, timed: o.Registerer != nil,
	}
	if l, ok := o.Source.(metrics.LocalSource); ok {
		c.local = l.Local()
	}
	if c.interval <= 0 {
		return nil, errors.New("controller: global.interval must be > 0")
	}
	if c.stale <= 0 {
		c.stale = 2 * c.interval
	}
	resolved, err := o.Config.Resolve()
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	for i, sc := range o.Config.Services {
		r := resolved[i]
		acts := o.Actuators[sc.Name]
		if len(acts) != len(sc.Playbook) {
			return nil, fmt.Errorf("controller: service %q: %d actuators for %d playbook actions", sc.Name, len(acts), len(sc.Playbook))
		}
		s := &service{
			cfg: sc, acts: acts, refit: r.Refit,
			pattern:      IncidentPattern(r),
			settings:     PolicySettings(r, o.Mode),
			signal:       metrics.Signal(sc.Forecast.Signal),
			horizon:      r.Horizon,
			period:       r.Period,
			long:         r.LongPeriod,
			hist:         newRing(r.History),
			rng:          rand.New(rand.NewPCG(sc.Forecast.Seed, nameStream(sc.Name))),
			st:           o.State[sc.Name],
			errAbs:       newRing(errorWindow),
			errPct:       newRing(errorWindow),
			prevForecast: math.NaN(),
			scheds:       r.Schedules,
		}
		s.hold.Pattern = s.pattern
		if v, ok := o.Known[sc.Name]; ok {
			s.fc, s.known = &model.Known{Values: v}, true
		} else if o.Mode == policy.Clairvoyant {
			return nil, fmt.Errorf("controller: service %q: mode clairvoyant needs its load ahead (Options.Known); only a replay has it", sc.Name)
		}
		for _, p := range s.scheds {
			if p.Kind == schedule.Event {
				s.events = append(s.events, p)
			}
		}
		if o.Registerer != nil {
			s.tel = newServiceTelemetry(c.tel, sc.Name, s.signal, len(sc.Playbook))
		}
		s.cur = make([]float64, len(acts))
		if s.st.Level() > len(sc.Playbook) {
			return nil, fmt.Errorf("controller: service %q: saved state has %d engaged actions, playbook has %d", sc.Name, s.st.Level(), len(sc.Playbook))
		}
		for range len(sc.Playbook) + 1 {
			s.levels = append(s.levels, &levelStats{obs: newPairRing(r.History), level: math.Inf(1)})
		}
		c.services = append(c.services, s)
	}
	return c, nil
}

// IncidentPattern returns the incident pattern of a resolved service.
// config.Incident has model.Pattern's fields, so the conversion compiles
// only while the two agree.
func IncidentPattern(r config.Resolved) model.Pattern {
	return model.Pattern(r.Incident)
}

// PolicySettings returns the policy settings of a resolved service in mode.
// config.Step has policy.Step's fields, so the conversion compiles only
// while the two agree.
func PolicySettings(r config.Resolved, mode policy.Mode) policy.Settings {
	s := policy.Settings{Mode: mode, Trigger: r.Trigger, Clear: r.Clear, Interval: r.Interval}
	for _, st := range r.Playbook {
		s.Playbook = append(s.Playbook, policy.Step(st))
	}
	return s
}

// Interval returns the control interval.
func (c *Controller) Interval() time.Duration { return c.interval }

// State returns a copy of every service's policy state.
func (c *Controller) State() map[string]policy.State {
	out := make(map[string]policy.State, len(c.services))
	for _, s := range c.services {
		out[s.cfg.Name] = s.st
	}
	return out
}

// Step runs one control step at now: read every signal, update history and
// models, compute the risk, decide, act and export.
func (c *Controller) Step(ctx context.Context, now time.Time) error {
	if c.timed {
		start := time.Now()
		defer func() { c.tel.stepDuration.Observe(time.Since(start).Seconds()) }()
	}

	// The read gets at most one interval: a step never runs into the next.
	// A source that reads from memory needs no timeout (arming its timer
	// at every step was a sixth of a replay's time).
	readCtx, cancel := ctx, context.CancelFunc(func() {})
	if !c.local {
		readCtx, cancel = context.WithTimeout(ctx, c.interval)
	}
	snap, err := c.src.Read(readCtx, now)
	cancel()
	c.mu.Lock()
	c.lastStep = now
	if err != nil {
		c.sourceErr = err
		kind := "read"
		var k interface{ ErrorKind() string }
		switch {
		case errors.As(err, &k):
			kind = k.ErrorKind()
		case errors.Is(err, context.DeadlineExceeded):
			kind = "timeout"
		}
		c.tel.sourceErrors.WithLabelValues(kind).Inc()
		c.log.Warn("source read failed", "err", err)
		snap = metrics.Snapshot{}
	} else {
		c.sourceErr = nil
		c.lastOK = now
		c.everRead = true
	}
	c.mu.Unlock()

	reconciled := c.reconcile.Swap(false) && c.reconcileState(ctx, now)
	c.warm(ctx, snap, now)
	if len(c.recs) != len(c.services) {
		c.recs, c.changes = make([]Record, len(c.services)), make([]bool, len(c.services))
	}
	recs, changes := c.recs, c.changes
	if c.workers <= 1 || len(c.services) == 1 {
		for i, s := range c.services { // no closure to allocate
			recs[i], changes[i] = c.stepService(ctx, s, snap, now)
		}
	} else {
		c.each(func(i int) { recs[i], changes[i] = c.stepService(ctx, c.services[i], snap, now) })
	}
	changed := reconciled
	for i, s := range c.services {
		changed = changed || changes[i]
		c.logDecision(ctx, s, recs[i])
		s.reason = recs[i].Reason
		if c.onDec != nil {
			c.onDec(recs[i])
		}
	}
	if changed && c.onState != nil {
		if err := c.onState(c.State()); err != nil {
			c.log.Error("saving state failed", "err", err)
			return fmt.Errorf("save state: %w", err)
		}
	}
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	return nil
}

// each calls fn(i) for every service index i, on up to c.workers
// goroutines, each taking a contiguous share of the services, and returns
// when all calls have.
func (c *Controller) each(fn func(i int)) {
	n := len(c.services)
	w := min(c.workers, n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// value returns a usable sample's value, or NaN, counting the missing.
func (c *Controller) value(s *service, snap metrics.Snapshot, sig metrics.Signal, now time.Time) float64 {
	v, ok := snap.Get(s.cfg.Name, sig)
	if !ok || !v.Usable(now, c.stale) {
		s.tel.incMissing(sig)
		return math.NaN()
	}
	s.tel.setValue(sig, v.Value)
	return v.Value
}

// stepService runs one service's step and returns its decision record and
// whether its policy state changed. It touches nothing but the service's
// own state: services step concurrently.
func (c *Controller) stepService(ctx context.Context, s *service, snap metrics.Snapshot, now time.Time) (rec Record, changed bool) {
	name := s.cfg.Name
	lat := c.value(s, snap, metrics.Latency, now)
	load := lat
	if s.signal != metrics.Latency {
		load = c.value(s, snap, s.signal, now)
	}
	for _, sig := range []metrics.Signal{metrics.PoolInUse, metrics.PoolLimit} {
		if sig != s.signal && !configured(s.cfg.Signals, sig) {
			continue
		}
		if sig != s.signal {
			c.value(s, snap, sig, now)
		}
	}
	dataOK := !math.IsNaN(lat) && !math.IsNaN(load)

	s.hold.Observe(lat)
	s.hist.push(load)
	c.learn(s, lat, load, now)
	if c.mode.Forecasts() {
		// Only the predictive policy uses the forecast.
		c.forecastModel(s, load, now)
	}

	rec = Record{Time: now, Service: name, Mode: c.mode, Latency: lat, Load: load,
		Firing: s.hold.State() == model.Firing, TimeToBreach: -1,
		Forecast: [3]float64{math.NaN(), math.NaN(), math.NaN()}}
	in := policy.Input{DataOK: dataOK, Firing: rec.Firing, TimeToBreach: -1}
	level := s.st.Level()
	rec.BreachLevel = c.breachLevel(s, level)
	if dataOK {
		c.assess(s, &in, &rec, lat, load, level)
	}
	in.Current = c.current(ctx, s)
	c.windows(s, &in, &rec, now)
	in.Terse = c.terse && rec.Windows == nil && rec.NextWindows == nil

	d := policy.Decide(s.settings, in, s.st, now)
	rec.Reason, rec.Message = d.Reason, d.Message
	if d.Change != nil {
		a := c.action(s, d, rec, now)
		rec.Action = &a
		act := s.acts[d.Change.Step]
		err := c.plan(ctx, act, &a, &d, &rec)
		if err == nil {
			err = act.Apply(ctx, a)
		}
		result := "ok"
		if err != nil {
			result = "failed"
			rec.Err = err
			s.pending = &a
			c.log.Warn("action failed; will retry next step", "service", name, "action", a.Action, "op", a.Op, "to", a.To, "err", err)
		} else {
			s.pending = nil
			changed = !engagedEqual(s.st, d.Next)
			s.st = d.Next
		}
		c.tel.actions.WithLabelValues(name, a.Action, string(a.Op), result).Inc()
	} else {
		changed = !engagedEqual(s.st, d.Next)
		s.st = d.Next
	}
	rec.Level = s.st.Level() + len(s.st.Prewarmed)
	c.export(s, rec)
	return rec, changed
}

// assess fills the risk inputs of the decision.
func (c *Controller) assess(s *service, in *policy.Input, rec *Record, lat, load float64, level int) {
	// Reactive (and predictive without a model yet): the risk one level
	// down is whether the current load would breach there, or, while that
	// level's breach level is unknown, whether the latency is above the
	// threshold now.
	below := func() float64 {
		if level == 0 {
			return 0
		}
		if s.signal == metrics.Latency {
			return b2f(lat > s.pattern.Above)
		}
		if l := c.breachLevel(s, level-1); !math.IsInf(l, 1) {
			return b2f(load >= l)
		}
		return b2f(lat > s.pattern.Above)
	}
	in.RiskBelow = below()
	in.LevelKnown = s.signal == metrics.Latency || s.levels[min(level, len(s.levels)-1)].known
	// An incident under way: the latency has been above the threshold for
	// K−1 samples, one short of the incident pattern, at a load the
	// current level was seen not to take. Acting on the first sample above
	// instead engages on every noisy spike (on the example, precision fell
	// from 75% to 19%); one short of K still leaves a fast action (the
	// queue acts on the next step) time to keep the K-th sample under.
	// Asking the load to be a margin above the level as well trades
	// incidents for precision (3% above: on the example 4 incidents
	// instead of 2, precision 86% instead of 75%). The load is the
	// current sample's or the mean over the run's samples: an overload's
	// backlog outlasts it, so a one-minute spike far above the level keeps
	// the latency up for minutes after the load is back under (on
	// NASA-HTTP, 111 incidents instead of 116, for 0.9% more cost).
	in.Imminent = s.signal != metrics.Latency && s.hold.State() == model.Pending &&
		s.hold.Run >= s.pattern.Consecutive-1 && s.cfg.Forecast.Imminent != config.ImminentOff &&
		c.overloaded(s, load, level)
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
	// (below(), as reactive does) and while the forecast breaches there
	// before it could bring the action back: within the action's reach
	// (warm-up + margin). With "horizon" it holds while the forecast
	// breaches there within the horizon, which held the actions through
	// every peak the forecast band covered (README, "Reverts").
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
		at := 1.0 // the exact share
		if c.terse && len(s.scheds) == 0 {
			// The risk one level down only decides a revert against
			// forecast.clear, and terse messages do not print it.
			at = s.settings.Clear
		}
		in.RiskBelow = max(in.RiskBelow, paths.share(thBelow, s.pattern.Consecutive, run, at, reach))
	}
}

// overloaded reports whether the load now, or its mean over the incident
// pattern's K−1 last samples, is at or above what the level was seen to
// take.
func (c *Controller) overloaded(s *service, load float64, level int) bool {
	l := c.breachLevel(s, level)
	if load >= l {
		return true
	}
	run := s.hist.last(max(s.pattern.Consecutive-1, 1))
	var sum float64
	for _, v := range run {
		sum += v
	}
	return sum/float64(len(run)) >= l
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
	for l := min(level, len(s.levels)-1); l >= 0; l-- {
		if s.levels[l].known {
			return s.levels[l].level
		}
	}
	return math.Inf(1)
}

// learn records the (load, latency) pair for the current playbook level once
// the level has settled (its last action warmed up), and re-estimates the
// level's breach level from time to time.
func (c *Controller) learn(s *service, lat, load float64, now time.Time) {
	if c.mode == policy.None || s.signal == metrics.Latency || !finite(lat) || !finite(load) {
		return
	}
	if len(s.st.Prewarmed) > 0 {
		// A prewarm holds steps outside the playbook's levels: what the
		// service takes now says nothing of any one level.
		return
	}
	level := s.st.Level()
	if level > 0 {
		e := s.st.Engaged[level-1]
		if now.Before(e.At.Add(s.settings.Playbook[e.Step].Warmup)) {
			return
		}
	}
	ls := s.levels[level]
	ls.push(load, lat)
	ls.added++
	if lat > s.pattern.Above {
		ls.breach = true
	}
	// A breach teaches the most: re-estimate soon after one (at once
	// while the level is unknown), else every learnEvery observations.
	if ls.added < learnEvery && !(ls.breach && (!ls.known || ls.added >= learnAfterBreach)) {
		return
	}
	c.relearn(s, level)
}

// relearn re-estimates the breach level of one playbook level from its
// observations.
func (c *Controller) relearn(s *service, level int) {
	ls := s.levels[level]
	ls.added, ls.breach = 0, false
	x, y := ls.sortedObs()
	if v, ok := model.BreachLevelSorted(x, y, s.pattern.Above); ok {
		ls.level, ls.known = v, true
	}
}

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
	if s.known || s.fc != nil && now.Before(s.next) {
		s.fc.Update(y)
		return
	}
	s.next = s.refit.Next(now)
	if s.fc != nil && s.passed < s.backoff {
		s.passed++
		s.fc.Update(y)
		return
	}
	s.passed = 0
	if s.cfg.Forecast.Period == 0 {
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
	mean := func(r *ring) float64 {
		var sum float64
		for i := range r.n {
			sum += r.buf[i]
		}
		return sum / float64(r.n)
	}
	var mape float64
	if s.errPct.len() > 0 {
		mape = mean(s.errPct)
	}
	s.tel.setError(mean(s.errAbs), mape, s.errPct.len() > 0)
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

// current reads each playbook knob's current value where the actuator can,
// into the service's buffer (policy.Decide does not keep it).
func (c *Controller) current(ctx context.Context, s *service) []float64 {
	out := s.cur
	for i, a := range s.acts {
		out[i] = math.NaN()
		if r, ok := a.(actuators.Reader); ok {
			if v, err := r.Current(ctx); err == nil {
				out[i] = v
			}
		}
	}
	return out
}

// action builds the actuator's Action for a decision's change. A change
// identical to one that failed earlier keeps that attempt's time, so the
// retry carries the same idempotency key and is never applied twice.
func (c *Controller) action(s *service, d policy.Decision, rec Record, now time.Time) actuators.Action {
	op := actuators.Engage
	if d.Change.Revert {
		op = actuators.Revert
	}
	a := actuators.Action{Service: s.cfg.Name, Action: d.Change.Name, Op: op, From: d.Change.From,
		To: d.Change.To, Reason: string(d.Reason), Risk: rec.Risk, At: now}
	if p := s.pending; p != nil && p.Action == a.Action && p.Op == a.Op && p.To == a.To {
		a.At = p.At
	}
	return a
}

func (c *Controller) export(s *service, rec Record) {
	t := s.tel
	if t == nil {
		return
	}
	t.incDecision(string(rec.Reason))
	t.setRisk(rec.Risk)
	ttb := math.Inf(1)
	if rec.TimeToBreach >= 0 {
		ttb = rec.TimeToBreach.Seconds()
	}
	t.setTimeToBreach(ttb)
	t.setBreachLevel(c.breachLevel(s, s.st.Level()))
	for i, v := range rec.Forecast {
		if !math.IsNaN(v) {
			t.setForecast(i, v)
		}
	}
	t.setLevel(float64(s.st.Level() + len(s.st.Prewarmed)))
	for i, st := range s.settings.Playbook {
		engaged := false
		for _, e := range s.st.Engaged {
			engaged = engaged || e.Step == i
		}
		for _, e := range s.st.Prewarmed {
			engaged = engaged || e.Step == i
		}
		t.setEngaged(i, st.Name, b2f(engaged))
	}
}

func (c *Controller) logDecision(ctx context.Context, s *service, rec Record) {
	level := slog.LevelDebug
	if rec.Action != nil || rec.Reason != s.reason {
		level = slog.LevelInfo
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []any{"at", rec.Time.UTC().Format(time.RFC3339), "service", rec.Service, "reason", rec.Reason, "risk", round(rec.Risk),
		"latency", round(rec.Latency), "level", rec.Level, "msg_detail", rec.Message}
	if rec.TimeToBreach >= 0 {
		attrs = append(attrs, "time_to_breach", rec.TimeToBreach)
	}
	if rec.Action != nil {
		attrs = append(attrs, "action", rec.Action.Action, "op", rec.Action.Op, "to", rec.Action.To)
	}
	c.log.Log(ctx, level, "decision", attrs...)
}

func configured(sig config.Signals, s metrics.Signal) bool {
	switch s {
	case metrics.Latency:
		return !sig.Latency.IsZero()
	case metrics.Requests:
		return !sig.Requests.IsZero()
	case metrics.PoolInUse:
		return !sig.PoolInUse.IsZero()
	case metrics.PoolLimit:
		return !sig.PoolLimit.IsZero()
	}
	return false
}

func engagedEqual(a, b policy.State) bool {
	if len(a.Engaged) != len(b.Engaged) || len(a.Prewarmed) != len(b.Prewarmed) {
		return false
	}
	for i := range a.Prewarmed {
		if a.Prewarmed[i] != b.Prewarmed[i] {
			return false
		}
	}
	for i := range a.Engaged {
		if a.Engaged[i] != b.Engaged[i] {
			return false
		}
	}
	return true
}

// nameStream returns the random stream of a service's sample paths (the
// second word of its PCG seed, the first being forecast.seed): a hash of
// its name, so that a service draws the same paths whatever other services
// the configuration holds and in whatever order (a replay steps each
// service on its own).
func nameStream(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }
