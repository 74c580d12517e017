package prom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
)

// MaxPoints is the most points per series one query_range request asks for;
// Range splits longer ranges. Prometheus refuses more than 11,000.
const MaxPoints = 11000

// maxConcurrent bounds the queries a Read or Range runs at once.
const maxConcurrent = 8

// The endpoints, as the endpoint label of the source's metrics.
const (
	endpointQuery      = "query"
	endpointQueryRange = "query_range"
)

// The kinds of failed requests, as Error.Kind and the kind label of
// presage_prometheus_request_errors_total.
const (
	KindTimeout     = "timeout"      // the attempt's or the step's deadline passed, or Prometheus timed the query out
	KindCanceled    = "canceled"     // the caller gave up
	KindConnection  = "connection"   // no HTTP response: refused, reset, DNS, TLS
	KindBadResponse = "bad_response" // a 2xx response that is not a usable query result
	// HTTP status classes: "http_3xx", "http_4xx", "http_5xx" (see httpKind).
)

// Kinds lists the error kinds a Source counts.
var Kinds = []string{KindTimeout, KindCanceled, KindConnection, "http_3xx", "http_4xx", "http_5xx", KindBadResponse}

// Error is a query that failed, after its retries.
type Error struct {
	// Kind is one of Kinds.
	Kind string
	// Endpoint is "query" or "query_range"; Query the PromQL expression.
	Endpoint string
	Query    string
	// Status is the HTTP status of the last attempt, 0 without a response.
	Status int
	// Attempts is the number of attempts made.
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("prom: %s %q: %s after %d attempt(s): %v", e.Endpoint, e.Query, e.Kind, e.Attempts, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns Kind, so that a caller can label its own count of failed
// reads without importing this package:
//
//	var k interface{ ErrorKind() string }
//	if errors.As(err, &k) { kind = k.ErrorKind() }
func (e *Error) ErrorKind() string { return e.Kind }

// Options holds what New needs beyond the configuration.
type Options struct {
	// Logger receives failed queries and ignored series; nil discards.
	Logger *slog.Logger
	// Registerer receives the source's own metrics; nil registers nowhere.
	Registerer prometheus.Registerer
}

// Source reads every configured signal of every service from Prometheus.
// It is safe for concurrent use.
type Source struct {
	api        v1.API
	url        string // redacted, for errors
	log        *slog.Logger
	tel        *telemetry
	label      model.LabelName
	interval   time.Duration
	stale      time.Duration
	timeout    time.Duration
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration
	queries    []*query
	services   map[string]bool

	// maxPoints and rand are MaxPoints and rand.Float64 outside tests.
	maxPoints int
	rand      func() float64

	mu     sync.Mutex
	warned map[string]bool // ignored-series warnings already logged, by expression
}

var (
	_ metrics.Source      = (*Source)(nil)
	_ metrics.RangeSource = (*Source)(nil)
)

// query is one distinct expression and what it serves.
type query struct {
	expr    string
	targets map[string][]metrics.Signal // service name → the signals this expression gives it
}

// New returns a Source for cfg (validated, defaults applied, source kind
// prometheus). Its HTTP client is prometheus/common's, from
// cfg.Source.Prometheus's inline HTTP client settings.
func New(cfg *config.Config, o Options) (*Source, error) {
	p := cfg.Source.Prometheus
	if p.URL == "" {
		return nil, errors.New("prom: source.prometheus.url is required")
	}
	hc, err := commoncfg.NewClientFromConfig(p.HTTPClientConfig, "presage_prometheus", commoncfg.WithUserAgent("presage"))
	if err != nil {
		return nil, fmt.Errorf("prom: http client: %w", err)
	}
	hc.Transport = statusRecorder{next: hc.Transport}
	client, err := api.NewClient(api.Config{Address: p.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prom: url %q: %w", config.Redact(p.URL), config.RedactError(err))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		api:        v1.NewAPI(client),
		url:        config.Redact(p.URL),
		log:        log,
		label:      model.LabelName(p.ServiceLabel),
		interval:   time.Duration(cfg.Global.Interval),
		stale:      time.Duration(cfg.Global.StaleAfter),
		timeout:    time.Duration(p.Timeout),
		retries:    p.Retries,
		minBackoff: time.Duration(p.MinBackoff),
		maxBackoff: time.Duration(p.MaxBackoff),
		services:   make(map[string]bool, len(cfg.Services)),
		maxPoints:  MaxPoints,
		rand:       rand.Float64,
		warned:     make(map[string]bool),
	}
	switch {
	case s.label == "":
		return nil, errors.New("prom: source.prometheus.service_label is required")
	case s.interval <= 0:
		return nil, errors.New("prom: global.interval must be > 0")
	case s.timeout <= 0:
		return nil, errors.New("prom: source.prometheus.timeout must be > 0")
	}
	if s.stale <= 0 {
		s.stale = 2 * s.interval
	}
	s.maxBackoff = max(s.maxBackoff, s.minBackoff)

	byExpr := make(map[string]*query)
	for _, svc := range cfg.Services {
		s.services[svc.Name] = true
		for _, sig := range metrics.Signals {
			expr := strings.TrimSpace(svc.Signals.Get(string(sig)).Query)
			if expr == "" {
				continue
			}
			q := byExpr[expr]
			if q == nil {
				q = &query{expr: expr, targets: make(map[string][]metrics.Signal)}
				byExpr[expr] = q
				s.queries = append(s.queries, q)
			}
			q.targets[svc.Name] = append(q.targets[svc.Name], sig)
		}
	}
	tel, err := newTelemetry(o.Registerer)
	if err != nil {
		return nil, err
	}
	s.tel = tel
	return s, nil
}

// Queries returns the distinct expressions a Read evaluates, one instant
// query each, in configuration order.
func (s *Source) Queries() []string {
	out := make([]string, len(s.queries))
	for i, q := range s.queries {
		out[i] = q.expr
	}
	return out
}

// Read evaluates every distinct expression at now, one instant query each,
// and returns the usable samples. It fails only when every query failed;
// see the package documentation for what is left out and how failures are
// retried.
func (s *Source) Read(ctx context.Context, now time.Time) (metrics.Snapshot, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.interval)
		defer cancel()
	}
	snap := make(metrics.Snapshot)
	var mu sync.Mutex
	errs := s.each(ctx, s.queries, func(ctx context.Context, q *query) error {
		v, err := s.do(ctx, endpointQuery, q.expr, func(ctx context.Context) (model.Value, v1.Warnings, error) {
			v, w, _, err := s.api.Query(ctx, q.expr, now, v1.WithTimeout(s.timeout), v1.WithLookbackDelta(s.stale))
			return v, w, err
		})
		if err != nil {
			return err
		}
		latest, err := s.latest(q, v, now)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for svc, smp := range latest {
			for _, sig := range q.targets[svc] {
				snap.Set(svc, sig, smp)
			}
		}
		return nil
	})
	if len(errs) > 0 && len(errs) == len(s.queries) {
		return nil, fmt.Errorf("prom: read %s: every query failed: %w", s.url, errors.Join(errs...))
	}
	for _, err := range errs {
		s.log.Warn("prometheus query failed; its signals are missing this step", "err", err)
	}
	return snap, nil
}

// latest returns, by service, the usable sample of an instant query's
// result. A matrix result (a range selector) gives each series' newest
// sample, with its own timestamp.
func (s *Source) latest(q *query, v model.Value, now time.Time) (map[string]metrics.Sample, error) {
	type found struct {
		smp metrics.Sample
		n   int
	}
	by := make(map[string]*found)
	ignored := 0
	add := func(m model.Metric, smp metrics.Sample) {
		svc := string(m[s.label])
		if _, ok := q.targets[svc]; !ok {
			ignored++
			return
		}
		f := by[svc]
		if f == nil {
			f = &found{}
			by[svc] = f
		}
		f.n++
		f.smp = smp
	}
	switch v := v.(type) {
	case model.Vector:
		for _, e := range v {
			smp := metrics.Sample{Time: e.Timestamp.Time(), Value: float64(e.Value)}
			if e.Histogram != nil {
				smp.Value = math.NaN()
			}
			add(e.Metric, smp)
		}
	case model.Matrix:
		for _, ss := range v {
			smp := metrics.Sample{Value: math.NaN()}
			if n := len(ss.Values); n > 0 {
				smp = metrics.Sample{Time: ss.Values[n-1].Timestamp.Time(), Value: float64(ss.Values[n-1].Value)}
			}
			add(ss.Metric, smp)
		}
	default:
		s.tel.errors.WithLabelValues(endpointQuery, KindBadResponse).Inc()
		return nil, &Error{Kind: KindBadResponse, Endpoint: endpointQuery, Query: q.expr, Attempts: 1,
			Err: fmt.Errorf("result type %s: want a vector with one series per %s", typeOf(v), s.label)}
	}
	out := make(map[string]metrics.Sample, len(by))
	var ambiguous []string
	for svc, f := range by {
		switch {
		case f.n > 1:
			ambiguous = append(ambiguous, svc)
		case f.smp.Usable(now, s.stale):
			out[svc] = f.smp
		}
	}
	s.warnIgnored(q.expr, ignored, ambiguous)
	return out, nil
}

// warnIgnored logs, once per expression, series that named no configured
// service and services with more than one series.
func (s *Source) warnIgnored(expr string, ignored int, ambiguous []string) {
	if ignored == 0 && len(ambiguous) == 0 {
		return
	}
	s.mu.Lock()
	seen := s.warned[expr]
	s.warned[expr] = true
	s.mu.Unlock()
	if len(ambiguous) > 0 {
		slices.Sort(ambiguous)
		s.log.Warn("query returned more than one series for a service; left out (aggregate by the service label)",
			"query", expr, "label", s.label, "services", ambiguous)
	}
	if ignored > 0 && !seen {
		s.log.Info("query returned series for no configured service; ignored (logged once)",
			"query", expr, "label", s.label, "series", ignored)
	}
}

func typeOf(v model.Value) string {
	if v == nil {
		return "none"
	}
	return v.Type().String()
}

// Range reads the configured signals of the named services (every
// configured service when services is nil) with query_range on the grid
// start, start+step, …, ≤ end, splitting the range so that no request
// returns more than MaxPoints points per series. Missing values are left
// out, as in Read. On error the History holds what was read; each failed
// expression is one of the joined errors.
func (s *Source) Range(ctx context.Context, services []string, start, end time.Time, step time.Duration) (metrics.History, error) {
	if step <= 0 {
		return nil, fmt.Errorf("prom: range step %v: must be > 0", step)
	}
	if end.Before(start) {
		return nil, fmt.Errorf("prom: range end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	want := s.services
	if services != nil {
		want = make(map[string]bool, len(services))
		for _, name := range services {
			if s.services[name] {
				want[name] = true
			}
		}
	}
	var qs []*query
	for _, q := range s.queries {
		sub := &query{expr: q.expr, targets: make(map[string][]metrics.Signal)}
		for svc, sigs := range q.targets {
			if want[svc] {
				sub.targets[svc] = sigs
			}
		}
		if len(sub.targets) > 0 {
			qs = append(qs, sub)
		}
	}

	hist := make(metrics.History)
	var mu sync.Mutex
	errs := s.each(ctx, qs, func(ctx context.Context, q *query) error {
		series, err := s.rangeQuery(ctx, q, start, end, step)
		mu.Lock()
		defer mu.Unlock()
		for svc, ser := range series {
			if len(ser) == 0 {
				continue
			}
			m := hist[svc]
			if m == nil {
				m = make(map[metrics.Signal]metrics.Series)
				hist[svc] = m
			}
			for _, sig := range q.targets[svc] {
				m[sig] = slices.Clone(ser)
			}
		}
		return err
	})
	return hist, errors.Join(errs...)
}

// rangeQuery reads one expression over [start, end] in chunks of at most
// maxPoints points, oldest first. On error it returns what it read before.
func (s *Source) rangeQuery(ctx context.Context, q *query, start, end time.Time, step time.Duration) (map[string]metrics.Series, error) {
	out := make(map[string]metrics.Series)
	span := time.Duration(s.maxPoints-1) * step
	for from := start; !from.After(end); {
		to := from.Add(span)
		if to.After(end) {
			to = end
		}
		r := v1.Range{Start: from, End: to, Step: step}
		v, err := s.do(ctx, endpointQueryRange, q.expr, func(ctx context.Context) (model.Value, v1.Warnings, error) {
			v, w, _, err := s.api.QueryRange(ctx, q.expr, r, v1.WithTimeout(s.timeout), v1.WithLookbackDelta(s.stale))
			return v, w, err
		})
		if err != nil {
			return out, err
		}
		m, ok := v.(model.Matrix)
		if !ok {
			s.tel.errors.WithLabelValues(endpointQueryRange, KindBadResponse).Inc()
			return out, &Error{Kind: KindBadResponse, Endpoint: endpointQueryRange, Query: q.expr, Attempts: 1,
				Err: fmt.Errorf("result type %s: want a matrix", typeOf(v))}
		}
		count := make(map[string]int)
		ignored := 0
		for _, ss := range m {
			svc := string(ss.Metric[s.label])
			if _, ok := q.targets[svc]; ok {
				count[svc]++
			} else {
				ignored++
			}
		}
		var ambiguous []string
		for _, ss := range m {
			svc := string(ss.Metric[s.label])
			switch n := count[svc]; {
			case n == 0:
				continue
			case n > 1:
				if !slices.Contains(ambiguous, svc) {
					ambiguous = append(ambiguous, svc)
				}
				continue
			}
			for _, p := range ss.Values {
				v := float64(p.Value)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				out[svc] = append(out[svc], metrics.Sample{Time: p.Timestamp.Time(), Value: v})
			}
		}
		s.warnIgnored(q.expr, ignored, ambiguous)
		from = to.Add(step)
	}
	return out, nil
}

// each runs fn for every query, at most maxConcurrent at once, and returns
// the errors in query order.
func (s *Source) each(ctx context.Context, qs []*query, fn func(context.Context, *query) error) []error {
	errs := make([]error, len(qs))
	sem := make(chan struct{}, maxConcurrent)
	var wg sync.WaitGroup
	for i, q := range qs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(ctx, q)
		})
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// do makes one request through call, retrying transient failures with
// exponential backoff and full jitter while the wait ends before ctx's
// deadline. Each attempt is bounded by the configured timeout.
func (s *Source) do(ctx context.Context, endpoint, expr string, call func(context.Context) (model.Value, v1.Warnings, error)) (model.Value, error) {
	for attempt := 1; ; attempt++ {
		var status statusHolder
		actx, cancel := context.WithTimeout(withStatus(ctx, &status), s.timeout)
		start := time.Now()
		v, warnings, err := call(actx)
		cancel()
		s.tel.requests.WithLabelValues(endpoint).Inc()
		s.tel.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
		if err == nil {
			if len(warnings) > 0 {
				s.log.Debug("prometheus query warnings", "query", expr, "warnings", []string(warnings))
			}
			return v, nil
		}
		// net/http's errors quote the request's URL: the configured one,
		// with any password or token in it.
		err = config.RedactError(err)
		code := int(status.code.Load())
		kind := classify(ctx, err, code)
		s.tel.errors.WithLabelValues(endpoint, kind).Inc()
		qerr := &Error{Kind: kind, Endpoint: endpoint, Query: expr, Status: code, Attempts: attempt, Err: err}
		if attempt > s.retries || ctx.Err() != nil || !retryable(kind, code) {
			return nil, qerr
		}
		d := s.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			return nil, qerr // the retry would not fit in the step's budget
		}
		s.log.Debug("prometheus query failed, retrying", "query", expr, "kind", kind, "attempt", attempt, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, qerr
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry n ≥ 1: uniform in
// [0, min(maxBackoff, minBackoff·2ⁿ⁻¹)).
func (s *Source) backoff(n int) time.Duration {
	d := s.minBackoff
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	return time.Duration(s.rand() * float64(min(d, s.maxBackoff)))
}

// classify returns the kind of a failed attempt. ctx is the request's
// (step's) context, not the attempt's.
func classify(ctx context.Context, err error, status int) string {
	var apiErr *v1.Error
	isAPI := errors.As(err, &apiErr)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return KindCanceled
	case status != 0 && status/100 != 2:
		return httpKind(status)
	case isAPI && apiErr.Type == v1.ErrTimeout:
		return KindTimeout
	case isAPI && apiErr.Type == v1.ErrCanceled:
		return KindCanceled
	case isAPI:
		return KindBadResponse
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return KindTimeout
	}
	return KindConnection
}

// httpKind returns "http_4xx" and the like for an HTTP status.
func httpKind(status int) string {
	if status < 100 || status > 599 {
		return KindBadResponse
	}
	return fmt.Sprintf("http_%dxx", status/100)
}

// retryable reports whether a failure of this kind may pass.
func retryable(kind string, status int) bool {
	switch kind {
	case KindTimeout, KindConnection, "http_5xx":
		return true
	}
	return status == http.StatusTooManyRequests
}

// statusHolder receives the HTTP status of an attempt from statusRecorder.
type statusHolder struct{ code atomic.Int32 }

type statusKey struct{}

func withStatus(ctx context.Context, h *statusHolder) context.Context {
	return context.WithValue(ctx, statusKey{}, h)
}

// statusRecorder is a RoundTripper that stores each response's status in
// the request context's statusHolder, so that failures are counted by
// status class (the API client keeps only a coarse error type).
type statusRecorder struct{ next http.RoundTripper }

func (r statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if h, ok := req.Context().Value(statusKey{}).(*statusHolder); ok && resp != nil {
		h.code.Store(int32(resp.StatusCode))
	}
	return resp, err
}
