package prom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/promtest"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/sim"
)

// The queries a real deployment would use over `presage sim serve`.
const (
	latencyQuery   = promtest.SimLatencyQuery
	requestsQuery  = promtest.SimRequestsQuery
	poolInUseQuery = promtest.SimPoolInUseQuery
	poolLimitQuery = promtest.SimPoolLimitQuery
)

// simConfig writes and loads a config whose services run at a constant
// load of peak × 100 req/s (noise 0), stepping every second.
func simConfig(t *testing.T, promURL string, services map[string]float64) *config.Config {
	t.Helper()
	dir := t.TempDir()
	trace := "timestamp,value\n2026-01-05T00:00:00Z,1\n2026-01-05T00:00:01Z,1\n"
	if err := os.WriteFile(filepath.Join(dir, "flat.csv"), []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global: {interval: 1s, history: 1h, listen: \"\"}\nsource:\n  kind: prometheus\n  prometheus: {url: %q, timeout: 2s}\nservices:\n", promURL)
	for name, peak := range services {
		fmt.Fprintf(&b, `  - name: %s
    signals:
      latency: {query: %q}
      requests: {query: %q}
      pool_in_use: {query: %q}
      pool_limit: {query: %q}
    incident: {above: 0.2}
    forecast: {horizon: 1s, period: 0}
    sim:
      plant: {noise: 0}
      load: {trace: flat.csv, peak: %g}
`, name, latencyQuery, requestsQuery, poolInUseQuery, poolLimitQuery, peak)
	}
	p := filepath.Join(dir, "presage.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serveSim runs a sim.Server for cfg at speed 4 (a step every 250ms) on a
// loopback port until stop is called or the test ends.
func serveSim(t *testing.T, cfg *config.Config) (srv *sim.Server, addr string, stop func()) {
	t.Helper()
	srv, err := sim.NewServer(cfg, sim.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.ServeHandler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { hs.Serve(ln); done <- struct{}{} }()
	go func() { srv.Run(ctx, 4); done <- struct{}{} }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		hs.Close()
		<-done
		<-done
	}
	t.Cleanup(stop)
	return srv, ln.Addr().String(), stop
}

// readUntil reads src until ok accepts the snapshot, or fails after
// timeout.
func readUntil(t *testing.T, src *Source, timeout time.Duration, what string, ok func(metrics.Snapshot) bool) metrics.Snapshot {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var snap metrics.Snapshot
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		snap, err = src.Read(ctx, time.Now())
		cancel()
		if err == nil && ok(snap) {
			return snap
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last read %v, %v", what, timeout, snap, err)
	return nil
}

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// TestReadThroughPrometheus reads the signals `presage sim serve` exports
// through a real Prometheus: the latency from histogram_quantile over the
// histogram, the request rate from the counter, the pool from the gauges.
// A NaN result and the series of a target that went away are left out.
func TestReadThroughPrometheus(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	promAddr := promtest.FreeAddr(t)
	cfg := simConfig(t, "http://"+promAddr, map[string]float64{"checkout": 0.8})
	goneCfg := simConfig(t, "http://"+promAddr, map[string]float64{"gone": 0.5})
	srv, addr, _ := serveSim(t, cfg)
	_, goneAddr, stopGone := serveSim(t, goneCfg)
	prom := promtest.Start(t, promtest.Options{Addr: promAddr, Targets: []string{addr, goneAddr}, WaitScrape: true})

	// One config over both targets, plus a service whose latency is NaN.
	both := simConfig(t, prom.URL, map[string]float64{"checkout": 0.8, "gone": 0.5, "nan": 0.5})
	both.Service("nan").Signals.Latency.Query = `label_replace(vector(NaN), "service", "nan", "", "")`
	src, err := New(both, Options{})
	if err != nil {
		t.Fatal(err)
	}
	full := func(name string) func(metrics.Snapshot) bool {
		return func(s metrics.Snapshot) bool { return len(s[name]) == 4 }
	}
	t.Logf("prometheus up after %v", time.Since(t0))
	readUntil(t, src, 15*time.Second, "every signal of checkout and gone", func(s metrics.Snapshot) bool {
		return full("checkout")(s) && full("gone")(s)
	})
	t.Logf("signals after %v", time.Since(t0))
	// Let the 5s rate windows fill with steady data.
	time.Sleep(3 * time.Second)
	snap := readUntil(t, src, 5*time.Second, "checkout", full("checkout"))

	want := steadySignals(t, srv, "checkout")
	for _, tt := range []struct {
		sig  metrics.Signal
		want float64
		tol  float64
	}{
		{metrics.Latency, want.LatencyP99, 0.10},
		{metrics.Requests, want.Requests, 0.10},
		{metrics.PoolInUse, want.PoolInUse, 0.01},
		{metrics.PoolLimit, want.PoolLimit, 0},
	} {
		got, _ := snap.Get("checkout", tt.sig)
		t.Logf("%s: got %v, plant %v", tt.sig, got.Value, tt.want)
		if !within(got.Value, tt.want, tt.tol) {
			t.Errorf("checkout %s through Prometheus = %v, want the plant's %v within %.0f%%", tt.sig, got.Value, tt.want, 100*tt.tol)
		}
		if d := time.Since(got.Time); d < 0 || d > 5*time.Second {
			t.Errorf("checkout %s sample at %s, want the read's time", tt.sig, got.Time)
		}
	}
	if lat, ok := snap.Get("nan", metrics.Latency); ok {
		t.Errorf("nan latency %+v, want it left out", lat)
	}
	if _, ok := snap.Get("nan", metrics.PoolLimit); ok {
		t.Error("nan pool_limit present: nan has no target")
	}

	// The target of gone goes away: Prometheus marks its series stale and
	// they leave the snapshot (the gauges at once, the rates when their
	// window has passed), never as zeros.
	stopGone()
	t.Logf("gone stopped after %v", time.Since(t0))
	snap = readUntil(t, src, 15*time.Second, "gone left out", func(s metrics.Snapshot) bool { return len(s["gone"]) == 0 })
	t.Logf("gone left out after %v", time.Since(t0))
	if len(snap["checkout"]) != 4 {
		t.Errorf("checkout has %d signals after gone went away, want 4", len(snap["checkout"]))
	}
}

// steadySignals returns the plant's latest signals (constant at a constant
// load with no noise).
func steadySignals(t *testing.T, srv *sim.Server, service string) sim.Signals {
	t.Helper()
	h := srv.History(service)
	if len(h) == 0 {
		t.Fatalf("no history for %s", service)
	}
	return h[len(h)-1].Signals
}

// TestRangeThroughPrometheus backfills 25 hours of history with promtool
// before Prometheus starts, as an operator would, and reads it back with
// Range: 18,000 points at 5s, more than Prometheus's 11,000 per request,
// so Range must split it; and in small chunks, to check the seams.
func TestRangeThroughPrometheus(t *testing.T) {
	t.Parallel()
	const step = 5 * time.Second
	end := time.Now().Truncate(step).Add(-time.Minute)
	start := end.Add(-25 * time.Hour)
	val := func(ts time.Time) float64 {
		h := float64(ts.Sub(start)) / float64(time.Hour)
		return 100 + 50*math.Sin(2*math.Pi*h/24)
	}
	var om strings.Builder
	om.WriteString("# HELP warm_requests Backfilled request rate.\n# TYPE warm_requests gauge\n")
	n := 0
	for ts := start; !ts.After(end); ts = ts.Add(step) {
		if ts.Sub(start) >= 10*time.Hour && ts.Sub(start) < 10*time.Hour+time.Hour { // an hour missing
			continue
		}
		fmt.Fprintf(&om, "warm_requests{service=\"checkout\"} %g %d\n", val(ts), ts.Unix())
		n++
	}
	om.WriteString("# EOF\n")
	prom := promtest.Start(t, promtest.Options{OpenMetrics: []byte(om.String())})

	cfg := simConfig(t, prom.URL, map[string]float64{"checkout": 1, "other": 1})
	for i := range cfg.Services {
		s := &cfg.Services[i]
		s.Signals = config.Signals{
			Latency:  config.SignalSource{Query: `sum by (service) (warm_requests) / 1000`},
			Requests: config.SignalSource{Query: `sum by (service) (warm_requests)`},
		}
	}
	cfg.Global.Interval = config.Duration(step)
	cfg.Global.StaleAfter = config.Duration(2 * step)

	for _, tt := range []struct {
		name      string
		maxPoints int
	}{
		{"at Prometheus's limit", MaxPoints},
		{"in small chunks", 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			src.maxPoints = tt.maxPoints
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			hist, err := src.Range(ctx, []string{"checkout"}, start, end, step)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := hist["other"]; ok {
				t.Error("history for other, which was not asked for")
			}
			ser := hist["checkout"][metrics.Requests]
			// Prometheus 2.42 ignores lookback_delta and fills the first 5m
			// of the missing hour with the last value (a newer one leaves
			// them out): allow both.
			if len(ser) < n || len(ser) > n+int(5*time.Minute/step) {
				t.Fatalf("%d samples, want %d (+ up to 5m of lookback)", len(ser), n)
			}
			prev := time.Time{}
			for _, s := range ser {
				if !s.Time.After(prev) || s.Time.Sub(start)%step != 0 {
					t.Fatalf("sample at %s after %s: not increasing on the grid", s.Time, prev)
				}
				prev = s.Time
				if in := s.Time.Sub(start); in >= 10*time.Hour && in < 10*time.Hour+time.Hour {
					continue // within the hole: a lookback fill
				}
				if !within(s.Value, val(s.Time), 1e-9) {
					t.Fatalf("sample at %s = %v, want %v", s.Time, s.Value, val(s.Time))
				}
			}
			if lat := hist["checkout"][metrics.Latency]; len(lat) != len(ser) {
				t.Errorf("latency has %d samples, requests %d", len(lat), len(ser))
			}
		})
	}
}

// TestUnreachable checks a source whose Prometheus is not there: every
// query fails with kind connection.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t, "http://"+promtest.FreeAddr(t), map[string]float64{"a": 1})
	src, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.rand = func() float64 { return 0 }
	_, err = src.Read(context.Background(), time.Now())
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != KindConnection {
		t.Fatalf("Read = %v, want a connection error", err)
	}
}
