package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/presage-dev/presage/schedule"
)

// Validate checks c and returns every problem it finds, each an *Error with
// the YAML path of the field (e.g. "services[1].playbook[0].max"), joined
// with errors.Join; nil when c is valid. It does not read files or resolve
// names. Validate expects SetDefaults to have run (Load runs both).
//
// The sim sections of every service are validated whatever source.kind is,
// since replay always uses them; their defaults are valid.
func (c *Config) Validate() error {
	v := new(validator)
	c.Global.validate(v, "global")
	c.Source.validate(v, "source")
	c.Kubernetes.validate(v, "kubernetes")

	if len(c.Services) == 0 {
		v.add("services", "at least one service is required")
	}
	names := make(map[string]int)
	for i := range c.Services {
		s := &c.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		if s.Name != "" {
			if j, dup := names[s.Name]; dup {
				v.addf(path+".name", "duplicate service name %q (also services[%d])", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		s.validate(v, path, c)
	}
	c.validateSchedules(v)
	return v.err()
}

// Limits that Validate sets, so that a configuration that passes `presage
// check` cannot ask for more memory or time than a controller has. Each is
// far above what a real service needs:
//
//   - MaxInterval, 1h: a control loop that looks once an hour is already a
//     batch job; the bound also keeps every derived duration (2 × interval
//     for stale_after, history and horizon in steps) far from int64
//     overflow, which "interval: 10000w" reached.
//   - MaxHistorySteps, 100,000: a week at a 6 s interval, or 69 days at
//     1m; each service keeps this many samples of each signal.
//   - MaxHorizonSteps, 1,000: every refit forecasts paths × horizon values;
//     1,000 steps is 16 h at 1m.
//   - MaxPaths, 10,000: the risk's sample paths (the default is 200).
//
// With the three together, one service's sample paths hold at most 10⁷
// values (80 MB).
const (
	MaxInterval     = Duration(time.Hour)
	MaxHistorySteps = 100_000
	MaxHorizonSteps = 1_000
	MaxPaths        = 10_000
)

type validator struct{ errs []*Error }

func (v *validator) add(path, msg string) {
	v.errs = append(v.errs, &Error{Path: path, Msg: clipN(msg, maxMsg)})
}

// addf formats the problem, quoting at most maxEcho characters of each
// string argument (the values from the file), so that a 50 MB field is not
// echoed whole; choices (oneOf) are kept whole.
func (v *validator) addf(path, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	v.add(path, fmt.Sprintf(format, args...))
}

// maxEcho is how many characters of a value from the file an error quotes;
// maxMsg bounds a whole message (one from a library, quoting what it will).
const (
	maxEcho = 80
	maxMsg  = 500
)

// clip returns s cut to maxEcho characters, with an ellipsis when it was
// longer.
func clip(s string) string { return clipN(s, maxEcho) }

func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

// positive reports x unless it is a finite number > 0.
func (v *validator) positive(path string, x float64) {
	if !(x > 0) || math.IsInf(x, 0) {
		v.addf(path, "%s must be > 0", num(x))
	}
}

// nonNegative reports x unless it is a finite number ≥ 0.
func (v *validator) nonNegative(path string, x float64) {
	if !(x >= 0) || math.IsInf(x, 0) {
		v.addf(path, "%s must be >= 0", num(x))
	}
}

// fraction reports x unless it is within [0, 1].
func (v *validator) fraction(path string, x float64) {
	if !(x >= 0 && x <= 1) {
		v.addf(path, "%s must be within [0, 1]", num(x))
	}
}

// finite reports x if it is NaN or infinite.
func (v *validator) finite(path string, x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		v.addf(path, "%s must be a finite number", num(x))
		return false
	}
	return true
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// oneOf formats a list of choices: "a, b or c".
func oneOf(choices ...string) choiceList {
	if len(choices) == 1 {
		return choiceList(choices[0])
	}
	return choiceList(strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1])
}

// choiceList is a list of the valid values, which addf does not clip.
type choiceList string

func (g *Global) validate(v *validator, path string) {
	histOK := false
	switch {
	case g.Interval <= 0:
		v.addf(path+".interval", "%s must be > 0", g.Interval)
	case g.Interval > MaxInterval:
		v.addf(path+".interval", "%s must be <= %s", g.Interval, MaxInterval)
	case g.History < 2*g.Interval:
		v.addf(path+".history", "%s must be >= 2 × global.interval (%s)", g.History, 2*g.Interval)
	case g.History/g.Interval > MaxHistorySteps:
		v.addf(path+".history", "%s is %d steps of global.interval (%s): at most %d", g.History,
			int64(g.History/g.Interval), g.Interval, MaxHistorySteps)
	default:
		histOK = true
	}
	switch {
	case g.StaleAfter <= 0:
		if g.Interval > 0 && g.Interval <= MaxInterval {
			v.addf(path+".stale_after", "%s must be > 0", g.StaleAfter)
		}
	case histOK && g.StaleAfter > g.History:
		v.addf(path+".stale_after", "%s must be <= global.history (%s)", g.StaleAfter, g.History)
	}
	if g.Listen != "" {
		if _, _, err := net.SplitHostPort(g.Listen); err != nil {
			v.addf(path+".listen", "invalid address %q: want host:port", g.Listen)
		}
	}
}

func (s *Source) validate(v *validator, path string) {
	switch s.Kind {
	case SourceSim:
	case SourcePrometheus:
		s.Prometheus.validate(v, path+".prometheus")
	case "":
		v.addf(path+".kind", "required (want %s)", oneOf(SourceSim, SourcePrometheus))
	default:
		v.addf(path+".kind", "unknown source kind %q (want %s)", s.Kind, oneOf(SourceSim, SourcePrometheus))
	}
}

func (p *Prometheus) validate(v *validator, path string) {
	if p.URL == "" {
		v.add(path+".url", "required for source kind prometheus")
	} else if err := checkHTTPURL(p.URL); err != nil {
		v.add(path+".url", err.Error())
	}
	if p.Timeout <= 0 {
		v.addf(path+".timeout", "%s must be > 0", p.Timeout)
	}
	if p.ServiceLabel == "" {
		v.add(path+".service_label", "required")
	}
	if p.UnreadyAfter <= 0 {
		v.addf(path+".unready_after", "%s must be > 0", p.UnreadyAfter)
	}
	if p.Retries < 0 {
		v.addf(path+".retries", "%d must be >= 0", p.Retries)
	}
	if p.MinBackoff <= 0 {
		v.addf(path+".min_backoff", "%s must be > 0", p.MinBackoff)
	}
	if p.MaxBackoff < p.MinBackoff {
		v.addf(path+".max_backoff", "%s must be >= min_backoff (%s)", p.MaxBackoff, p.MinBackoff)
	}
	if err := p.HTTPClientConfig.Validate(); err != nil {
		v.add(path, err.Error())
	}
	if err := p.HTTPClientConfig.TLSConfig.Validate(); err != nil {
		v.add(path+".tls_config", err.Error())
	}
}

// NeverFiresWithin is how far after ScheduleCheckFrom a cron expression
// (forecast.refit, a schedule's cron) must fire at least once: five years,
// as robfig/cron searches, so that "0 0 30 2 *" (February 30th) fails.
const NeverFiresWithin = 5 * 366 * 24 * time.Hour

// checkRefit parses a refit expression and checks that it fires: "@every"
// takes a positive duration (robfig/cron reads "@every -1m" as every
// second), and five fields must name a time that exists.
func checkRefit(expr string) error {
	sch, err := cron.ParseStandard(expr)
	if err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(expr), "@every"); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(rest)); err == nil && d <= 0 {
			return fmt.Errorf("@every needs a positive duration, not %s", strings.TrimSpace(rest))
		}
		return nil
	}
	if next := sch.Next(ScheduleCheckFrom); next.IsZero() || next.Sub(ScheduleCheckFrom) > NeverFiresWithin {
		return fmt.Errorf("it never fires (no time within five years matches it)")
	}
	return nil
}

