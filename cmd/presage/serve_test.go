package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/internal/promtest"
)

// The queries a deployment over `presage sim serve` uses.
const (
	simLatencyQuery   = promtest.SimLatencyQuery
	simRequestsQuery  = promtest.SimRequestsQuery
	simPoolInUseQuery = promtest.SimPoolInUseQuery
	simPoolLimitQuery = promtest.SimPoolLimitQuery
)

// promService is one service of a test configuration over sim serve.
type promService struct {
	name     string
	peak     float64 // load: peak × 100 req/s, constant
	latency  string  // latency query; default simLatencyQuery
	webhook  string  // URL of the async-queue action's webhook; "" for no playbook
	requests bool    // with the requests and pool signals
}

// promConfig writes a configuration of source kind prometheus at promURL
// with the given interval and services, each driven by a constant load.
func promConfig(t *testing.T, dir, name, promURL string, interval time.Duration, services ...promService) string {
	t.Helper()
	writeTestFile(t, dir, "flat.csv", "timestamp,value\n2026-01-05T00:00:00Z,1\n2026-01-05T00:00:01Z,1\n")
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  interval: %s
  history: 1h
  listen: ""
source:
  kind: prometheus
  prometheus:
    url: %q
    timeout: 1s
    unready_after: %s
services:
`, model.Duration(interval), promURL, model.Duration(3*interval))
	for _, s := range services {
		lat := s.latency
		if lat == "" {
			lat = simLatencyQuery
		}
		fmt.Fprintf(&b, "  - name: %s\n    signals:\n      latency: {query: %q}\n", s.name, lat)
		if s.requests {
			fmt.Fprintf(&b, "      requests: {query: %q}\n      pool_in_use: {query: %q}\n      pool_limit: {query: %q}\n",
				simRequestsQuery, simPoolInUseQuery, simPoolLimitQuery)
		}
		fmt.Fprintf(&b, `    incident: {above: 0.5, consecutive: 2}
    forecast: {model: naive, horizon: %s, period: 0}
`, model.Duration(10*interval))
		if s.webhook != "" {
			fmt.Fprintf(&b, `    playbook:
      - name: async-queue
        actuator: {kind: webhook, webhook: {url: %q, timeout: 1s, retries: 1}}
        warmup: 0s
        cooldown: 0s
`, s.webhook)
		}
		fmt.Fprintf(&b, `    sim:
      plant: {noise: 0}
      load: {trace: flat.csv, peak: %g}
`, s.peak)
		if s.webhook != "" {
			b.WriteString("      knobs: {async-queue: queue}\n")
		}
	}
	return writeTestFile(t, dir, name, b.String())
}

// families GETs url (a /metrics) and parses it.
func families(url string) (map[string]*dto.MetricFamily, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// metricSum returns the sum of the values of the series of name whose
// labels include the given pairs, and whether there was any.
func metricSum(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	sum, found := 0.0, false
next:
	for _, m := range mf.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			ok := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

// metric reads one value (see metricSum) from url, 0 and false when the
// scrape fails or the series is not there.
func metric(url, name string, labels ...string) (float64, bool) {
	mfs, err := families(url)
	if err != nil {
		return 0, false
	}
	return metricSum(mfs, name, labels...)
}

// eventually polls cond every 100ms until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var servingLine = regexp.MustCompile(`msg="serving /metrics, /healthz and /readyz" addr=(127\.0\.0\.1:\d+)`)

// startLoop starts `presage <command> -config cfg -listen 127.0.0.1:0 args…`
// and returns it and the base URL of its /metrics.
func startLoop(t *testing.T, command, cfg string, args ...string) (*proc, string) {
	t.Helper()
	p := startPresage(t, append([]string{command, "-config", cfg, "-listen", "127.0.0.1:0"}, args...)...)
	m := p.waitFor(t, &p.stderr, servingLine, startTimeout)
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	return p, "http://" + m[1]
}

// startSimServe starts `presage sim serve` for cfg on addr, 4× faster than
// real time, and waits until it serves.
func startSimServe(t *testing.T, cfg, addr string) *proc {
	t.Helper()
	p := startPresage(t, "sim", "serve", "-config", cfg, "-listen", addr, "-speed", "4")
	p.waitFor(t, &p.stderr, regexp.MustCompile(`msg="sim serve started" addr=`+regexp.QuoteMeta(addr)), startTimeout)
	return p
}

// TestSimServe checks `presage sim serve` on its own: its metrics, its
// actions and its clean stop.
func TestSimServe(t *testing.T) {
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	t.Parallel()
	dir := t.TempDir()
	addr := promtest.FreeAddr(t)
	cfg := promConfig(t, dir, "sim.yaml", "http://127.0.0.1:9", 2*time.Second,
		promService{name: "checkout", peak: 0.8, webhook: "http://" + addr + "/actions", requests: true})
	p := startSimServe(t, cfg, addr)
	base := "http://" + addr

	eventually(t, waitTimeout, "requests counted", func() bool {
		v, _ := metric(base+"/metrics", "presage_sim_requests_total", "service", "checkout")
		return v > 0
	})
	mfs, err := families(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"presage_sim_request_duration_seconds", "presage_sim_pool_in_use", "presage_sim_pool_limit", "presage_sim_latency_p99_seconds"} {
		if _, ok := metricSum(mfs, name, "service", "checkout"); !ok {
			t.Errorf("%s{service=checkout} not served", name)
		}
	}
	if mf := mfs["presage_sim_request_duration_seconds"]; mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("presage_sim_request_duration_seconds is not a histogram")
	}

	post := func(a actuators.Action, key string) int {
		b, _ := json.Marshal(a)
		req, _ := http.NewRequest(http.MethodPost, base+"/actions", bytes.NewReader(b))
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(actuators.Action{Service: "checkout", Action: "async-queue", Op: actuators.Engage, To: 1}, "a"); code != 200 {
		t.Fatalf("POST /actions: %d", code)
	}
	if v, _ := metric(base+"/metrics", "presage_sim_knob", "service", "checkout", "knob", "queue"); v != 1 {
		t.Errorf("queue knob %v after the action, want 1", v)
	}
	if code := post(actuators.Action{Service: "nope", Action: "async-queue", To: 1}, "b"); code != 404 {
		t.Errorf("POST /actions for an unknown service: %d, want 404", code)
	}
	stop(t, p)
	if !strings.Contains(p.stderr.String(), `msg="sim serve stopped"`) {
		t.Error("no stop line")
	}
}

func TestSimUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, 2, "Usage: presage sim <subcommand>"},
		{[]string{"sim", "-help"}, 0, "serve "},
		{[]string{"sim", "bogus"}, 2, `unknown subcommand "bogus"`},
		{[]string{"sim", "serve", "-help"}, 0, "-speed"},
		{[]string{"sim", "serve"}, 2, "-config is required"},
		{[]string{"sim", "serve", "-config", examplePath, "-speed", "0"}, 1, "-speed must be > 0"},
		{[]string{"sim", "serve", "-config", examplePath, "-listen", "256.0.0.1:1"}, 1, "listen: "},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%v", r.code, tt.code, tt.want, r)
			}
		})
	}
}

// TestPrometheusEndToEnd runs `presage sim serve` scraped by a real
// Prometheus, and `presage run` and `presage recommend` reading it:
//
//   - run engages checkout's async queue through a webhook to sim serve,
//     whose knob really changes;
//   - recommend recommends the same for search and changes nothing;
//   - a service whose latency is NaN, and one whose target went away (its
//     series marked stale by Prometheus), give NoData and no action.
func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	promtest.Binary(t)
	t.Parallel()
	dir := t.TempDir()
	promAddr, simAddr, goneAddr := promtest.FreeAddr(t), promtest.FreeAddr(t), promtest.FreeAddr(t)
	promURL, hook := "http://"+promAddr, "http://"+simAddr+"/actions"
	const interval = 2 * time.Second
	checkout := promService{name: "checkout", peak: 1.5, webhook: hook, requests: true}
	search := promService{name: "search", peak: 1.5, webhook: hook, requests: true}
	gone := promService{name: "gone", peak: 0.3, requests: true}
	nan := promService{name: "nan", peak: 0.3, latency: `label_replace(vector(NaN), "service", "nan", "", "")`}

	simCfg := promConfig(t, dir, "sim.yaml", promURL, interval, checkout, search)
	goneDir := t.TempDir()
	goneCfg := promConfig(t, goneDir, "gone.yaml", promURL, interval, gone)
	runCfg := promConfig(t, dir, "run.yaml", promURL, interval, checkout)
	recCfg := promConfig(t, dir, "recommend.yaml", promURL, interval, search, nan, gone)

	startSimServe(t, simCfg, simAddr)
	goneSim := startSimServe(t, goneCfg, goneAddr)
	// Prometheus also scrapes presage run, as in production.
	runAddr := promtest.FreeAddr(t)
	prom := promtest.Start(t, promtest.Options{Addr: promAddr, Targets: []string{simAddr, goneAddr, runAddr}})

	run, runURL := startLoop(t, "run", runCfg, "-listen", runAddr)
	rec, recURL := startLoop(t, "recommend", recCfg, "-json")
	prom.WaitScraped()
	simMetrics := "http://" + simAddr + "/metrics"

	t.Run("run acts through the webhook", func(t *testing.T) {
		eventually(t, 30*time.Second, "checkout's queue engaged in sim serve", func() bool {
			v, _ := metric(simMetrics, "presage_sim_knob", "service", "checkout", "knob", "queue")
			return v == 1
		})
		if v, _ := metric(runURL+"/metrics", "presage_actions_total", "service", "checkout", "action", "async-queue", "op", "engage", "result", "ok"); v < 1 {
			t.Errorf("run counted %v ok engagements of checkout's async-queue, want ≥ 1", v)
		}
		if v, _ := metric(runURL+"/metrics", "presage_signal_value", "service", "checkout", "signal", "latency"); !(v > 0.5) {
			t.Errorf("run's checkout latency %v, want above the 0.5 s threshold", v)
		}
		if v, _ := metric(runURL+"/metrics", "presage_prometheus_requests_total", "endpoint", "query"); v < 4 {
			t.Errorf("run made %v Prometheus queries, want ≥ 4", v)
		}
	})

	t.Run("recommend applies nothing", func(t *testing.T) {
		rec.waitFor(t, &rec.stdout, regexp.MustCompile(`"service":"search","action":"async-queue","op":"engage"`), 30*time.Second)
		if v, _ := metric(simMetrics, "presage_sim_knob", "service", "search", "knob", "queue"); v != 0 {
			t.Errorf("search's queue knob %v after a recommendation, want 0 (dry run)", v)
		}
	})

	t.Run("NaN and stale give NoData", func(t *testing.T) {
		noData := func(service string) float64 {
			v, _ := metric(recURL+"/metrics", "presage_decisions_total", "service", service, "reason", "NoData")
			return v
		}
		eventually(t, 20*time.Second, "gone read", func() bool {
			_, ok := metric(recURL+"/metrics", "presage_signal_value", "service", "gone", "signal", "pool_limit")
			return ok
		})
		before := noData("gone")
		goneSim.cmd.Process.Kill()
		<-goneSim.done
		eventually(t, 20*time.Second, "NoData for gone once its series are stale", func() bool { return noData("gone") >= before+2 })
		if v := noData("nan"); v < 2 {
			t.Errorf("%v NoData decisions for nan, want every step's", v)
		}
		for _, l := range checkJSONLines(t, rec.stdout.String()) {
			if l.Service == "nan" || l.Service == "gone" {
				t.Errorf("recommendation for %s: %+v", l.Service, l)
			}
		}
	})

	t.Run("dashboard queries", func(t *testing.T) {
		// Every query of the Grafana dashboard runs, and the main panels
		// show the run's data.
		want := map[string]bool{"p99 latency": true, "Request rate": true, "Breach risk": true, "Engaged actions": true,
			"Decisions by reason": true, "Actions applied": true, "Step duration": true, "Prometheus API requests": true}
		for _, p := range dashboardPanels(t) {
			for _, expr := range p.exprs {
				q := strings.NewReplacer("$job", ".*", "$service", ".*", "$__rate_interval", "1m").Replace(expr)
				v, _, _, err := prom.API.Query(t.Context(), q, time.Now())
				if err != nil {
					t.Errorf("panel %q: %s: %v", p.title, q, err)
					continue
				}
				if vec, ok := v.(model.Vector); ok && len(vec) > 0 {
					delete(want, p.title)
				}
			}
		}
		for title := range want {
			t.Errorf("panel %q shows nothing for a running presage", title)
		}
	})

	stop(t, run)
	stop(t, rec)
}

// TestPrometheusOutage kills Prometheus in the middle of a run: the reads
// fail and are counted, the controller decides NoData and acts on nothing,
// /readyz fails; once Prometheus is back (same port, same storage) the
// next step reads again.
func TestPrometheusOutage(t *testing.T) {
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	promtest.Binary(t)
	t.Parallel()
	dir := t.TempDir()
	promAddr, simAddr := promtest.FreeAddr(t), promtest.FreeAddr(t)
	const interval = time.Second
	svc := promService{name: "checkout", peak: 1.5, webhook: "http://" + simAddr + "/actions", requests: true}
	cfg := promConfig(t, dir, "presage.yaml", "http://"+promAddr, interval, svc)
	startSimServe(t, cfg, simAddr)
	prom := promtest.Start(t, promtest.Options{Addr: promAddr, Targets: []string{simAddr}, WaitScrape: true})
	p, base := startLoop(t, "run", cfg)
	metrics := base + "/metrics"
	val := func(name string, labels ...string) float64 {
		v, _ := metric(metrics, name, labels...)
		return v
	}
	ready := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 20*time.Second, "latency read", func() bool {
		return val("presage_signal_value", "service", "checkout", "signal", "latency") > 0
	})
	if code := ready(); code != 200 {
		t.Fatalf("/readyz %d before the outage, want 200", code)
	}

	prom.Kill()
	killed := time.Now()
	errs0 := val("presage_source_errors_total")
	eventually(t, 10*time.Second, "source errors counted", func() bool { return val("presage_source_errors_total") >= errs0+2 })
	noData0 := val("presage_decisions_total", "service", "checkout", "reason", "NoData")
	actions0 := val("presage_actions_total")
	eventually(t, 10*time.Second, "/readyz failing after unready_after (3s)", func() bool { return ready() == http.StatusServiceUnavailable })
	eventually(t, 10*time.Second, "NoData decisions", func() bool {
		return val("presage_decisions_total", "service", "checkout", "reason", "NoData") >= noData0+2
	})
	if v := val("presage_actions_total"); v != actions0 {
		t.Errorf("%v actions during the outage, want none", v-actions0)
	}
	if v := val("presage_prometheus_request_errors_total", "endpoint", "query", "kind", "connection"); v < 1 {
		t.Errorf("%v connection errors counted, want ≥ 1", v)
	}
	t.Logf("outage of %v", time.Since(killed))

	prom.Restart()
	back := time.Now()
	// Prometheus answers again: the next step reads it, with or without
	// data yet (its first scrape comes a few seconds after it starts).
	eventually(t, interval+2*time.Second, "/readyz back within one step", func() bool { return ready() == http.StatusOK })
	errs1 := val("presage_source_errors_total")
	prom.WaitFor(`(`+simLatencyQuery+`) > 0`, 30*time.Second)
	dataBack := time.Now()
	// The step after the data is back reads it: from then on no latency
	// sample is missing.
	time.Sleep(interval + 800*time.Millisecond)
	miss := val("presage_missing_samples_total", "service", "checkout", "signal", "latency")
	time.Sleep(3 * interval)
	if v := val("presage_missing_samples_total", "service", "checkout", "signal", "latency"); v != miss {
		t.Errorf("%v latency samples missing more than a step after Prometheus had the data again", v-miss)
	}
	if v := val("presage_source_errors_total"); v != errs1 {
		t.Errorf("%v source errors after Prometheus came back, want none", v-errs1)
	}
	t.Logf("data back in Prometheus %v after its restart; checked %v after it", dataBack.Sub(back), time.Since(back))
	stop(t, p)
}

// stop sends SIGTERM and waits for a clean exit. Unlike proc.signal it
// accepts failed steps in the log: these tests make them on purpose.
func stop(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		t.Fatalf("still running %v after SIGTERM", waitTimeout)
	}
	if p.err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0", p.err)
	}
	if strings.Contains(p.stderr.String(), "panic:") {
		t.Error("the log holds a panic")
	}
}

// dashboardPanel is a panel of deploy/grafana-dashboard.json.
type dashboardPanel struct {
	title string
	exprs []string
}

func dashboardPanels(t *testing.T) []dashboardPanel {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("deploy/grafana-dashboard.json: %v", err)
	}
	var out []dashboardPanel
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		dp := dashboardPanel{title: p.Title}
		for _, tg := range p.Targets {
			dp.exprs = append(dp.exprs, tg.Expr)
		}
		out = append(out, dp)
	}
	return out
}

// TestDashboardCoversMetrics checks that the Grafana dashboard charts
// every metric docs/operations.md documents.
func TestDashboardCoversMetrics(t *testing.T) {
	readme, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, p := range dashboardPanels(t) {
		if len(p.exprs) == 0 {
			t.Errorf("panel %q has no query", p.title)
		}
		for _, e := range p.exprs {
			all.WriteString(e + "\n")
		}
	}
	names := regexp.MustCompile("(?m)^\\| `(presage_[a-z_]+)` \\|").FindAllStringSubmatch(string(readme), -1)
	if len(names) < 10 {
		t.Fatalf("found %d metrics in docs/operations.md's table, want the whole table", len(names))
	}
	for _, m := range append(names, []string{"", "presage_forecast_error_mae"}, []string{"", "presage_forecast_error_mape"}) {
		if !strings.Contains(all.String(), m[1]) {
			t.Errorf("the dashboard does not chart %s", m[1])
		}
	}
}
