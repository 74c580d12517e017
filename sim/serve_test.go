package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
)

// bucketQuantile is Prometheus's histogram_quantile over cumulative
// buckets (upper bounds increasing, the last +Inf): linear interpolation
// within the bucket that holds the rank.
func bucketQuantile(q float64, bounds, cum []float64) float64 {
	total := cum[len(cum)-1]
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := 0
	for i < len(cum)-1 && cum[i] < rank {
		i++
	}
	if i == len(bounds)-1 && math.IsInf(bounds[i], 1) {
		return bounds[i-1]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = bounds[i-1], cum[i-1]
	}
	return lo + (bounds[i]-lo)*(rank-below)/(cum[i]-below)
}

// TestHistogramRecoversP99 checks that histogram_quantile(0.99) over the
// synthesised observations gives back the plant's p99: within 5% near the
// incident threshold, within 15% anywhere.
func TestHistogramRecoversP99(t *testing.T) {
	const above = 0.5
	for _, l := range []float64{0.01, 0.05, 0.1, 0.3, 0.26, 0.4, 0.5, 0.55, 0.8, 0.95, 2, 5, 30} {
		sv := &served{buckets: LatencyBuckets(above)}
		sv.cum = make([]float64, len(sv.buckets))
		sv.observe(6000, l)
		bounds := append(append([]float64(nil), sv.buckets...), math.Inf(1))
		cum := append(append([]float64(nil), sv.cum...), sv.count)
		got := bucketQuantile(0.99, bounds, cum)
		tol := 0.15
		if l >= above/2 && l <= above*2 {
			tol = 0.05
		}
		if math.Abs(got-l) > tol*l {
			t.Errorf("p99 %v: histogram_quantile gives %v, off by %.1f%% (tolerance %.0f%%)", l, got, 100*math.Abs(got-l)/l, 100*tol)
		}
		if mean := sv.sum / sv.count; math.Abs(mean-l/ln100) > 1e-9 {
			t.Errorf("p99 %v: mean %v, want %v (exponential)", l, mean, l/ln100)
		}
	}
}

func TestLatencyBuckets(t *testing.T) {
	b := LatencyBuckets(0.5)
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			t.Fatalf("bucket %d (%v) not above bucket %d (%v)", i, b[i], i-1, b[i-1])
		}
		if r := b[i] / b[i-1]; b[i] > 0.25 && b[i] <= 1 && r > 1.0501 {
			t.Errorf("buckets %v and %v are %.3f apart near the threshold, want ≤ 1.05", b[i-1], b[i], r)
		}
		if r := b[i] / b[i-1]; r > 1.251 {
			t.Errorf("buckets %v and %v are %.3f apart, want ≤ 1.25", b[i-1], b[i], r)
		}
	}
	if b[0] > 0.001 || b[len(b)-1] < 100 {
		t.Errorf("buckets span %v..%v, want 1ms..≥100s", b[0], b[len(b)-1])
	}
	if len(b) > 100 {
		t.Errorf("%d buckets, want at most 100", len(b))
	}
}