// checkHTTPURL reports whether s is an absolute http or https URL. The
// error quotes s redacted and clipped.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // without the URL again
		}
		return fmt.Errorf("invalid URL %q: %s", clip(Redact(s)), clip(RedactText(err.Error())))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("invalid URL %q: want an absolute http or https URL", clip(Redact(s)))
	}
	return nil
}

func (s *Service) validate(v *validator, path string, c *Config) {
	if s.Name == "" {
		v.add(path+".name", "required")
	}
	s.Signals.validate(v, path+".signals", c.Source.Kind)
	s.Incident.validate(v, path+".incident")
	interval := c.Global.Interval
	if interval > MaxInterval {
		interval = 0 // reported; the checks against it would only repeat it
	}
	s.Forecast.validate(v, path+".forecast", s, interval, c.Global.History)

	actions := make(map[string]int)
	for j := range s.Playbook {
		a := &s.Playbook[j]
		apath := fmt.Sprintf("%s.playbook[%d]", path, j)
		if a.Name != "" {
			if k, dup := actions[a.Name]; dup {
				v.addf(apath+".name", "duplicate action name %q (also playbook[%d])", a.Name, k)
			} else {
				actions[a.Name] = j
			}
		}
		a.validate(v, apath)
	}
	s.Sim.Plant.validate(v, path+".sim.plant")
	s.Sim.Load.validate(v, path+".sim.load")
	s.validateKnobs(v, path+".sim.knobs")
}

