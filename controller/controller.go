package controller

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
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
	// file, LoadState); engaged actions in it are kept and reverted as
	// usual. Its times are wall-clock: Run maps them to its step clock
	// under Speed. New refuses an engagement whose playbook index is out
	// of range.
	State map[string]policy.State
	// StateRejected lists the records the state file's load set aside
	// (LoadedState.Rejected): New counts them in
	// presage_state_records_rejected_total{reason}.
	StateRejected []StateRejection
	// OnStateChange, when set, is called with the whole state after any
	// service's state changed (to persist it), its times wall-clock (see
	// Run).
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
	// Priors gives, per service, the planner's prior response (mode plan):
	// from the simulated plant's equations in a replay. Without one, the
	// actions' declared capacity_gain is the prior.
	Priors map[string]Prior
	// ActionWorkers bounds how many services' actuator calls run at once
	// (each service has at most one decision's calls under way). Calls to
	// actuators that are not instant (actuators.Instant: webhooks,
	// Kubernetes) run off the step, so that one slow target delays only
	// its own service; Step waits for them until half the interval has
	// passed, and records those that return later at the step that sees
	// them return. Calls to instant actuators (the simulator's knobs, the
	// dry-run recorder: a replay's) are made in the step. 0 means
	// DefaultActionWorkers.
	ActionWorkers int
	// ReassertEvery is how many of Run's steps pass between two checks
	// that the targets still hold the engaged changes, each one not held
	// re-applied with its idempotency key (see reassert): at Run's first
	// step, then every ReassertEvery steps. 0 means DefaultReassertEvery;
	// a negative value checks only at the first step. Step driven without
	// Run (a replay) never checks.
	ReassertEvery int
	// View keeps, per service, what the live page reads (Overview,
	// ServiceView, Watch; see view.go): small rings of the last hours,
	// copied at the end of each step. Off, those return nothing and a
	// step pays nothing for them (a replay).
	View bool
	// Forecasters gives, per service, a forecaster the service uses as it
	// is, never fitted nor refitted, in place of the configured model: a
	// replay's perfect forecast of the load (model.Known, the clairvoyant
	// run); nil in production.
	Forecasters map[string]model.Forecaster
	// Owner, when set, says which services this replica acts on
	// (controller/shard: several replicas share the services). Step steps
	// only the services it owns: the others are not read into history,
	// forecast nor decided, and a service lost is forgotten, a service
	// gained backfilled and reconciled with its targets (see own). nil:
	// every service.
	Owner Owner
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
	// Actions are the changes applied or attempted, in order; none when
	// the decision changed nothing.
	Actions []Applied
	// Windows are the service's schedule windows active at Time, and
	// NextWindows each of its schedules' next window (nil without
	// schedules).
	Windows     []schedule.Window
	NextWindows []schedule.Window
}

// Applied is one change of a decision as sent to its actuator, with the
// actuator's error when it failed.
type Applied struct {
	actuators.Action
	Err error
	// InFlight reports a call that had not returned by the end of the
	// step (its actuator is slow): Err is nil, and the outcome is in the
	// Actions of the record of the step that sees it return.
	InFlight bool
}

