// Package prom is a metrics.Source and metrics.RangeSource over the
// Prometheus HTTP API (client_golang's api/prometheus/v1), with the HTTP
// client prometheus/common builds from the configuration (TLS, basic auth,
// authorization and bearer token files, OAuth 2, proxies), as Prometheus
// itself does.
//
// # Batching
//
// Every signal of every service is a PromQL expression whose result has one
// series per service, told apart by source.prometheus.service_label. The
// services whose expression for a signal is the same string share one
// query: a step makes one instant query per distinct expression, whatever
// the number of services (1,000 services with the same four expressions
// make four queries a step).
//
// # Missing data
//
// A value that is NaN or ±Inf, a native histogram where a float is wanted,
// a service absent from the result, one whose sample is older than
// global.stale_after at the step's time, and a service with more than one
// series in a result (the expression does not aggregate by the service
// label: presage does not guess which is meant) are all left out of the
// snapshot: missing, never zero. Queries are sent with lookback_delta set
// to global.stale_after, so a Prometheus server that honours it (newer
// versions) does not fill a silent series with its last value either; with
// one that does not, a series a failed scrape ended is still gone, through
// Prometheus's own staleness markers.
//
// # Failures
//
// Each attempt of a query is bounded by source.prometheus.timeout (also
// sent as the query's evaluation timeout) and by the caller's context. A
// Read is bounded by the context's deadline, or by one control interval
// when the context has none: that is the step's budget. A query that
// failed for a transient reason (timeout, connection, HTTP 5xx or 429) is
// retried up to source.prometheus.retries times after an exponential
// backoff with full jitter, and only when the wait ends within the budget.
// Every failed attempt is counted by kind (see Kinds) in
// presage_prometheus_request_errors_total. A Read fails only when every
// query failed (the source is unreachable); the signals of a query that
// failed alone are missing from the snapshot, and the failure is logged
// and counted.
//
// # History
//
// Range reads the past with query_range on the caller's grid, split so
// that no request returns more than 11,000 points per series (Prometheus's
// limit), for the controller's warm start and for presage export.
package prom
