package config

import (
	"slices"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/presage-dev/presage/schedule"
)

// Duration is a YAML duration such as "30s", "5m", "1h" or "7d" (Prometheus
// syntax). Negative durations do not parse.
type Duration = model.Duration

// Source kinds (source.kind).
const (
	SourceSim        = "sim"
	SourcePrometheus = "prometheus"
)

// Signal names: the keys of a service's signals, and the values of
// forecast.signal.
const (
	SignalLatency   = "latency"
	SignalRequests  = "requests"
	SignalPoolInUse = "pool_in_use"
	SignalPoolLimit = "pool_limit"
)

// Simulator signals (signals.*.sim).
const (
	SimLatencyP99 = "latency_p99"
	SimRequests   = "requests"
	SimPoolInUse  = "pool_in_use"
	SimPoolLimit  = "pool_limit"
)

// Forecast models (forecast.model).
const (
	ModelAuto          = "auto"
	ModelHoltWinters   = "holt-winters"
	ModelSeasonalNaive = "seasonal-naive"
	ModelNaive         = "naive"
	ModelHWMult        = "holt-winters-mult"
	ModelDouble        = "double-seasonal"
	ModelTheta         = "theta"
	ModelAR            = "ar"
	ModelLinearTrend   = "linear-trend"
	ModelCombination   = "combination"
)

// What an incident under way does (forecast.imminent).
const (
	ImminentEngage = "engage"
	ImminentOff    = "off"
)

// Revert rules (forecast.revert).
const (
	RevertReach   = "reach"
	RevertHorizon = "horizon"
)

// Actuator kinds (actuator.kind).
const (
	ActuatorSim     = "sim"
	ActuatorWebhook = "webhook"
	// ActuatorKube is in kube.go.
)

// Simulated service knobs (actuator.knob, kind sim).
const (
	KnobQueue    = "queue"
	KnobReplicas = "replicas"
	KnobCPULimit = "cpu_limit"
)

// DefaultAuthHeader is the webhook header that carries the credential when
// auth_file or auth_env is set and auth_header is not.
const DefaultAuthHeader = "Authorization"

// Config is the whole presage configuration.
type Config struct {
	Global   Global    `yaml:"global"`
	Source   Source    `yaml:"source"`
	Services []Service `yaml:"services"`
	// Kubernetes says how to reach the Kubernetes API (kube actuators,
	// leader election).
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Schedules are calendar windows: prewarms, change freezes and known
	// events, each for some or all services. Default: none.
	Schedules []Schedule `yaml:"schedules"`

	// file and doc are the file name and the YAML tree Load read c from,
	// so that the problems found after Load (RunError, CheckFiles) name
	// their file and line as Validate's do.
	file string
	doc  *yaml.Node
}

// UnmarshalYAML decodes c onto DefaultConfig.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	return unmarshal((*plain)(c))
}

// ServiceNames returns the services' names, in the file's order.
func (c *Config) ServiceNames() []string {
	names := make([]string, len(c.Services))
	for i, s := range c.Services {
		names[i] = s.Name
	}
	return names
}