// Err returns the errors of the record's changes that failed, joined; nil
// when none did.
func (r Record) Err() error {
	var errs []error
	for _, a := range r.Actions {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	return errors.Join(errs...)
}

// Controller runs the control loop over every configured service.
type Controller struct {
	cfg       *config.Config
	src       metrics.Source
	mode      policy.Mode
	log       *slog.Logger
	tel       *telemetry
	onDec     func(Record)
	onState   func(map[string]policy.State) error
	speed     float64
	epoch     time.Time // Run's start: step time and wall-clock time agree there (see Run)
	interval  time.Duration
	stale     time.Duration
	services  []*service
	workers   int
	full      bool          // Options.FullPaths
	terse     bool          // Options.Terse
	timed     bool          // the steps' durations are exported (a Registerer is set)
	local     bool          // the source reads from memory (metrics.LocalSource): no read timeout
	recs      []Record      // the step's records, reused
	fitting   atomic.Int64  // nanoseconds of refits this step
	fitBudget time.Duration // coldFitBudget
	changes   []bool

	// reconcile asks the next Step to reconcile the policy state with the
	// targets first (RequestReconcile).
	reconcile atomic.Bool
	owner     Owner // Options.Owner

	pool          chan struct{}  // a token per running flight (ActionWorkers)
	flights       sync.WaitGroup // the flights' goroutines
	async         bool           // some actuator is not instant
	reassertEvery int            // Options.ReassertEvery
	reassertDue   bool           // Run asks this step to check the targets (reassert)
	reasserted    bool           // the first check was made
	steps         int            // Run's steps so far

	mu         sync.Mutex // guards the fields below (read by /readyz)
	lastOK     time.Time  // step time of the last successful source read
	lastStep   time.Time
	everRead   bool
	sourceKind string    // the kind of the last failed read ("timeout", "http_5xx", ...); "" after a good one
	saveFailed time.Time // step time of the first of the failed state saves in a row; zero after a good one
	overruns   int       // Run's steps in a row that took longer than their interval
}

// service is the controller's state of one service.
type service struct {
	cfg       config.Service
	settings  policy.Settings
	pattern   model.Pattern
	acts      []actuators.Actuator
	signal    metrics.Signal // the forecast signal
	horizon   int            // steps
	period    int            // steps
	long      int            // steps of the double-seasonal model's long period; 0 for the other models
	refit     cron.Schedule
	next      time.Time // next refit
	jitter    float64   // share of the refit schedule's interval the refits come later (refitShare)
	backoff   int       // scheduled refits to pass over after a steady one (see refitSteady)
	passed    int       // scheduled refits passed over since the last one
	deferred  bool      // a cold refit was held back (coldFitBudget): try it at the next step
	hold      model.Hold
	hist      *history // the forecast signal, with the pairs the levels learn from
	fc        model.Forecaster
	rng       *rand.Rand
	levels    []levelStats // by playbook level; in mode plan, by action set (mask)
	learned   int          // breach levels estimated so far (the response's version)
	prior     Prior        // Options.Priors' (mode plan)
	resp      policy.Response
	plan      policy.PlanInput // the step's planner input, reused
	respAt    int              // learned when resp was computed; -1: never
	st        policy.State
	pending   []actuators.Action // changes whose actuator failed, at most one per action
	reason    policy.Reason
	flight    *flight            // the actuator calls under way; nil when none
	last      []actuators.Action // by playbook index, the last engage applied (its time is its key's)
	reconcile bool               // reconcile once no flight is under way (RequestReconcile)
	own       ownState           // owned or not (Options.Owner)

	tel     *serviceTelemetry
	cur     []float64        // knob values read this step
	env     envelope         // spread of the sample paths around the forecast
	paths   [][]float64      // the step's sample paths, or the model's deviations (shifted), reused
	point   []float64        // the step's point forecast over the horizon, reused
	held    []float64        // the planner's one path of the load now, held (mode plan, no model yet), reused
	devFor  model.Forecaster // the model the paths buffer holds the deviations of, if shifted
	shifted bool             // paths holds devFor's fixed deviations (model.DeviationsInto)

	interim   bool // the automatic choice forecasts while the configured model lacks history
	fixed     bool // fc is given (Options.Forecasters), never refitted
	warmed    bool // history backfilled from a RangeSource
	warmTried bool // a backfill was attempted
	seen      bool // a usable latency sample has been read

	prevForecast float64 // the one-step forecast made at the previous step
	errAbs       *ring   // recent one-step absolute errors
	errPct       *ring   // recent one-step absolute percentage errors (ratio)

	view *view // what the live page reads (view.go); nil without Options.View

	scheds []*schedule.Schedule // the schedules that apply to the service
	events []*schedule.Schedule // those of kind event
	win    []schedWindows       // per schedule, its windows as last found
}

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
		workers: workers, full: o.FullPaths, terse: o.Terse, timed: o.Registerer != nil, owner: o.Owner,
		fitBudget: coldFitBudget,
	}
	aw := o.ActionWorkers
	if aw <= 0 {
		aw = DefaultActionWorkers
	}
	c.pool = make(chan struct{}, aw)
	c.reassertEvery = o.ReassertEvery
	if c.reassertEvery == 0 {
		c.reassertEvery = DefaultReassertEvery
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
			cfg: sc, acts: acts, refit: r.Refit, jitter: refitShare(sc.Name),
			pattern:      IncidentPattern(r),
			settings:     PolicySettings(r, o.Mode),
			signal:       metrics.Signal(sc.Forecast.Signal),
			horizon:      r.Horizon,
			period:       r.Period,
			long:         r.LongPeriod,
			hist:         newHistory(r.History),
			rng:          rand.New(rand.NewPCG(sc.Forecast.Seed, nameStream(sc.Name))),
			st:           o.State[sc.Name],
			errAbs:       newRing(errorWindow),
			errPct:       newRing(errorWindow),
			prevForecast: math.NaN(),
			respAt:       -1,
			scheds:       r.Schedules,
		}
		s.hold.Pattern = s.pattern
		c.initOwn(s, r.History)
		if o.View {
			s.view = newView(int(ViewHistory / c.interval))
		}
		if fc, ok := o.Forecasters[sc.Name]; ok {
			s.fc, s.fixed = fc, true
		} else if o.Mode == policy.Clairvoyant {
			return nil, fmt.Errorf("controller: service %q: mode clairvoyant needs its load ahead (Options.Forecasters); only a replay has it", sc.Name)
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
		s.last = make([]actuators.Action, len(acts))
		for _, a := range acts {
			c.async = c.async || !actuators.IsInstant(a)
		}
		if s.st.Level() > len(sc.Playbook) {
			return nil, fmt.Errorf("controller: service %q: saved state has %d engaged actions, playbook has %d", sc.Name, s.st.Level(), len(sc.Playbook))
		}
		for _, e := range slices.Concat(s.st.Engaged, s.st.Prewarmed) {
			if e.Step < 0 || e.Step >= len(sc.Playbook) {
				return nil, fmt.Errorf("controller: service %q: saved state engages playbook index %d, playbook has %d actions", sc.Name, e.Step, len(sc.Playbook))
			}
		}
		levels := len(sc.Playbook) + 1
		switch {
		case o.Mode != policy.Plan:
		case s.signal == metrics.Latency:
			// The planner weighs the load against what each set of
			// actions takes; a service that forecasts its latency has no
			// load to weigh, and the rule decides it.
			s.settings.Mode = policy.Predictive
			log.Info("policy plan needs forecast.signal requests: the predictive rule decides this service", "service", sc.Name)
		case len(sc.Playbook) > MaxPlanActions:
			// Every set of actions is weighed at every step.
			s.settings.Mode = policy.Predictive
			log.Warn("policy plan weighs at most MaxPlanActions actions: the predictive rule decides this service",
				"service", sc.Name, "actions", len(sc.Playbook), "max", MaxPlanActions)
		}
		if s.settings.Mode == policy.Plan {
			levels = 1 << len(sc.Playbook) // by action set
			s.prior = o.Priors[sc.Name]
		}
		s.levels = make([]levelStats, levels)
		for i := range s.levels {
			s.levels[i].level = math.Inf(1)
		}
		c.services = append(c.services, s)
	}
	for _, r := range RejectReasons {
		c.tel.stateRejected.WithLabelValues(r) // every reason shows, at 0
	}
	for _, r := range o.StateRejected {
		c.tel.stateRejected.WithLabelValues(r.Reason).Inc()
	}
	return c, nil
}

// IncidentPattern returns the incident pattern of a resolved service.
// config.Pattern has model.Pattern's fields, so the conversion compiles
// only while the two agree.
func IncidentPattern(r config.Resolved) model.Pattern {
	return model.Pattern(r.Incident)
}

// PolicySettings returns the policy settings of a resolved service in mode.
// config.Step has policy.Step's fields, so the conversion compiles only
// while the two agree.
func PolicySettings(r config.Resolved, mode policy.Mode) policy.Settings {
	s := policy.Settings{Mode: mode, Trigger: r.Trigger, Clear: r.Clear, Interval: r.Interval, IncidentCost: r.IncidentCost}
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