func (s *Service) validateKnobs(v *validator, path string) {
	for _, name := range slices.Sorted(maps.Keys(s.Sim.Knobs)) {
		knob, p := s.Sim.Knobs[name], path+"."+name
		a := s.Action(name)
		switch {
		case a == nil:
			v.addf(p, "no playbook action %q", name)
		case !slices.Contains(knobs, knob):
			v.addf(p, "unknown knob %q (want %s)", knob, oneOf(knobs...))
		case a.Actuator.Kind == ActuatorSim && a.Actuator.Knob != knob:
			v.addf(p, "%q differs from the action's actuator.knob %q", knob, a.Actuator.Knob)
		}
	}
}

var simSignals = []string{SimLatencyP99, SimRequests, SimPoolInUse, SimPoolLimit}

func (s *Signals) validate(v *validator, path, kind string) {
	if s.Latency.IsZero() {
		v.add(path+".latency", "required")
	}
	for _, name := range SignalNames {
		src := s.Get(name)
		if src.IsZero() {
			continue
		}
		p := path + "." + name
		switch kind {
		case SourceSim:
			switch {
			case src.Sim == "":
				v.add(p+".query", "only for source kind prometheus; set sim for source kind sim")
			case src.Query != "":
				v.add(p+".query", "only for source kind prometheus")
			}
			if src.Sim != "" && !slices.Contains(simSignals, src.Sim) {
				v.addf(p+".sim", "unknown simulator signal %q (want %s)", src.Sim, oneOf(simSignals...))
			}
		case SourcePrometheus:
			switch {
			case strings.TrimSpace(src.Query) == "" && src.Sim != "":
				v.add(p+".sim", "only for source kind sim; set query for source kind prometheus")
			case strings.TrimSpace(src.Query) == "":
				v.add(p+".query", "required for source kind prometheus")
			case src.Sim != "":
				v.add(p+".sim", "only for source kind sim")
			}
		}
	}
}

func (in *Incident) validate(v *validator, path string) {
	v.positive(path+".above", in.Above)
	if in.Consecutive < 1 {
		v.addf(path+".consecutive", "%d must be >= 1", in.Consecutive)
	}
}

// Models lists the forecast.model values, as package model names them.
var Models = []string{ModelAuto, ModelHoltWinters, ModelHWMult, ModelDouble, ModelSeasonalNaive,
	ModelNaive, ModelTheta, ModelAR, ModelLinearTrend, ModelCombination}

