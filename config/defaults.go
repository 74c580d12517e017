package config

import (
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// The default values. Load decodes every section onto these (each entry of
// services starts as DefaultService, each entry of a playbook as
// DefaultAction), so a field the file leaves out keeps its default and a
// field the file sets, to zero included, keeps the file's value. Code that
// builds a Config by hand starts from them too, then calls SetDefaults.
var (
	// DefaultConfig is the configuration of an empty file, services aside.
	DefaultConfig = Config{
		Global:     DefaultGlobal,
		Source:     DefaultSource,
		Kubernetes: DefaultKubernetes,
	}

	// DefaultGlobal holds the global defaults. StaleAfter is left zero:
	// SetDefaults derives it from Interval.
	DefaultGlobal = Global{
		Interval: Duration(time.Minute),
		History:  Duration(7 * 24 * time.Hour),
		Listen:   "127.0.0.1:9797",
	}

	// DefaultSource reads the built-in simulator.
	DefaultSource = Source{
		Kind:       SourceSim,
		Prometheus: DefaultPrometheus,
	}

	// DefaultPrometheus holds the Prometheus source defaults, with
	// Prometheus's own HTTP client defaults (follow redirects, HTTP/2).
	DefaultPrometheus = Prometheus{
		Timeout:          Duration(10 * time.Second),
		ServiceLabel:     "service",
		UnreadyAfter:     Duration(5 * time.Minute),
		Retries:          3,
		MinBackoff:       Duration(100 * time.Millisecond),
		MaxBackoff:       Duration(2 * time.Second),
		HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
	}

	// DefaultService is the start of every entry of services.
	DefaultService = Service{
		IncidentCost: 1000,
		Incident:     DefaultIncident,
		Forecast:     DefaultForecast,
		Sim:          DefaultSim,
	}

	// DefaultIncident has no threshold: incident.above is required.
	DefaultIncident = Incident{
		Consecutive:  3,
		ResolveAfter: Duration(10 * time.Minute),
	}

	// DefaultForecast holds the forecast defaults. Signal is left empty:
	// SetDefaults derives it from the service's signals.
	DefaultForecast = Forecast{
		Model:      ModelAuto,
		Horizon:    Duration(30 * time.Minute),
		Period:     Duration(24 * time.Hour),
		LongPeriod: Duration(7 * 24 * time.Hour),
		Refit:      "@hourly",
		Trigger:    0.5,
		Revert:     RevertReach,
		Imminent:   ImminentEngage,
		Clear:      0.2,
		Paths:      200,
		Seed:       1,
	}

	// DefaultAction is the start of every entry of a playbook. Baseline and
	// Engaged are left nil: SetDefaults derives them from Min and Max.
	DefaultAction = Action{
		Warmup:        Duration(time.Minute),
		Min:           0,
		Max:           1,
		Cooldown:      Duration(5 * time.Minute),
		RevertAfter:   Duration(15 * time.Minute),
		CostPerMinute: 1,
		Actuator: Actuator{
			Webhook: DefaultWebhook,
			Kube:    DefaultKube,
		},
	}

	// DefaultWebhook holds the webhook actuator defaults.
	DefaultWebhook = Webhook{
		Timeout: Duration(10 * time.Second),
		Retries: 3,
	}

	// DefaultSim is the default simulated service and load.
	DefaultSim = Sim{
		Plant: DefaultPlant,
		Load:  DefaultWorkload,
	}

	// DefaultPlant holds the simulated service's default parameters.
	DefaultPlant = Plant{
		AppCapacity:     100,
		NeighbourCPU:    0.3,
		DBCapacity:      120,
		ReplicaCapacity: 60,
		ReadFraction:    0.7,
		ReplicaWarmup:   Duration(5 * time.Minute),
		QueueFraction:   0.4,
		PoolSize:        50,
		ServiceTime:     0.05,
		Noise:           0.05,
	}

	// DefaultWorkload is the default generated load: a week with a daily cycle,
	// two bursts a day and one flash crowd.
	DefaultWorkload = Workload{
		Peak:         1.2,
		PeakQuantile: 0.99,
		Duration:     Duration(7 * 24 * time.Hour),
		Start:        "2026-01-05T00:00:00Z",
		Seed:         1,
		Daily:        0.5,
		Trend:        0,
		Bursts:       2,
		FlashCrowds:  1,
	}
)

// SetDefaults fills the defaults that depend on other fields, and the fields
// whose zero value is not a valid setting, so that it also completes a
// Config built by hand:
//
//   - global.stale_after: 2 × global.interval
//   - forecast.signal: "requests" when the requests signal is configured,
//     else "latency"
//   - baseline: min; engaged: max
//   - webhook auth_header: "Authorization" when auth_file or auth_env is set
//   - interval, history, source kind, Prometheus timeout, service label,
//     unready_after and backoffs (max_backoff: the larger of 2s and
//     min_backoff), consecutive, model, horizon, refit, trigger, clear, paths, webhook
//     timeout, the plant's capacities, pool size and service time, and the
//     load's peak, peak_quantile, duration and start, when zero or empty.
//
// Fields whose zero value means something (listen "" disables the server,
// period 0, warmup 0, max 0, retries 0 (webhook and Prometheus), daily 0, ...) take their defaults
// only from the Default values, which Load starts from. SetDefaults is
// idempotent; Load calls it before Validate.
func (c *Config) SetDefaults() {
	g := &c.Global
	setDefault(&g.Interval, DefaultGlobal.Interval)
	setDefault(&g.History, DefaultGlobal.History)
	setDefault(&g.StaleAfter, 2*g.Interval)

	setDefault(&c.Source.Kind, DefaultSource.Kind)
	l := &c.Kubernetes.LeaderElection
	setDefault(&l.Name, DefaultLeaderElection.Name)
	setDefault(&l.LeaseDuration, DefaultLeaderElection.LeaseDuration)
	setDefault(&l.RenewDeadline, DefaultLeaderElection.RenewDeadline)
	setDefault(&l.RetryPeriod, DefaultLeaderElection.RetryPeriod)
	setDefault(&l.Replicas, DefaultLeaderElection.Replicas)
	p := &c.Source.Prometheus
	setDefault(&p.Timeout, DefaultPrometheus.Timeout)
	setDefault(&p.ServiceLabel, DefaultPrometheus.ServiceLabel)
	setDefault(&p.UnreadyAfter, DefaultPrometheus.UnreadyAfter)
	setDefault(&p.MinBackoff, DefaultPrometheus.MinBackoff)
	setDefault(&p.MaxBackoff, max(DefaultPrometheus.MaxBackoff, p.MinBackoff))

	for i := range c.Services {
		c.Services[i].setDefaults()
	}
}

func (s *Service) setDefaults() {
	setDefault(&s.Incident.Consecutive, DefaultIncident.Consecutive)
	// incident.resolve_after: 0 is a setting (every run of breach an
	// incident); its default comes with DefaultIncident.
	setDefault(&s.IncidentCost, DefaultService.IncidentCost)

	f := &s.Forecast
	setDefault(&f.Model, DefaultForecast.Model)
	if s.Signals.Requests.IsZero() {
		setDefault(&f.Signal, SignalLatency)
	} else {
		setDefault(&f.Signal, SignalRequests)
	}
	setDefault(&f.Horizon, DefaultForecast.Horizon)
	setDefault(&f.Refit, DefaultForecast.Refit)
	setDefault(&f.Trigger, DefaultForecast.Trigger)
	setDefault(&f.Clear, DefaultForecast.Clear)
	setDefault(&f.Revert, DefaultForecast.Revert)
	setDefault(&f.Imminent, DefaultForecast.Imminent)
	setDefault(&f.Paths, DefaultForecast.Paths)

	for j := range s.Playbook {
		a := &s.Playbook[j]
		lo, hi := a.Min, a.Max
		if a.Actuator.Kind == ActuatorKube && a.Actuator.Kube.Target == KubeCPULimits {
			// A factor of the original limit: not engaged is the original.
			lo, hi = a.Max, a.Min
		}
		if a.Baseline == nil {
			a.Baseline = ptr(lo)
		}
		if a.Engaged == nil {
			a.Engaged = ptr(hi)
		}
		if a.Actuator.Kind == ActuatorKube {
			k := &a.Actuator.Kube
			if k.Target == KubeReplicas && k.Version == "" && k.Resource == "" && k.Group == "" {
				k.Group, k.Version, k.Resource = DefaultKube.Group, DefaultKube.Version, DefaultKube.Resource
			}
			setDefault(&k.Floor, DefaultKube.Floor)
			if k.On == "" && k.Off == "" {
				k.On, k.Off = DefaultKube.On, DefaultKube.Off
			}
		}
		w := &a.Actuator.Webhook
		setDefault(&w.Timeout, DefaultWebhook.Timeout)
		if w.AuthFile != "" || w.AuthEnv != "" {
			setDefault(&w.AuthHeader, DefaultAuthHeader)
		}
	}

	pl := &s.Sim.Plant
	setDefault(&pl.AppCapacity, DefaultPlant.AppCapacity)
	setDefault(&pl.DBCapacity, DefaultPlant.DBCapacity)
	setDefault(&pl.ReplicaCapacity, DefaultPlant.ReplicaCapacity)
	setDefault(&pl.PoolSize, DefaultPlant.PoolSize)
	setDefault(&pl.ServiceTime, DefaultPlant.ServiceTime)

	l := &s.Sim.Load
	setDefault(&l.Peak, DefaultWorkload.Peak)
	setDefault(&l.PeakQuantile, DefaultWorkload.PeakQuantile)
	setDefault(&l.Duration, DefaultWorkload.Duration)
	setDefault(&l.Start, DefaultWorkload.Start)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func ptr[T any](v T) *T { return &v }
