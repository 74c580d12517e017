package controller

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/metrics"
)

// telemetry holds presage's own metrics.
type telemetry struct {
	signal        *prometheus.GaugeVec
	forecast      *prometheus.GaugeVec
	risk          *prometheus.GaugeVec
	timeToBreach  *prometheus.GaugeVec
	breachLevel   *prometheus.GaugeVec
	engaged       *prometheus.GaugeVec
	level         *prometheus.GaugeVec
	actions       *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	missing       *prometheus.CounterVec
	refits        *prometheus.CounterVec
	sourceErrors  *prometheus.CounterVec
	saveFailures  prometheus.Counter
	overruns      prometheus.Counter
	stateRejected *prometheus.CounterVec
	stepDuration  prometheus.Histogram
	mae           *prometheus.GaugeVec
	mape          *prometheus.GaugeVec
	sched         scheduleTelemetry
}

func newTelemetry(reg prometheus.Registerer) *telemetry {
	t := &telemetry{
		signal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_signal_value",
			Help: "Latest value of each signal of each service (latency in seconds, requests per second, connections).",
		}, []string{"service", "signal"}),
		forecast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_forecast",
			Help: "Forecast of the forecast signal at the horizon, as quantiles over the sample paths.",
		}, []string{"service", "signal", "quantile"}),
		risk: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_breach_risk",
			Help: "Share of sample paths in which the incident pattern occurs within the horizon, at the playbook's current level.",
		}, []string{"service"}),
		timeToBreach: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_time_to_breach_seconds",
			Help: "Time until the breach risk first crosses the trigger; +Inf when it does not within the horizon.",
		}, []string{"service"}),
		breachLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_breach_level",
			Help: "Learned value of the forecast signal at and above which the service breaches, at the current playbook level; +Inf while unknown.",
		}, []string{"service", "signal"}),
		engaged: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_action_engaged",
			Help: "1 when the playbook action is engaged, else 0.",
		}, []string{"service", "action"}),
		level: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_engaged_actions",
			Help: "Number of engaged playbook actions.",
		}, []string{"service"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_actions_total",
			Help: "Actions applied, by operation and result (ok, failed).",
		}, []string{"service", "action", "op", "result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_decisions_total",
			Help: "Decisions by reason code.",
		}, []string{"service", "reason"}),
		missing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_missing_samples_total",
			Help: "Samples that were missing, stale or NaN, by service and signal.",
		}, []string{"service", "signal"}),
		refits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_model_refits_total",
			Help: "Model fits, by service, model and result (ok, failed).",
		}, []string{"service", "model", "result"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_source_errors_total",
			Help: "Failed reads of the metrics source.",
		}, []string{"kind"}),
		saveFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presage_state_save_failures_total",
			Help: "Saves of the state file that failed; /readyz is not ready until one succeeds.",
		}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presage_step_overruns_total",
			Help: "Steps of the running loop that took longer than their interval.",
		}),
		stateRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_state_records_rejected_total",
			Help: "Records of the state file set aside at start, not applied, by reason (unknown_service, unknown_action, out_of_bounds, duplicate, fingerprint, direction).",
		}, []string{"reason"}),
		stepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "presage_step_duration_seconds",
			Help: "Wall time of one control step.",
			// From 0.5 ms to 11.6 s, each bucket √2 times the one before:
			// a quantile read from them (histogram_quantile) is within
			// 20% of the step's, where buckets twice as wide left the
			// p99 of a many-service step uncertain by a factor of two.
			Buckets: prometheus.ExponentialBuckets(0.0005, math.Sqrt2, 30),
		}),
		mae: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_forecast_error_mae",
			Help: "Mean absolute error of the one-step forecast of the forecast signal over the last 60 steps, in the signal's unit.",
		}, []string{"service", "signal"}),
		mape: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_forecast_error_mape",
			Help: "Mean absolute percentage error of the one-step forecast over the last 60 steps, as a ratio (0.05 is 5%).",
		}, []string{"service", "signal"}),
	}
	t.sched = newScheduleTelemetry()
	if reg != nil {
		reg.MustRegister(t.sched.start, t.sched.end)
		reg.MustRegister(t.signal, t.forecast, t.risk, t.timeToBreach, t.breachLevel, t.engaged,
			t.level, t.actions, t.decisions, t.missing, t.refits, t.sourceErrors, t.saveFailures, t.overruns, t.stateRejected, t.stepDuration, t.mae, t.mape)
	}
	return t
}