func (f *Forecast) validate(v *validator, path string, s *Service, interval, history Duration) {
	if !slices.Contains(Models, f.Model) {
		v.addf(path+".model", "unknown model %q (want %s)", f.Model, oneOf(Models...))
	}
	switch f.Signal {
	case SignalLatency:
	case SignalRequests:
		if s.Signals.Requests.IsZero() {
			v.add(path+".signal", `"requests" needs signals.requests`)
		}
	default:
		v.addf(path+".signal", "unknown signal %q (want %s)", f.Signal, oneOf(SignalRequests, SignalLatency))
	}
	if interval > 0 {
		switch {
		case f.Horizon < interval:
			v.addf(path+".horizon", "%s must be >= global.interval (%s)", f.Horizon, interval)
		case interval <= MaxInterval && f.Horizon/interval > MaxHorizonSteps:
			// In whole steps, as Resolve counts them.
			v.addf(path+".horizon", "%s is %d steps of global.interval (%s): at most %d", f.Horizon,
				f.Horizon/interval, interval, MaxHorizonSteps)
		}
		if f.Period%interval != 0 {
			v.addf(path+".period", "%s must be a multiple of global.interval (%s)", f.Period, interval)
		}
	}
	if f.Period < 0 {
		v.addf(path+".period", "%s must be >= 0", f.Period)
	}
	switch {
	case f.LongPeriod < 0:
		v.addf(path+".long_period", "%s must be >= 0", f.LongPeriod)
	case interval > 0 && f.LongPeriod%interval != 0:
		v.addf(path+".long_period", "%s must be a multiple of global.interval (%s)", f.LongPeriod, interval)
	case f.Model != ModelDouble:
	case f.Period == 0:
		v.add(path+".period", "double-seasonal needs the period set (0, detected, is not supported)")
	case f.LongPeriod <= f.Period:
		v.addf(path+".long_period", "%s must be longer than forecast.period (%s) for double-seasonal", f.LongPeriod, f.Period)
	case history < 2*f.LongPeriod:
		v.addf(path+".model", "double-seasonal fits on two long periods (2 × %s): global.history (%s) must be at least %s",
			f.LongPeriod, history, 2*f.LongPeriod)
	}
	if err := checkRefit(f.Refit); err != nil {
		v.addf(path+".refit", "invalid cron expression %q: %s", f.Refit, err.Error())
	}
	if !(f.Trigger > 0 && f.Trigger <= 1) {
		v.addf(path+".trigger", "%s must be within (0, 1]", num(f.Trigger))
	}
	switch {
	case !(f.Clear > 0):
		v.addf(path+".clear", "%s must be > 0", num(f.Clear))
	case !(f.Clear <= f.Trigger):
		v.addf(path+".clear", "%s must be <= trigger (%s)", num(f.Clear), num(f.Trigger))
	}
	switch {
	case f.Paths < 1:
		v.addf(path+".paths", "%d must be >= 1", f.Paths)
	case f.Paths > MaxPaths:
		v.addf(path+".paths", "%d must be <= %d", f.Paths, MaxPaths)
	}
	if f.Revert != RevertReach && f.Revert != RevertHorizon {
		v.addf(path+".revert", "unknown rule %q (want %s)", f.Revert, oneOf(RevertReach, RevertHorizon))
	}
	if f.Imminent != ImminentEngage && f.Imminent != ImminentOff {
		v.addf(path+".imminent", "unknown value %q (want %s)", f.Imminent, oneOf(ImminentEngage, ImminentOff))
	}
}

var (
	actuatorKinds = []string{ActuatorSim, ActuatorWebhook, ActuatorKube}
	knobs         = []string{KnobQueue, KnobReplicas, KnobCPULimit}
)

