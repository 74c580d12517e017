package prom

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// telemetry holds the source's own metrics.
type telemetry struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newTelemetry(reg prometheus.Registerer) (*telemetry, error) {
	t := &telemetry{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_prometheus_requests_total",
			Help: "HTTP requests (attempts, retries included) made to the Prometheus API, by endpoint (query, query_range).",
		}, []string{"endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_prometheus_request_errors_total",
			Help: "Failed requests to the Prometheus API, by endpoint and kind (timeout, canceled, connection, http_3xx, http_4xx, http_5xx, bad_response).",
		}, []string{"endpoint", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "presage_prometheus_request_duration_seconds",
			Help:    "Wall time of one request to the Prometheus API, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"endpoint"}),
	}
	// Every kind is exported from the start, at zero, so that rate() and
	// increase() see the first error.
	for _, ep := range []string{endpointQuery, endpointQueryRange} {
		t.requests.WithLabelValues(ep)
		for _, k := range Kinds {
			t.errors.WithLabelValues(ep, k)
		}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{t.requests, t.errors, t.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("prom: register metrics (one Source per registry): %w", err)
			}
		}
	}
	return t, nil
}