// serviceTelemetry caches one service's metric children: finding a child
// by its label values hashes them on every call, and a step sets a dozen
// per service. A child is created on first use, so /metrics shows exactly
// the series that were set. A nil *serviceTelemetry keeps nothing.
type serviceTelemetry struct {
	t      *telemetry
	name   string
	signal string // the forecast signal's name

	value       [4]prometheus.Gauge   // by signalIndex
	missing     [4]prometheus.Counter // by signalIndex
	forecast    [3]prometheus.Gauge   // quantiles 0.1, 0.5, 0.9
	risk        prometheus.Gauge
	ttb         prometheus.Gauge
	breachLevel prometheus.Gauge
	level       prometheus.Gauge
	mae, mape   prometheus.Gauge
	engaged     []prometheus.Gauge // by playbook step
	decisions   map[string]prometheus.Counter
}

func newServiceTelemetry(t *telemetry, name string, signal metrics.Signal, steps int) *serviceTelemetry {
	return &serviceTelemetry{t: t, name: name, signal: string(signal), engaged: make([]prometheus.Gauge, steps),
		decisions: make(map[string]prometheus.Counter)}
}

// signalIndex returns the index of a signal in metrics.Signals.
func signalIndex(sig metrics.Signal) int {
	switch sig {
	case metrics.Latency:
		return 0
	case metrics.Requests:
		return 1
	case metrics.PoolInUse:
		return 2
	}
	return 3
}

func (st *serviceTelemetry) setValue(sig metrics.Signal, v float64) {
	if st == nil {
		return
	}
	i := signalIndex(sig)
	if st.value[i] == nil {
		st.value[i] = st.t.signal.WithLabelValues(st.name, string(sig))
	}
	st.value[i].Set(v)
}

func (st *serviceTelemetry) incMissing(sig metrics.Signal) {
	if st == nil {
		return
	}
	i := signalIndex(sig)
	if st.missing[i] == nil {
		st.missing[i] = st.t.missing.WithLabelValues(st.name, string(sig))
	}
	st.missing[i].Inc()
}

var forecastQuantiles = [3]string{"0.1", "0.5", "0.9"}

func (st *serviceTelemetry) setForecast(i int, v float64) {
	if st == nil {
		return
	}
	if st.forecast[i] == nil {
		st.forecast[i] = st.t.forecast.WithLabelValues(st.name, st.signal, forecastQuantiles[i])
	}
	st.forecast[i].Set(v)
}

func (st *serviceTelemetry) setRisk(v float64) {
	if st == nil {
		return
	}
	if st.risk == nil {
		st.risk = st.t.risk.WithLabelValues(st.name)
	}
	st.risk.Set(v)
}

func (st *serviceTelemetry) setTimeToBreach(v float64) {
	if st == nil {
		return
	}
	if st.ttb == nil {
		st.ttb = st.t.timeToBreach.WithLabelValues(st.name)
	}
	st.ttb.Set(v)
}

func (st *serviceTelemetry) setBreachLevel(v float64) {
	if st == nil {
		return
	}
	if st.breachLevel == nil {
		st.breachLevel = st.t.breachLevel.WithLabelValues(st.name, st.signal)
	}
	st.breachLevel.Set(v)
}

func (st *serviceTelemetry) setLevel(v float64) {
	if st == nil {
		return
	}
	if st.level == nil {
		st.level = st.t.level.WithLabelValues(st.name)
	}
	st.level.Set(v)
}

func (st *serviceTelemetry) setEngaged(step int, action string, v float64) {
	if st == nil {
		return
	}
	if st.engaged[step] == nil {
		st.engaged[step] = st.t.engaged.WithLabelValues(st.name, action)
	}
	st.engaged[step].Set(v)
}

func (st *serviceTelemetry) setError(mae float64, mape float64, withMAPE bool) {
	if st == nil {
		return
	}
	if st.mae == nil {
		st.mae = st.t.mae.WithLabelValues(st.name, st.signal)
	}
	st.mae.Set(mae)
	if !withMAPE {
		return
	}
	if st.mape == nil {
		st.mape = st.t.mape.WithLabelValues(st.name, st.signal)
	}
	st.mape.Set(mape)
}

func (st *serviceTelemetry) incDecision(reason string) {
	if st == nil {
		return
	}
	c := st.decisions[reason]
	if c == nil {
		c = st.t.decisions.WithLabelValues(st.name, reason)
		st.decisions[reason] = c
	}
	c.Inc()
}