func (a *Action) validate(v *validator, path string) {
	if a.Name == "" {
		v.add(path+".name", "required")
	}
	a.Actuator.validate(v, path+".actuator")
	if a.Actuator.Kind == ActuatorKube {
		a.Actuator.Kube.validate(v, path, a)
	}

	if v.finite(path+".min", a.Min) && v.finite(path+".max", a.Max) {
		if a.Max < a.Min {
			v.addf(path+".max", "%s must be >= min (%s)", num(a.Max), num(a.Min))
		} else {
			in := func(field string, x float64) bool {
				if !(x >= a.Min && x <= a.Max) {
					v.addf(path+"."+field, "%s must be within [min, max] ([%s, %s])", num(x), num(a.Min), num(a.Max))
					return false
				}
				return true
			}
			base, eng := a.BaselineValue(), a.EngagedValue()
			if in("baseline", base) && in("engaged", eng) && base == eng {
				v.addf(path+".engaged", "%s equals baseline: the action would change nothing", num(eng))
			}
		}
		switch a.Actuator.Knob {
		case KnobQueue, KnobCPULimit:
			if a.Actuator.Kind == ActuatorSim {
				if a.Min < 0 {
					v.addf(path+".min", "%s must be >= 0 for knob %s", num(a.Min), a.Actuator.Knob)
				}
				if a.Max > 1 {
					v.addf(path+".max", "%s must be <= 1 for knob %s", num(a.Max), a.Actuator.Knob)
				}
			}
		case KnobReplicas:
			if a.Actuator.Kind == ActuatorSim && a.Min < 0 {
				v.addf(path+".min", "%s must be >= 0 for knob %s", num(a.Min), a.Actuator.Knob)
			}
		}
	}
	for _, d := range []struct {
		field string
		d     Duration
	}{{"warmup", a.Warmup}, {"cooldown", a.Cooldown}, {"revert_after", a.RevertAfter}} {
		if d.d < 0 {
			v.addf(path+"."+d.field, "%s must be >= 0", d.d)
		}
	}
}

func (ac *Actuator) validate(v *validator, path string) {
	w := &ac.Webhook
	switch ac.Kind {
	case ActuatorSim:
		switch {
		case ac.Knob == "":
			v.add(path+".knob", "required for actuator kind sim")
		case !slices.Contains(knobs, ac.Knob):
			v.addf(path+".knob", "unknown knob %q (want %s)", ac.Knob, oneOf(knobs...))
		}
	case ActuatorWebhook, ActuatorKube:
	case "":
		v.addf(path+".kind", "required (want %s)", oneOf(actuatorKinds...))
		return
	default:
		v.addf(path+".kind", "unknown actuator %q (want %s)", ac.Kind, oneOf(actuatorKinds...))
		return
	}
	// The settings of the other kinds.
	if ac.Kind != ActuatorSim && ac.Knob != "" {
		v.add(path+".knob", "only for actuator kind sim")
	}
	if ac.Kind != ActuatorWebhook && (w.URL != "" || w.AuthFile != "" || w.AuthEnv != "") {
		v.add(path+".webhook", "only for actuator kind webhook")
	}
	if ac.Kind != ActuatorKube && ac.Kube.Target != "" {
		v.add(path+".kube", "only for actuator kind kube")
	}
	if ac.Kind == ActuatorWebhook {
		w.validate(v, path+".webhook")
	}
}

func (w *Webhook) validate(v *validator, path string) {
	if w.URL == "" {
		v.add(path+".url", "required for actuator kind webhook")
	} else if err := checkHTTPURL(w.URL); err != nil {
		v.add(path+".url", err.Error())
	}
	if w.Timeout <= 0 {
		v.addf(path+".timeout", "%s must be > 0", w.Timeout)
	}
	if w.Retries < 0 {
		v.addf(path+".retries", "%d must be >= 0", w.Retries)
	}
	if w.AuthFile != "" && w.AuthEnv != "" {
		v.add(path+".auth_env", "only one of auth_file and auth_env may be set")
	}
	if err := w.TLSConfig.Validate(); err != nil {
		v.add(path+".tls_config", err.Error())
	}
}

func (p *Plant) validate(v *validator, path string) {
	v.positive(path+".app_capacity", p.AppCapacity)
	if !(p.NeighbourCPU >= 0 && p.NeighbourCPU < 1) {
		v.addf(path+".neighbour_cpu", "%s must be within [0, 1)", num(p.NeighbourCPU))
	}
	v.positive(path+".db_capacity", p.DBCapacity)
	v.positive(path+".replica_capacity", p.ReplicaCapacity)
	v.fraction(path+".read_fraction", p.ReadFraction)
	v.fraction(path+".queue_fraction", p.QueueFraction)
	v.positive(path+".pool_size", p.PoolSize)
	v.positive(path+".service_time", p.ServiceTime)
	v.nonNegative(path+".noise", p.Noise)
}

