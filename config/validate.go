package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
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

// historyOK reports whether global.interval and global.history pass
// Global.validate, so that other fields can be checked against them.
func (g *Global) historyOK() bool {
	return g.Interval > 0 && g.Interval <= MaxInterval && g.History >= 2*g.Interval &&
		g.History/g.Interval <= MaxHistorySteps
}

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
	history := Duration(0) // 0: global.history is reported, nothing to check against
	if c.Global.historyOK() {
		history = c.Global.History
	}
	s.Incident.validate(v, path+".incident", history)
	if !(s.IncidentCost > 0) || math.IsInf(s.IncidentCost, 0) {
		v.addf(path+".incident_cost", "%s must be a number > 0", num(s.IncidentCost))
	}
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
			if strings.TrimSpace(src.Query) != "" {
				if err := checkPromQL(src.Query); err != nil {
					v.add(p+".query", fmt.Sprintf("invalid PromQL expression %q: %s", clip(src.Query), clipN(err.Error(), 200)))
				}
			}
		}
	}
}

func (in *Incident) validate(v *validator, path string, history Duration) {
	v.positive(path+".above", in.Above)
	if in.Consecutive < 1 {
		v.addf(path+".consecutive", "%d must be >= 1", in.Consecutive)
	}
	switch {
	case in.ResolveAfter < 0:
		v.addf(path+".resolve_after", "%s must be >= 0", in.ResolveAfter)
	case history > 0 && in.ResolveAfter > history:
		v.addf(path+".resolve_after", "%s must be <= global.history (%s)", in.ResolveAfter, history)
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
	for _, f := range []struct {
		field string
		x     float64
	}{{"cost_per_minute", a.CostPerMinute}, {"capacity_gain", a.CapacityGain}} {
		if !(f.x >= 0) || math.IsInf(f.x, 0) {
			v.addf(path+"."+f.field, "%s must be a number >= 0", num(f.x))
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
	if ac.Kind != ActuatorWebhook && (w.URL != "" || w.ReadURL != "" || w.AuthFile != "" || w.AuthEnv != "") {
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
	if w.ReadURL != "" {
		if err := checkHTTPURL(w.ReadURL); err != nil {
			v.add(path+".read_url", err.Error())
		}
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
	if _, err := l.Location(); err != nil {
		v.addf(path+".timezone", "unknown time zone %q", l.Timezone)
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
