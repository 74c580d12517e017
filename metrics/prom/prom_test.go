package prom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
)

// now is the step time of the tests.
var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// request is one request the fake Prometheus received.
type request struct {
	path, query       string
	time, start, end  float64
	step              float64
	timeout, lookback string
}

// fakeProm speaks the Prometheus HTTP API's query and query_range
// endpoints; answer returns the status and the JSON "data" (or, for a
// status other than 200, the whole body).
type fakeProm struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(r request) (int, string)
}

func newFakeProm(t *testing.T, answer func(r request) (int, string)) *fakeProm {
	t.Helper()
	f := &fakeProm{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		if err := hr.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		num := func(k string) float64 { v, _ := strconv.ParseFloat(hr.Form.Get(k), 64); return v }
		r := request{
			path: hr.URL.Path, query: hr.Form.Get("query"),
			time: num("time"), start: num("start"), end: num("end"), step: num("step"),
			timeout: hr.Form.Get("timeout"), lookback: hr.Form.Get("lookback_delta"),
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		code, body := f.answer(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code == http.StatusOK {
			fmt.Fprintf(w, `{"status":"success","data":%s}`, body)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProm) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// vector encodes an instant vector: one sample per service at ts.
func vector(ts time.Time, values map[string]string) string {
	var parts []string
	for svc, v := range values {
		parts = append(parts, fmt.Sprintf(`{"metric":{"service":%q},"value":[%s,%q]}`, svc, unix(ts), v))
	}
	return `{"resultType":"vector","result":[` + strings.Join(parts, ",") + `]}`
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// testConfig returns a valid prometheus config for services, each with the
// four signals from the same four expressions, pointed at url.
func testConfig(t testing.TB, url string, services ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "global: {interval: 1m}\nsource:\n  kind: prometheus\n  prometheus: {url: %q, timeout: 2s, retries: 2, min_backoff: 1ms, max_backoff: 4ms}\nservices:\n", url)
	for _, s := range services {
		fmt.Fprintf(&b, `  - name: %s
    signals:
      latency: {query: "histogram_quantile(0.99, sum by (service, le) (rate(latency_bucket[1m])))"}
      requests: {query: "sum by (service) (rate(requests_total[1m]))"}
      pool_in_use: {query: "sum by (service) (pool_in_use)"}
      pool_limit: {query: "sum by (service) (pool_limit)"}
    incident: {above: 0.5}
`, s)
	}
	cfg, err := config.Load([]byte(b.String()), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newSource(t *testing.T, cfg *config.Config, reg prometheus.Registerer) *Source {
	t.Helper()
	s, err := New(cfg, Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	s.rand = func() float64 { return 0.5 }
	return s
}

// TestBatchedQueries shows that a step makes one query per distinct
// expression, not one per service: 1,000 services sharing four
// expressions make four requests.
func TestBatchedQueries(t *testing.T) {
	const n = 1000
	names := make([]string, n)
	values := make(map[string]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d", i)
		values[names[i]] = strconv.Itoa(i)
	}
	fake := newFakeProm(t, func(r request) (int, string) { return 200, vector(now, values) })
	src := newSource(t, testConfig(t, fake.URL, names...), nil)
	if got := len(src.Queries()); got != 4 {
		t.Fatalf("%d distinct queries, want 4", got)
	}
	for step := range 3 {
		snap, err := src.Read(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(fake.requests()), 4*(step+1); got != want {
			t.Fatalf("after %d steps: %d requests, want %d", step+1, got, want)
		}
		if len(snap) != n {
			t.Fatalf("snapshot has %d services, want %d", len(snap), n)
		}
		for _, sig := range metrics.Signals {
			if v, ok := snap.Get("svc-0042", sig); !ok || v.Value != 42 || !v.Time.Equal(now) {
				t.Errorf("svc-0042 %s = %+v, %v; want 42 at %s", sig, v, ok, now)
			}
		}
	}
	for _, r := range fake.requests() {
		if r.path != "/api/v1/query" || r.time != float64(now.Unix()) {
			t.Errorf("request %+v: want an instant query at the step's time", r)
		}
		if r.lookback != "2m0s" || r.timeout != "2s" {
			t.Errorf("request lookback_delta %q, timeout %q: want 2m0s (stale_after) and 2s", r.lookback, r.timeout)
		}
	}
}

// TestMissingData checks that NaN, ±Inf, empty results, stale samples,
// native histograms and ambiguous services are left out, never zero,
// while a real zero is kept.
func TestMissingData(t *testing.T) {
	old := now.Add(-3 * time.Minute) // stale_after is 2m
	results := map[string]string{
		"latency": `{"resultType":"vector","result":[
			{"metric":{"service":"ok"},"value":[` + unix(now) + `,"0.25"]},
			{"metric":{"service":"zero"},"value":[` + unix(now) + `,"0"]},
			{"metric":{"service":"nan"},"value":[` + unix(now) + `,"NaN"]},
			{"metric":{"service":"inf"},"value":[` + unix(now) + `,"+Inf"]},
			{"metric":{"service":"neginf"},"value":[` + unix(now) + `,"-Inf"]},
			{"metric":{"service":"stale"},"value":[` + unix(old) + `,"0.3"]},
			{"metric":{"service":"twice","instance":"a"},"value":[` + unix(now) + `,"0.1"]},
			{"metric":{"service":"twice","instance":"b"},"value":[` + unix(now) + `,"0.2"]},
			{"metric":{"service":"histogram"},"histogram":[` + unix(now) + `,{"count":"1","sum":"1","buckets":[]}]},
			{"metric":{"service":"unknown"},"value":[` + unix(now) + `,"1"]},
			{"metric":{},"value":[` + unix(now) + `,"1"]}
		]}`,
		// A range selector: each series' newest sample, with its own time.
		"requests": `{"resultType":"matrix","result":[
			{"metric":{"service":"ok"},"values":[[` + unix(now.Add(-20*time.Second)) + `,"7"],[` + unix(now.Add(-5*time.Second)) + `,"8"]]},
			{"metric":{"service":"stale"},"values":[[` + unix(old) + `,"9"]]}
		]}`,
		"pool_in_use": `{"resultType":"vector","result":[]}`,
		"pool_limit":  `{"resultType":"scalar","result":[` + unix(now) + `,"1"]}`,
	}
	fake := newFakeProm(t, func(r request) (int, string) {
		for k, v := range results {
			if strings.Contains(r.query, k) {
				return 200, v
			}
		}
		return 200, `{"resultType":"vector","result":[]}`
	})
	names := []string{"ok", "zero", "nan", "inf", "neginf", "stale", "twice", "histogram"}
	cfg := testConfig(t, fake.URL, names...)
	for i := range cfg.Services {
		s := &cfg.Services[i]
		s.Signals.Latency.Query = "latency"
		s.Signals.Requests.Query = "requests[1m]"
		s.Signals.PoolInUse.Query = "pool_in_use"
		s.Signals.PoolLimit.Query = "pool_limit"
	}
	reg := prometheus.NewRegistry()
	src := newSource(t, cfg, reg)
	snap, err := src.Read(context.Background(), now)
	if err != nil {
		t.Fatalf("Read: %v (one bad query must not fail the read)", err)
	}
	for _, tt := range []struct {
		service string
		sig     metrics.Signal
		want    float64 // NaN: missing
		at      time.Time
	}{
		{"ok", metrics.Latency, 0.25, now},
		{"zero", metrics.Latency, 0, now},
		{"nan", metrics.Latency, math.NaN(), time.Time{}},
		{"inf", metrics.Latency, math.NaN(), time.Time{}},
		{"neginf", metrics.Latency, math.NaN(), time.Time{}},
		{"stale", metrics.Latency, math.NaN(), time.Time{}},
		{"twice", metrics.Latency, math.NaN(), time.Time{}},
		{"histogram", metrics.Latency, math.NaN(), time.Time{}},
		{"ok", metrics.Requests, 8, now.Add(-5 * time.Second)},
		{"stale", metrics.Requests, math.NaN(), time.Time{}},
		{"ok", metrics.PoolInUse, math.NaN(), time.Time{}},
		{"ok", metrics.PoolLimit, math.NaN(), time.Time{}},
	} {
		t.Run(tt.service+"/"+string(tt.sig), func(t *testing.T) {
			v, ok := snap.Get(tt.service, tt.sig)
			if math.IsNaN(tt.want) {
				if ok {
					t.Errorf("got %+v, want it left out", v)
				}
				return
			}
			if !ok || v.Value != tt.want || !v.Time.Equal(tt.at) {
				t.Errorf("got %+v (present %v), want %v at %s", v, ok, tt.want, tt.at)
			}
		})
	}
	if _, ok := snap["unknown"]; ok {
		t.Error("a series for an unconfigured service is in the snapshot")
	}
	if got := counterValue(t, src.tel.errors.WithLabelValues("query", KindBadResponse)); got != 1 {
		t.Errorf("bad_response errors = %v, want 1 (the scalar result)", got)
	}
}

// TestRetries checks which failures are retried, that each failed attempt
// is counted by kind, and that a read fails only when every query failed.
func TestRetries(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fail     int    // failing attempts per query before success
		status   int    // of the failing attempts
		body     string // of the failing attempts
		wantReqs int    // per query
		wantErr  bool
		kind     string
	}{
		{"5xx retried", 2, 503, "unavailable", 3, false, "http_5xx"},
		{"429 retried", 1, 429, "slow down", 2, false, "http_4xx"},
		{"5xx past the retries", 5, 500, "boom", 3, true, "http_5xx"},
		{"bad query not retried", 5, 400, `{"status":"error","errorType":"bad_data","error":"parse error"}`, 1, true, "http_4xx"},
		{"execution error not retried", 5, 422, `{"status":"error","errorType":"execution","error":"many-to-many"}`, 1, true, "http_4xx"},
		{"bad body not retried", 5, 200, `{"resultType":`, 1, true, KindBadResponse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := make(map[string]int)
			fake := newFakeProm(t, func(r request) (int, string) {
				mu.Lock()
				seen[r.query]++
				n := seen[r.query]
				mu.Unlock()
				if n <= tt.fail {
					return tt.status, tt.body
				}
				return 200, vector(now, map[string]string{"a": "1"})
			})
			reg := prometheus.NewRegistry()
			src := newSource(t, testConfig(t, fake.URL, "a"), reg)
			snap, err := src.Read(context.Background(), now)
			if got := len(fake.requests()); got != 4*tt.wantReqs {
				t.Errorf("%d requests, want %d", got, 4*tt.wantReqs)
			}
			if tt.wantErr {
				var qe *Error
				if !errors.As(err, &qe) || qe.Kind != tt.kind {
					t.Fatalf("Read error %v, want a *prom.Error of kind %s", err, tt.kind)
				}
				if qe.ErrorKind() != tt.kind {
					t.Errorf("ErrorKind() = %q, want %q", qe.ErrorKind(), tt.kind)
				}
				if snap != nil {
					t.Errorf("snapshot %v with the error", snap)
				}
			} else if err != nil || len(snap["a"]) != 4 {
				t.Fatalf("Read = %v, %v; want every signal of a", snap, err)
			}
			want := float64(4 * min(tt.fail, tt.wantReqs))
			if got := counterValue(t, src.tel.errors.WithLabelValues("query", tt.kind)); got != want {
				t.Errorf("%s errors = %v, want %v", tt.kind, got, want)
			}
			if got := counterValue(t, src.tel.requests.WithLabelValues("query")); got != float64(4*tt.wantReqs) {
				t.Errorf("requests counter = %v, want %d", got, 4*tt.wantReqs)
			}
		})
	}
}

// TestPartialFailure checks that a query failing alone leaves its signals
// missing and the others read.
func TestPartialFailure(t *testing.T) {
	fake := newFakeProm(t, func(r request) (int, string) {
		if strings.Contains(r.query, "pool_limit") {
			return 422, `{"status":"error","errorType":"execution","error":"boom"}`
		}
		return 200, vector(now, map[string]string{"a": "1"})
	})
	src := newSource(t, testConfig(t, fake.URL, "a"), nil)
	snap, err := src.Read(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Get("a", metrics.PoolLimit); ok {
		t.Error("pool_limit present although its query failed")
	}
	if _, ok := snap.Get("a", metrics.Latency); !ok {
		t.Error("latency missing although its query succeeded")
	}
}

// TestConnectionAndTimeout checks the kinds of failures without an HTTP
// answer, and that retries stay within the step's budget.
// TestURLSecretsRedacted: a password in the URL's userinfo and a token in
// its query appear in no error and no log line of a failed Read or Range
// (net/http's errors quote the request's URL).
func TestURLSecretsRedacted(t *testing.T) {
	fake := newFakeProm(t, nil)
	u := strings.Replace(fake.URL, "http://", "http://promuser:PW-3e8d@", 1) + "/prom?access_token=TOKEN-c4a1"
	fake.Close()
	var logs bytes.Buffer
	src, err := New(testConfig(t, u, "a", "b"), Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	src.rand = func() float64 { return 0.5 }
	_, rerr := src.Read(context.Background(), now)
	_, gerr := src.Range(context.Background(), []string{"a"}, now.Add(-time.Hour), now, time.Minute)
	if rerr == nil || gerr == nil {
		t.Fatalf("Read %v, Range %v: want errors", rerr, gerr)
	}
	var qe *Error
	if !errors.As(rerr, &qe) || qe.Kind != KindConnection {
		t.Errorf("Read error %v, want kind connection", rerr)
	}
	out := rerr.Error() + "\n" + gerr.Error() + "\n" + logs.String()
	for _, secret := range []string{"promuser", "PW-3e8d", "TOKEN-c4a1"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q in an error or the log:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "access_token=xxxxx") {
		t.Errorf("no redacted URL in the errors:\n%s", out)
	}
}

func TestConnectionAndTimeout(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		fake := newFakeProm(t, nil)
		url := fake.URL
		fake.Close()
		src := newSource(t, testConfig(t, url, "a"), nil)
		_, err := src.Read(context.Background(), now)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindConnection || qe.Attempts != 3 {
			t.Fatalf("Read error %v, want kind connection after 3 attempts", err)
		}
		if got := counterValue(t, src.tel.errors.WithLabelValues("query", KindConnection)); got != 12 {
			t.Errorf("connection errors = %v, want 12 (4 queries × 3 attempts)", got)
		}
	})
	t.Run("slow server within the budget", func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		fake := newFakeProm(t, func(r request) (int, string) {
			calls.Add(1)
			<-release
			return 200, vector(now, map[string]string{"a": "1"})
		})
		defer close(release)
		cfg := testConfig(t, fake.URL, "a")
		cfg.Source.Prometheus.Timeout = config.Duration(100 * time.Millisecond)
		cfg.Source.Prometheus.Retries = 10
		cfg.Source.Prometheus.MinBackoff = config.Duration(50 * time.Millisecond)
		cfg.Source.Prometheus.MaxBackoff = config.Duration(50 * time.Millisecond)
		src := newSource(t, cfg, nil)
		src.rand = func() float64 { return 0.999 }
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := src.Read(ctx, now)
		took := time.Since(start)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindTimeout {
			t.Fatalf("Read error %v, want kind timeout", err)
		}
		// The attempts below say whether the retries kept to the budget;
		// the wall time only catches a Read that ignores its deadline (a
		// loaded machine can delay a goroutine by hundreds of milliseconds).
		if took > 5*time.Second {
			t.Errorf("Read took %v with a 400ms budget", took)
		}
		// 100ms attempt + 50ms wait, three times, then the fourth wait would
		// not fit: at most 3 attempts per query, not the 11 configured.
		if n := calls.Load(); n < 4 || n > 12 {
			t.Errorf("%d attempts for 4 queries, want 2 or 3 each within the budget", n)
		}
	})
	t.Run("no deadline: one interval", func(t *testing.T) {
		fake := newFakeProm(t, func(r request) (int, string) { return 503, "down" })
		cfg := testConfig(t, fake.URL, "a")
		cfg.Global.Interval = config.Duration(200 * time.Millisecond)
		cfg.Source.Prometheus.Retries = 1000
		cfg.Source.Prometheus.MinBackoff = config.Duration(10 * time.Millisecond)
		cfg.Source.Prometheus.MaxBackoff = config.Duration(10 * time.Millisecond)
		src := newSource(t, cfg, nil)
		start := time.Now()
		if _, err := src.Read(context.Background(), now); err == nil {
			t.Fatal("Read succeeded against a server answering 503")
		}
		if took := time.Since(start); took > 400*time.Millisecond {
			t.Errorf("Read took %v, want about one interval (200ms)", took)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		fake := newFakeProm(t, func(r request) (int, string) { return 200, vector(now, nil) })
		src := newSource(t, testConfig(t, fake.URL, "a"), nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := src.Read(ctx, now)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindCanceled || qe.Attempts != 1 {
			t.Fatalf("Read error %v, want kind canceled, not retried", err)
		}
	})
}

// TestRangeSplits checks that Range asks for at most maxPoints points per
// request, on the caller's grid, and joins the chunks without overlap.
func TestRangeSplits(t *testing.T) {
	const step = time.Minute
	start := now.Add(-24 * step)
	fake := newFakeProm(t, func(r request) (int, string) {
		var vals []string
		for ts := r.start; ts <= r.end+1e-9; ts += r.step {
			v := "NaN"
			if int(ts)/60%5 != 0 { // every fifth point missing
				v = strconv.Itoa(int(ts) / 60 % 1000)
			}
			vals = append(vals, fmt.Sprintf("[%s,%q]", strconv.FormatFloat(ts, 'f', -1, 64), v))
		}
		m := fmt.Sprintf(`{"metric":{"service":"a"},"values":[%s]},{"metric":{"service":"b"},"values":[%s]},{"metric":{"service":"other"},"values":[%s]}`,
			strings.Join(vals, ","), strings.Join(vals, ","), strings.Join(vals, ","))
		return 200, `{"resultType":"matrix","result":[` + m + `]}`
	})
	cfg := testConfig(t, fake.URL, "a", "b")
	src := newSource(t, cfg, nil)
	src.maxPoints = 10
	hist, err := src.Range(context.Background(), []string{"a"}, start, now, step)
	if err != nil {
		t.Fatal(err)
	}
	reqs := fake.requests()
	if got, want := len(reqs), 4*3; got != want { // 25 points in chunks of 10, 10, 5; four expressions
		t.Fatalf("%d requests, want %d", got, want)
	}
	for _, r := range reqs {
		if r.path != "/api/v1/query_range" || r.step != 60 {
			t.Errorf("request %+v: want query_range with step 60", r)
		}
		if n := int((r.end-r.start)/r.step) + 1; n > 10 {
			t.Errorf("request [%v, %v] asks for %d points, more than 10", r.start, r.end, n)
		}
	}
	if _, ok := hist["b"]; ok {
		t.Error("history of b, which was not asked for")
	}
	for _, sig := range metrics.Signals {
		ser := hist["a"][sig]
		if len(ser) != 20 { // 25 points, 5 of them NaN
			t.Fatalf("a %s: %d samples, want 20", sig, len(ser))
		}
		for i := 1; i < len(ser); i++ {
			if !ser[i].Time.After(ser[i-1].Time) || ser[i].Time.Sub(start)%step != 0 {
				t.Fatalf("a %s: sample %d at %s after %s: not increasing on the grid", sig, i, ser[i].Time, ser[i-1].Time)
			}
		}
		// 12:00 is a multiple of five minutes, and missing.
		if !ser[0].Time.Equal(start) || !ser[len(ser)-1].Time.Equal(now.Add(-step)) {
			t.Errorf("a %s spans %s..%s, want %s..%s", sig, ser[0].Time, ser[len(ser)-1].Time, start, now.Add(-step))
		}
	}
}

func TestRangeErrors(t *testing.T) {
	fake := newFakeProm(t, func(r request) (int, string) {
		if strings.Contains(r.query, "pool_limit") {
			return 400, `{"status":"error","errorType":"bad_data","error":"bad"}`
		}
		return 200, `{"resultType":"matrix","result":[{"metric":{"service":"a"},"values":[[` + unix(now) + `,"1"]]}]}`
	})
	src := newSource(t, testConfig(t, fake.URL, "a"), nil)
	hist, err := src.Range(context.Background(), nil, now.Add(-time.Hour), now, time.Minute)
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != "http_4xx" || qe.Endpoint != "query_range" {
		t.Fatalf("Range error %v, want the failed query_range", err)
	}
	if len(hist["a"][metrics.Latency]) != 1 || hist["a"][metrics.PoolLimit] != nil {
		t.Errorf("history %v, want what the other queries read", hist)
	}
	if _, err := src.Range(context.Background(), nil, now, now.Add(-time.Hour), time.Minute); err == nil {
		t.Error("Range with end before start succeeded")
	}
	if _, err := src.Range(context.Background(), nil, now, now, 0); err == nil {
		t.Error("Range with step 0 succeeded")
	}
}

// TestNewUsesHTTPClientConfig checks that the HTTP client settings of the
// configuration reach the requests (here, basic auth and a header).
func TestNewUsesHTTPClientConfig(t *testing.T) {
	var gotUser, gotPass, gotHeader string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotUser, gotPass, _ = r.BasicAuth()
		gotHeader = r.Header.Get("X-Scope-OrgID")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer srv.Close()
	cfg, err := config.Load([]byte(fmt.Sprintf(`source:
  kind: prometheus
  prometheus:
    url: %q
    basic_auth: {username: presage, password: s3cret}
    http_headers:
      X-Scope-OrgID: {values: [tenant-1]}
services:
  - name: a
    signals: {latency: {query: up}}
    incident: {above: 1}
`, srv.URL)), "auth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, cfg, nil)
	if _, err := src.Read(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotUser != "presage" || gotPass != "s3cret" || gotHeader != "tenant-1" {
		t.Errorf("request had basic auth %q:%q and X-Scope-OrgID %q, want presage:s3cret and tenant-1", gotUser, gotPass, gotHeader)
	}
}

func TestOneSourcePerRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, "http://127.0.0.1:1", "a")
	if _, err := New(cfg, Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, Options{Registerer: reg}); err == nil {
		t.Error("a second Source on the same registry registered its metrics")
	}
}

func TestBackoff(t *testing.T) {
	src := &Source{minBackoff: 100 * time.Millisecond, maxBackoff: time.Second, rand: func() float64 { return 0.999999 }}
	for n, want := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 9: 1000} {
		got := src.backoff(n)
		if want *= time.Millisecond; got > want || got < want*99/100 {
			t.Errorf("backoff(%d) = %v, want just under %v", n, got, want)
		}
	}
	src.rand = func() float64 { return 0 }
	if got := src.backoff(3); got != 0 {
		t.Errorf("backoff with jitter 0 = %v, want 0 (full jitter)", got)
	}
}

// counterValue returns the value of a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