func (l *Workload) validate(v *validator, path string) {
	v.positive(path+".peak", l.Peak)
	if !(l.PeakQuantile > 0 && l.PeakQuantile <= 1) {
		v.addf(path+".peak_quantile", "%s must be within (0, 1]", num(l.PeakQuantile))
	}
	if l.Duration <= 0 {
		v.addf(path+".duration", "%s must be > 0", l.Duration)
	}
	if _, err := l.StartTime(); err != nil {
		v.addf(path+".start", "invalid RFC 3339 time %q", l.Start)
	}
	v.fraction(path+".daily", l.Daily)
	v.finite(path+".trend", l.Trend)
	v.nonNegative(path+".bursts", l.Bursts)
	if l.FlashCrowds < 0 {
		v.addf(path+".flash_crowds", "%d must be >= 0", l.FlashCrowds)
	}
	for i, cr := range l.Crowds {
		p := fmt.Sprintf("%s.crowds[%d]", path, i)
		if _, err := cr.StartTime(); err != nil {
			v.addf(p+".at", "invalid RFC 3339 time %q", cr.At)
		}
		if cr.Duration <= 0 {
			v.addf(p+".duration", "%s must be > 0", cr.Duration)
		}
		v.positive(p+".height", cr.Height)
		if cr.Rise > cr.Duration {
			v.addf(p+".rise", "%s must be <= duration (%s)", cr.Rise, cr.Duration)
		}
	}
}

// ScheduleCheckFrom and ScheduleCheckSpan are the span over which Validate
// compares two recurring schedules for overlapping windows: four years
// from a fixed date (every weekday on every date of a leap cycle), so the
// answer does not depend on when the check runs. A one-off window is
// compared exactly, whenever it is.
var (
	ScheduleCheckFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ScheduleCheckSpan = 4 * 366 * 24 * time.Hour
)

// scheduleCheckLimit bounds the windows of one schedule compared.
const scheduleCheckLimit = 5000