// Service returns the service called name, or nil.
func (c *Config) Service(name string) *Service {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// SetDirectory makes the relative file paths of c (the Prometheus source's
// TLS and credential files, the webhooks' auth_file and TLS files, and the
// load traces) relative to dir. LoadFile calls it with the config file's
// directory. global.state_file is left relative to the working directory.
func (c *Config) SetDirectory(dir string) {
	c.Source.Prometheus.HTTPClientConfig.SetDirectory(dir)
	for i := range c.Services {
		s := &c.Services[i]
		s.Sim.Load.Trace = commoncfg.JoinDir(dir, s.Sim.Load.Trace)
		for j := range s.Playbook {
			w := &s.Playbook[j].Actuator.Webhook
			w.AuthFile = commoncfg.JoinDir(dir, w.AuthFile)
			w.TLSConfig.SetDirectory(dir)
		}
	}
}

// Global holds settings shared by every service.
type Global struct {
	// Interval is the control interval: one step, one sample per signal.
	// Default 1m.
	Interval Duration `yaml:"interval"`
	// History is how much history is kept per signal per service; older
	// samples are dropped. At least 2×interval. Default 7d.
	History Duration `yaml:"history"`
	// StaleAfter is the age past which a sample is missing. Default (and
	// when 0) 2×interval.
	StaleAfter Duration `yaml:"stale_after"`
	// Listen is the address (host:port) of presage's own /metrics, /healthz
	// and /readyz. Empty disables the server. Default "127.0.0.1:9797".
	Listen string `yaml:"listen"`
	// StateFile is where presage keeps the values it replaced, so a restart
	// reverts or keeps what an earlier run did. Empty keeps state in memory
	// only. A relative path is relative to the working directory.
	// Default "".
	StateFile string `yaml:"state_file"`
}

// Source says where signals come from.
type Source struct {
	// Kind is "sim" (the built-in simulated services) or "prometheus".
	// Default "sim".
	Kind string `yaml:"kind"`
	// Prometheus configures the Prometheus HTTP API source (kind: prometheus).
	Prometheus Prometheus `yaml:"prometheus"`
}

// Prometheus configures the Prometheus HTTP API source.
type Prometheus struct {
	// URL of the Prometheus server, e.g. "http://127.0.0.1:9090". Required
	// when source.kind is prometheus.
	URL string `yaml:"url"`
	// Timeout bounds one attempt of one query, and is sent to Prometheus as
	// the query's evaluation timeout. A whole read (every query of a step,
	// with its retries) is also bounded by the step: by the caller's
	// deadline, or one global.interval without one. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// ServiceLabel is the label that tells services apart in a query result.
	// Default "service".
	ServiceLabel string `yaml:"service_label"`
	// UnreadyAfter is how long the source may stay unreachable (every read
	// failing) before /readyz reports presage not ready. > 0. Default 5m.
	UnreadyAfter Duration `yaml:"unready_after"`
	// Retries is how many times a query that failed for a transient reason
	// (timeout, connection error, HTTP 5xx or 429) is retried within the
	// step's budget; 0 never retries. Default 3.
	Retries int `yaml:"retries"`
	// MinBackoff and MaxBackoff bound the wait before a retry: before retry
	// n it is uniformly random in [0, min(MaxBackoff, MinBackoff·2ⁿ⁻¹))
	// (exponential backoff with full jitter), and a retry whose wait would
	// end past the step's budget is not made. > 0, MinBackoff ≤ MaxBackoff.
	// Defaults 100ms and 2s.
	MinBackoff Duration `yaml:"min_backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	// HTTPClientConfig holds TLS, authentication and proxy settings, as in
	// Prometheus's own configuration, inline beside url: tls_config,
	// basic_auth, authorization, oauth2, proxy_url, follow_redirects
	// (default true), enable_http2 (default true), http_headers. Relative
	// file names are relative to the config file.
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
}

// Service is one service presage watches and protects.
type Service struct {
	// Name identifies the service; it is the value of the service label in
	// Prometheus. Required, unique.
	Name string `yaml:"name"`
	// Signals says where each signal comes from. Latency is required.
	Signals Signals `yaml:"signals"`
	// Incident is the incident pattern.
	Incident Incident `yaml:"incident"`
	// Forecast configures the model and the breach risk.
	Forecast Forecast `yaml:"forecast"`
	// Playbook is the ordered list of actions, cheapest first.
	Playbook []Action `yaml:"playbook"`
	// IncidentCost is what one incident costs, in the unit of the actions'
	// cost_per_minute (by default a unit of an action's value for one
	// minute: one read replica for one minute). The planner (policy plan)
	// weighs the incidents it expects against the actions' costs with it.
	// > 0. Default 1000.
	IncidentCost float64 `yaml:"incident_cost"`
	// Sim configures the simulated service and its load (source kind sim and
	// replay). It is validated whatever the source kind, since replay always
	// uses it; its defaults are valid.
	Sim Sim `yaml:"sim"`
}

// UnmarshalYAML decodes s onto DefaultService.
func (s *Service) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultService
	type plain Service
	return unmarshal((*plain)(s))
}

// Action returns the playbook action called name, or nil.
func (s *Service) Action(name string) *Action {
	for i := range s.Playbook {
		if s.Playbook[i].Name == name {
			return &s.Playbook[i]
		}
	}
	return nil
}

// Signals maps each signal to where it comes from.
type Signals struct {
	Latency   SignalSource `yaml:"latency"`     // p99 latency, seconds; required
	Requests  SignalSource `yaml:"requests"`    // request rate, per second
	PoolInUse SignalSource `yaml:"pool_in_use"` // connections in use
	PoolLimit SignalSource `yaml:"pool_limit"`  // connection pool size
}

// SignalNames lists the signal names in the order of Signals' fields.
var SignalNames = []string{SignalLatency, SignalRequests, SignalPoolInUse, SignalPoolLimit}

// Get returns the source of the signal called name (one of SignalNames);
// an unknown name returns the zero SignalSource.
func (s Signals) Get(name string) SignalSource {
	switch name {
	case SignalLatency:
		return s.Latency
	case SignalRequests:
		return s.Requests
	case SignalPoolInUse:
		return s.PoolInUse
	case SignalPoolLimit:
		return s.PoolLimit
	}
	return SignalSource{}
}

// SignalSource is a PromQL expression (source kind prometheus) or the name of
// a simulator signal (source kind sim); exactly the one the source kind uses
// must be set. An entirely empty SignalSource means the signal is not used.
type SignalSource struct {
	// Query is a PromQL expression whose result has one series per service,
	// told apart by source.prometheus.service_label. Validate parses it
	// with Prometheus's parser (experimental functions allowed): one that
	// does not parse is a problem at its line.
	Query string `yaml:"query"`
	// Sim is a simulator signal: "latency_p99", "requests", "pool_in_use" or
	// "pool_limit".
	Sim string `yaml:"sim"`
}

// IsZero reports whether the signal is not configured.
func (s SignalSource) IsZero() bool { return s.Query == "" && s.Sim == "" }

// Incident is the incident pattern: the latency signal above Above for
// Consecutive samples in a row is a breach; an incident starts with a
// breach and ends once the latency has stayed at or below Above for
// ResolveAfter.
type Incident struct {
	// Above is the latency threshold, seconds. Required, > 0.
	Above float64 `yaml:"above"`
	// Consecutive is how many samples in a row above the threshold make a
	// breach. At least 1. Default 3.
	Consecutive int `yaml:"consecutive"`
	// ResolveAfter is how long the latency must stay at or below the
	// threshold for an incident to end (Prometheus's keep_firing_for): a
	// breach that comes back sooner is the same incident. It counts in
	// samples, rounded up: a stretch of g samples at or below the
	// threshold ends the incident when g × global.interval >=
	// resolve_after. 0 makes every run of breach an incident of its own.
	// It shapes the figures only (replay, the report); the controller's
	// reactive floor acts on the breach itself. >= 0, at most
	// global.history. Default 10m.
	ResolveAfter Duration `yaml:"resolve_after"`
}

// Forecast configures the model and the breach risk.
type Forecast struct {
	// Model is the forecaster: "auto" (the fast choice by history length:
	// Holt-Winters when history covers two periods, seasonal naive when it
	// covers one, damped Holt or naive before), "combination" (a
	// rolling-origin backtest over the horizon chooses among the models and
	// takes the median of the best three; a refit costs tens of
	// milliseconds), or one model: "holt-winters", "holt-winters-mult",
	// "double-seasonal", "seasonal-naive", "naive", "theta", "ar",
	// "linear-trend". A model that needs more history than there is yet
	// (two periods for holt-winters, two long periods for double-seasonal)
	// leaves the forecast to the automatic choice until the history covers
	// it. Default "auto".
	Model string `yaml:"model"`
	// Signal is the signal forecast: "requests" (the load; its breach level
	// is learned from the service's own history) or "latency" (forecast
	// directly). Default "requests" when the requests signal is configured,
	// else "latency".
	Signal string `yaml:"signal"`
	// Horizon is how far ahead the forecast looks; at least global.interval.
	// Default 30m.
	Horizon Duration `yaml:"horizon"`
	// Period is the seasonal period, a multiple of global.interval; 0 means
	// detect it from the history. Default 1d.
	Period Duration `yaml:"period"`
	// LongPeriod is the longer seasonal period of the double-seasonal
	// model (a week beside a day), a multiple of global.interval and longer
	// than Period; other models do not use it. double-seasonal fits on two
	// long periods, so global.history must cover them. Default 1w.
	LongPeriod Duration `yaml:"long_period"`
	// Refit is a cron expression (five fields or a descriptor such as
	// "@hourly", optionally prefixed by "CRON_TZ=<zone> ") that says when
	// the model's parameters are refitted, evaluated against the step's
	// time; after a refit that left the forecast where it was (within 2%),
	// the next one is passed over, then up to three in a row. Default
	// "@hourly".
	Refit string `yaml:"refit"`
	// Trigger is the breach risk (0..1) at or above which an action engages.
	// Default 0.5.
	Trigger float64 `yaml:"trigger"`
	// Clear is the breach risk (0..1) below which the risk has passed;
	// must be > 0 and ≤ trigger. Default 0.2.
	Clear float64 `yaml:"clear"`
	// Revert is when the risk one level down (the risk had the last
	// engaged action been reverted) has passed, in predictive mode:
	// "reach", once the load now is below what that level takes and the
	// share of sample paths that breach there within the action's reach
	// (warmup + margin: how soon the forecast would engage it again) is
	// below Clear; "horizon", once the share that breach there within the
	// horizon is below Clear, whatever the load now. Default "reach".
	Revert string `yaml:"revert"`
	// Imminent is what the predictive policy does on an incident under
	// way (the latency above the threshold for all but the last sample of
	// the incident pattern, at a load the current level was seen not to
	// take): "engage" the next action at once, or "off", to act on the
	// forecast and on an incident in progress only (fewer engagements on
	// near misses, more incidents). Default "engage".
	Imminent string `yaml:"imminent"`
	// Paths is the number of sample paths the risk is computed over.
	// At least 1. Default 200.
	Paths int `yaml:"paths"`
	// Seed seeds the sample paths and the fits. Default 1.
	Seed uint64 `yaml:"seed"`
}

// Action is one step of a playbook: a knob an actuator sets.
type Action struct {
	// Name identifies the action within its service. Required, unique.
	Name string `yaml:"name"`
	// Actuator says what applies the action.
	Actuator Actuator `yaml:"actuator"`
	// Warmup is how long the action takes to help once applied. Default 1m.
	Warmup Duration `yaml:"warmup"`
	// Margin is how much further than its warm-up a forecast breach may be
	// and still engage the action: it engages when the time to breach is at
	// most warmup + margin. 0 means one control interval. Default 0.
	Margin Duration `yaml:"margin"`
	// Min and Max bound the knob's value; Min ≤ Max. Default 0 and 1.
	Min float64 `yaml:"min"`
	Max float64 `yaml:"max"`
	// Baseline is the knob's value when the action is not engaged, used when
	// the actuator cannot read the current value; within [Min, Max].
	// Default Min.
	Baseline *float64 `yaml:"baseline"`
	// Engaged is the value the knob is set to when the action engages;
	// within [Min, Max] and different from Baseline. Default Max.
	Engaged *float64 `yaml:"engaged"`
	// Cooldown is the least time between two changes of this action.
	// Default 5m.
	Cooldown Duration `yaml:"cooldown"`
	// RevertAfter is how long the risk must stay below forecast.clear before
	// the action is reverted. Default 15m.
	RevertAfter Duration `yaml:"revert_after"`
	// CostPerMinute is what the action costs per minute per unit of its
	// value away from its baseline (a replica, the queue on, the whole of
	// the neighbours' CPU): the planner's price and the replay's. >= 0.
	// Default 1.
	CostPerMinute float64 `yaml:"cost_per_minute"`
	// CapacityGain, when set, declares how much more load the service takes
	// with the action engaged, as a fraction (0.3: 30% more): the planner's
	// prior for an action set it has not yet seen. 0 declares nothing (the
	// planner assumes no gain until it has seen one). >= 0. Default 0.
	CapacityGain float64 `yaml:"capacity_gain"`
}

// UnmarshalYAML decodes a onto DefaultAction.
func (a *Action) UnmarshalYAML(unmarshal func(any) error) error {
	*a = DefaultAction
	type plain Action
	return unmarshal((*plain)(a))
}

// BaselineValue returns Baseline, or Min when it is not set.
func (a Action) BaselineValue() float64 {
	if a.Baseline != nil {
		return *a.Baseline
	}
	return a.Min
}

// EngagedValue returns Engaged, or Max when it is not set.
func (a Action) EngagedValue() float64 {
	if a.Engaged != nil {
		return *a.Engaged
	}
	return a.Max
}

// Actuator says what applies an action.
type Actuator struct {
	// Kind is "sim" (the simulated service's knob), "webhook" or "kube"
	// (a Kubernetes object). Required.
	Kind string `yaml:"kind"`
	// Knob is the simulated service's knob (kind sim): "queue" (async
	// queue on/off, 0 or 1), "replicas" (read replicas, ≥ 0) or "cpu_limit"
	// (CPU limit of the non-critical neighbours, as a fraction 0..1 of their
	// normal limit).
	Knob string `yaml:"knob"`
	// Webhook configures the HTTP webhook (kind webhook).
	Webhook Webhook `yaml:"webhook"`
	// Kube configures the Kubernetes change (kind kube).
	Kube Kube `yaml:"kube"`
}

// Webhook configures an HTTP webhook actuator: it POSTs the action as JSON.
type Webhook struct {
	// URL receives the POST: an absolute http or https URL. Required for
	// kind webhook.
	URL string `yaml:"url"`
	// ReadURL, when set, is where presage reads the value the receiver
	// holds for the action: a GET with query parameters service and
	// action, answered 200 with {"value": NUMBER}, or {"value": null}
	// when the receiver holds none. With it, presage checks at start and
	// periodically that the receiver still holds each engaged change, and
	// applies again one it no longer holds; without it, presage applies
	// every engaged change again at start. An absolute http or https URL;
	// optional. The same timeout, credential and TLS settings as URL.
	ReadURL string `yaml:"read_url"`
	// Timeout bounds one attempt. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// Retries is how many times a failed attempt (5xx or connection error)
	// is retried with exponential backoff and jitter; 0 never retries.
	// Default 3.
	Retries int `yaml:"retries"`
	// AuthHeader is the header that carries the credential, e.g.
	// "Authorization". Default "Authorization" when a credential is set.
	AuthHeader string `yaml:"auth_header"`
	// AuthFile is a file whose content (trimmed) is the header's value.
	// A relative path is relative to the config file. At most one of
	// AuthFile and AuthEnv.
	AuthFile string `yaml:"auth_file"`
	// AuthEnv is an environment variable whose value is the header's value.
	AuthEnv string `yaml:"auth_env"`
	// TLSConfig configures TLS; verification is on unless
	// insecure_skip_verify is set.
	TLSConfig commoncfg.TLSConfig `yaml:"tls_config"`
}

// Schedule kinds (schedules[].kind).
const (
	SchedulePrewarm = string(schedule.Prewarm)
	ScheduleFreeze  = string(schedule.Freeze)
	ScheduleEvent   = string(schedule.Event)
)

// Schedule is a calendar window that repeats on a cron expression or
// happens once (at), for a duration, in a time zone. See package schedule
// for how wall-clock times resolve across daylight-saving changes.
type Schedule struct {
	// Name identifies the schedule in decisions, metrics and reports.
	// Required, unique.
	Name string `yaml:"name"`
	// Kind is "prewarm" (hold playbook actions at set values during the
	// window; the forecast may still engage more, never less), "freeze"
	// (start no action during the window) or "event" (a known event the
	// forecast learns from). Required.
	Kind string `yaml:"kind"`
	// Services names the services the schedule applies to; empty means
	// every service. Default: every service.
	Services []string `yaml:"services"`
	// Cron says when each window starts: five fields or a descriptor such
	// as "@daily" (not "@every"), optionally prefixed by "CRON_TZ=<zone> ".
	// Exactly one of cron and at.
	Cron string `yaml:"cron"`
	// At is a one-off start: RFC 3339 ("2026-11-11T19:30:00+08:00"), or a
	// date-time or date without offset ("2026-11-11T19:30", "2026-11-11")
	// read in timezone.
	At string `yaml:"at"`
	// Duration is how long each window lasts (elapsed time); > 0.
	// Required.
	Duration Duration `yaml:"duration"`
	// Timezone is the IANA time zone of cron and at, e.g. "Europe/Paris".
	// Default "UTC" (or the CRON_TZ= of cron).
	Timezone string `yaml:"timezone"`
	// Actions maps, for kind prewarm, each playbook action to the value it
	// is held at during the window, within the action's [min, max].
	// Required for prewarm, only for prewarm.
	Actions map[string]float64 `yaml:"actions"`
	// AllowRevert lets a freeze revert engaged actions to the values they
	// replaced (restoring the original state); starting actions is never
	// allowed. Only for kind freeze. Default false.
	AllowRevert bool `yaml:"allow_revert"`
}

// Spec returns the schedule as package schedule takes it.
func (s Schedule) Spec() schedule.Spec {
	return schedule.Spec{Name: s.Name, Kind: schedule.Kind(s.Kind), Cron: s.Cron, At: s.At,
		Duration: time.Duration(s.Duration), Timezone: s.Timezone, Actions: s.Actions, AllowRevert: s.AllowRevert}
}

// Parse parses the schedule's start, zone and duration.
func (s Schedule) Parse() (*schedule.Schedule, error) { return schedule.Parse(s.Spec()) }

// AppliesTo reports whether the schedule applies to the service called name.
func (s Schedule) AppliesTo(name string) bool {
	return len(s.Services) == 0 || slices.Contains(s.Services, name)
}