// serveConfig is a config with one service driven by a constant trace, a
// gap in the middle, and a webhook action mapped to a knob.
func serveConfig(t testing.TB, trace string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "load.csv"), []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(writeConfig(t, dir, `
global: {interval: 1m}
source:
  kind: prometheus
  prometheus: {url: "http://127.0.0.1:9090"}
services:
  - name: checkout
    signals:
      latency: {query: "x"}
    incident: {above: 0.5}
    playbook:
      - name: queue
        actuator: {kind: webhook, webhook: {url: "http://127.0.0.1:1/actions"}}
      - name: replicas
        actuator: {kind: sim, knob: replicas}
        max: 3
    sim:
      plant: {noise: 0}
      load: {trace: load.csv, peak: 0.5}
      knobs: {queue: queue}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeConfig(t testing.TB, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "presage.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// scrape returns the server's metric families.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value returns the value of the metric with the given labels, and whether
// it is there.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestServerMetrics(t *testing.T) {
	// A constant load of 60 req/s (peak 0.5 × capacity 100 = 50 at the
	// maximum value 100, so 30 at 60 — see below), then a two-step gap.
	trace := "timestamp,value\n" +
		"2026-01-05T00:00:00Z,100\n2026-01-05T00:01:00Z,100\n2026-01-05T00:02:00Z,100\n" +
		"2026-01-05T00:03:00Z,\n2026-01-05T00:04:00Z,\n2026-01-05T00:05:00Z,100\n"
	srv, err := NewServer(serveConfig(t, trace), ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.ServeHandler()
	ctx := context.Background()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // Align: any start plays the trace from its beginning
	wall := 2 * time.Second
	for k := range 3 {
		if err := srv.Step(ctx, start.Add(time.Duration(k)*time.Minute), wall); err != nil {
			t.Fatal(err)
		}
	}
	mfs := scrape(t, h)
	// capacity min(100, 120) = 100; peak 0.5 → 50 req/s; noise 0.
	reqs, ok := value(mfs, MetricRequests, "service", "checkout")
	if !ok || math.Abs(reqs-3*50*2) > 1e-6 {
		t.Errorf("%s = %v (%v), want 300 (3 steps × 50 req/s × 2 s of wall time)", MetricRequests, reqs, ok)
	}
	p99, _ := value(mfs, MetricLatencyP99, "service", "checkout")
	if want := srv.src.History("checkout"); p99 != want[len(want)-1].Signals.LatencyP99 {
		t.Errorf("%s = %v, want the plant's %v", MetricLatencyP99, p99, want[len(want)-1].Signals.LatencyP99)
	}
	if n, ok := value(mfs, MetricRequestDuration, "service", "checkout"); !ok || n != 300 {
		t.Errorf("%s count = %v (%v), want 300", MetricRequestDuration, n, ok)
	}
	for _, name := range []string{MetricPoolInUse, MetricPoolLimit} {
		if _, ok := value(mfs, name, "service", "checkout"); !ok {
			t.Errorf("%s missing", name)
		}
	}
	if v, ok := value(mfs, MetricKnob, "service", "checkout", "knob", "queue"); !ok || v != 0 {
		t.Errorf("queue knob = %v (%v), want 0", v, ok)
	}

	// In the gap the service exports nothing but its knobs.
	if err := srv.Step(ctx, start.Add(3*time.Minute), wall); err != nil {
		t.Fatal(err)
	}
	mfs = scrape(t, h)
	for _, name := range []string{MetricRequests, MetricRequestDuration, MetricPoolInUse, MetricPoolLimit, MetricLatencyP99} {
		if v, ok := value(mfs, name, "service", "checkout"); ok {
			t.Errorf("in the gap %s = %v, want it absent", name, v)
		}
	}
	if _, ok := value(mfs, MetricKnob, "service", "checkout", "knob", "replicas"); !ok {
		t.Error("in the gap the knobs are absent")
	}
}

func postAction(t *testing.T, h http.Handler, a actuators.Action, key string) (int, ActionResult, string) {
	t.Helper()
	b, _ := json.Marshal(a)
	req := httptest.NewRequest(http.MethodPost, "/actions", bytes.NewReader(b))
	if key != "" {
		req.Header.Set(webhook.IdempotencyHeader, key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res ActionResult
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
	}
	return rec.Code, res, rec.Body.String()
}

func TestServerActions(t *testing.T) {
	srv, err := NewServer(serveConfig(t, "2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,1\n"), ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.ServeHandler()
	plant := srv.Plant("checkout")
	get := func(knob string) float64 {
		v, err := plant.Get(knob)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// A webhook action mapped through sim.knobs.
	engage := actuators.Action{Service: "checkout", Action: "queue", Op: actuators.Engage, From: 0, To: 1}
	code, res, body := postAction(t, h, engage, "k1")
	if code != 200 || res.Knob != KnobQueue || res.Value != 1 || res.Duplicate || get(KnobQueue) != 1 {
		t.Fatalf("engage queue: %d %+v %s; queue knob %v, want 200, queue 1", code, res, body, get(KnobQueue))
	}
	// The same key again changes nothing, even after the knob moved.
	if err := plant.Set(KnobQueue, 0); err != nil {
		t.Fatal(err)
	}
	code, res, _ = postAction(t, h, engage, "k1")
	if code != 200 || !res.Duplicate || get(KnobQueue) != 0 {
		t.Errorf("replayed key: %d %+v, queue %v; want 200, duplicate, queue left at 0", code, res, get(KnobQueue))
	}
	// An action of kind sim uses its own knob.
	if code, res, body = postAction(t, h, actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Engage, To: 2}, "k2"); code != 200 || get(KnobReplicas) != 2 {
		t.Errorf("replicas: %d %+v %s, knob %v; want 200 and 2", code, res, body, get(KnobReplicas))
	}

	for _, tt := range []struct {
		name string
		body string
		want int
	}{
		{"unknown service", `{"service":"nope","action":"queue","to":1}`, 404},
		{"action without a knob", `{"service":"checkout","action":"flags","to":1}`, 404},
		{"bad JSON", `{"service":`, 400},
		{"value the knob refuses", `{"service":"checkout","action":"queue","to":0.5}`, 422},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/actions", strings.NewReader(tt.body)))
			if rec.Code != tt.want {
				t.Errorf("status %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/actions", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /actions: %d, want 405", rec.Code)
	}
	// GET answers a webhook's read URL: the knob's value.
	for _, tt := range []struct {
		query, body string
		want        int
	}{
		{"service=checkout&action=replicas", `{"value":2}`, 200},
		{"service=checkout&action=queue", `{"value":0}`, 200},
		{"service=nope&action=queue", "", 404},
		{"service=checkout&action=flags", "", 404},
		{"", "", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/actions?"+tt.query, nil))
		if rec.Code != tt.want || tt.body != "" && strings.TrimSpace(rec.Body.String()) != tt.body {
			t.Errorf("GET /actions?%s: %d %s, want %d %s", tt.query, rec.Code, rec.Body, tt.want, tt.body)
		}
	}
}

// TestServerRun checks, on a fake clock, that Run steps every
// interval/speed and that counters follow wall time.
func TestServerRun(t *testing.T) {
	cfg := serveConfig(t, "2026-01-05T00:00:00Z,100\n2026-01-05T00:01:00Z,100\n")
	synctest.Test(t, func(t *testing.T) {
		srv, err := NewServer(cfg, ServeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- srv.Run(ctx, 30) }() // a step every 2s
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		mfs := scrape(t, srv.ServeHandler())
		// Steps at 0 (no wall time yet), 2, 4, 6, 8 and 10 s: 10 s × 50 req/s.
		if v, _ := value(mfs, MetricRequests, "service", "checkout"); math.Abs(v-500) > 1e-6 {
			t.Errorf("%s = %v after 10s, want 500", MetricRequests, v)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if err := (&Server{interval: time.Minute}).Run(context.Background(), 0); err == nil {
		t.Error("Run with speed 0 succeeded")
	}
}