func (c *Config) validateSchedules(v *validator) {
	names := make(map[string]int)
	parsed := make([]*schedule.Schedule, len(c.Schedules))
	for i := range c.Schedules {
		s := &c.Schedules[i]
		path := fmt.Sprintf("schedules[%d]", i)
		switch {
		case s.Name == "":
			v.add(path+".name", "required")
		default:
			if j, dup := names[s.Name]; dup {
				v.addf(path+".name", "duplicate schedule name %q (also schedules[%d])", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		sch, err := s.Parse()
		for _, fe := range fieldErrors(err) {
			v.add(path+"."+fe.Field, fe.Msg)
		}
		parsed[i] = sch
		if sch != nil && s.Cron != "" {
			c.checkWindows(v, path, sch)
		}
		for j, name := range s.Services {
			if c.Service(name) == nil {
				v.addf(fmt.Sprintf("%s.services[%d]", path, j), "unknown service %q", name)
			}
		}
		if s.Kind != ScheduleFreeze && s.AllowRevert {
			v.add(path+".allow_revert", "only for kind freeze")
		}
		if s.Kind != SchedulePrewarm {
			if len(s.Actions) > 0 {
				v.add(path+".actions", "only for kind prewarm")
			}
			continue
		}
		if len(s.Actions) == 0 {
			v.add(path+".actions", "required for kind prewarm: the actions to hold and their values")
		}
		for _, name := range slices.Sorted(maps.Keys(s.Actions)) {
			val, p := s.Actions[name], path+".actions."+name
			for _, svc := range c.Services {
				if !s.AppliesTo(svc.Name) {
					continue
				}
				a := svc.Action(name)
				if a == nil {
					v.addf(p, "service %q has no playbook action %q", svc.Name, name)
					continue
				}
				if !(val >= a.Min && val <= a.Max) {
					v.addf(p, "%s must be within the action's [min, max] ([%s, %s]) of service %q", num(val), num(a.Min), num(a.Max), svc.Name)
				}
			}
		}
	}
	// Pairs: prewarms that overlap asking different values of one action,
	// and freezes that would block a prewarm.
	to := ScheduleCheckFrom.Add(ScheduleCheckSpan)
	for i := range c.Schedules {
		for j := range c.Schedules {
			a, b := &c.Schedules[i], &c.Schedules[j]
			if i == j || parsed[i] == nil || parsed[j] == nil || !sharesService(c, a, b) {
				continue
			}
			switch {
			case i < j && a.Kind == SchedulePrewarm && b.Kind == SchedulePrewarm:
				var differ []string
				for _, name := range slices.Sorted(maps.Keys(b.Actions)) {
					if va, ok := a.Actions[name]; ok && va != b.Actions[name] {
						differ = append(differ, name)
					}
				}
				if len(differ) == 0 {
					continue
				}
				if wa, wb, ok := schedule.FirstOverlap(parsed[i], parsed[j], ScheduleCheckFrom, to, scheduleCheckLimit); ok {
					name := differ[0]
					v.addf(fmt.Sprintf("schedules[%d].actions.%s", j, name),
						"%s overlaps prewarm %q (schedules[%d], %s) which asks %s %s, this asks %s",
						fmtWindow(wb), a.Name, i, fmtWindow(wa), name, num(a.Actions[name]), num(b.Actions[name]))
				}
			case a.Kind == ScheduleFreeze && b.Kind == SchedulePrewarm:
				if wa, wb, ok := schedule.FirstOverlap(parsed[i], parsed[j], ScheduleCheckFrom, to, scheduleCheckLimit); ok {
					field := "cron"
					if a.Cron == "" {
						field = "at"
					}
					v.addf(fmt.Sprintf("schedules[%d].%s", i, field), "freeze %s would block prewarm %q (schedules[%d], %s)",
						fmtWindow(wa), b.Name, j, fmtWindow(wb))
				}
			}
		}
	}
}

// checkWindows checks that a recurring schedule fires within
// NeverFiresWithin of ScheduleCheckFrom, and that each of its windows ends
// at least one global.interval before the next starts: every window is a
// change the loop acts on, and a once-a-minute schedule would make a
// replay expand hundreds of thousands of windows. It compares the windows
// of ScheduleCheckSpan, at most scheduleCheckLimit of them.
func (c *Config) checkWindows(v *validator, path string, sch *schedule.Schedule) {
	ws := sch.Windows(ScheduleCheckFrom, ScheduleCheckFrom.Add(NeverFiresWithin), 1)
	if len(ws) == 0 {
		v.add(path+".cron", "the schedule never fires (no time within five years matches it)")
		return
	}
	interval := time.Duration(c.Global.Interval)
	if interval <= 0 || interval > time.Duration(MaxInterval) {
		return
	}
	to := ScheduleCheckFrom.Add(ScheduleCheckSpan)
	prev := ws[0]
	for range scheduleCheckLimit {
		next, ok := sch.Next(prev.Start)
		if !ok || !next.Start.Before(to) {
			return
		}
		if next.Start.Sub(prev.End) < interval {
			v.addf(path+".duration", "%s and the next %s are less than global.interval (%s) apart: "+
				"a window must end at least one interval before the next starts",
				fmtWindow(prev), fmtWindow(next), c.Global.Interval)
			return
		}
		prev = next
	}
}

// sharesService reports whether a and b apply to a service in common.
func sharesService(c *Config, a, b *Schedule) bool {
	for _, s := range c.Services {
		if a.AppliesTo(s.Name) && b.AppliesTo(s.Name) {
			return true
		}
	}
	return false
}

func fmtWindow(w schedule.Window) string {
	return fmt.Sprintf("window [%s, %s)", w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339))
}

// fieldErrors returns the *schedule.FieldError values in err.
func fieldErrors(err error) []*schedule.FieldError {
	var out []*schedule.FieldError
	switch e := err.(type) {
	case nil:
	case *schedule.FieldError:
		out = append(out, e)
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			out = append(out, fieldErrors(err)...)
		}
	default:
		out = append(out, &schedule.FieldError{Field: "cron", Msg: err.Error()})
	}
	return out
}
