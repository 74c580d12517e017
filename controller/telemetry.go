package controller

import (
	"github.com/prometheus/client_golang/prometheus"
)

// telemetry holds presage's own metrics.
type telemetry struct {
	signal       *prometheus.GaugeVec
	forecast     *prometheus.GaugeVec
	risk         *prometheus.GaugeVec
	timeToBreach *prometheus.GaugeVec
	breachLevel  *prometheus.GaugeVec
	engaged      *prometheus.GaugeVec
	level        *prometheus.GaugeVec
	actions      *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	missing      *prometheus.CounterVec
	refits       *prometheus.CounterVec
	sourceErrors *prometheus.CounterVec
	stepDuration prometheus.Histogram
	mae          *prometheus.GaugeVec
	mape         *prometheus.GaugeVec
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
		stepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "presage_step_duration_seconds",
			Help:    "Wall time of one control step.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
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
	if reg != nil {
		reg.MustRegister(t.signal, t.forecast, t.risk, t.timeToBreach, t.breachLevel, t.engaged,
			t.level, t.actions, t.decisions, t.missing, t.refits, t.sourceErrors, t.stepDuration, t.mae, t.mape)
	}
	return t
}
