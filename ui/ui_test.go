package ui

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// evil is a service and action name that is HTML.
const evil = `<script>alert("x")</script>`

// The planted secrets: Prometheus basic auth and a webhook's token in its
// URL's query.
const (
	secretPassword = "PASSW0RD-ui-7c1e"
	secretToken    = "TOKEN-ui-hook-44b2"
)

// testConfig has a service whose name and action name are HTML, a
// webhook action whose URL holds a token, Prometheus basic auth, and a
// freeze window named with HTML from 01:00 to 01:30 every day.
var testConfig = `
global: {interval: 1m, history: 1d, listen: ""}
source:
  kind: prometheus
  prometheus:
    url: http://127.0.0.1:9/
    basic_auth: {username: presage, password: ` + secretPassword + `}
services:
  - name: web
    signals:
      latency: {query: 'p99{service="web"}'}
      requests: {query: 'rps{service="web"}'}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 0s, refit: "@hourly"}
    playbook:
      - name: queue
        actuator: {kind: webhook, webhook: {url: "http://127.0.0.1:9/hook?token=` + secretToken + `"}}
        warmup: 1m
        cooldown: 2m
        revert_after: 5m
      - name: '` + evil + `'
        actuator: {kind: webhook, webhook: {url: "http://127.0.0.1:9/hook?token=` + secretToken + `"}}
        min: 0
        max: 3
        warmup: 5m
  - name: '` + evil + `'
    signals:
      latency: {query: 'p99{service="evil"}'}
      requests: {query: 'rps{service="evil"}'}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 0s, refit: "@hourly"}
    playbook:
      - name: queue
        actuator: {kind: webhook, webhook: {url: "http://127.0.0.1:9/hook?token=` + secretToken + `"}}
        warmup: 1m
schedules:
  - name: '<b>nightly</b>'
    kind: freeze
    services: [web]
    cron: "0 1 * * *"
    duration: 30m
`

// ramps is a metrics.Source of the same load ramps for every service: the
// latency passes the threshold at the top of each.
type ramps struct{ i int }

func (r *ramps) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	i := r.i % 120
	r.i++
	x := 40 + float64(i)
	if i >= 60 {
		x = 40 + float64(119-i)
	}
	snap := metrics.Snapshot{}
	for _, s := range []string{"web", evil} {
		snap.Set(s, metrics.Latency, metrics.Sample{Time: now, Value: 0.05 / (1 - x/100)})
		snap.Set(s, metrics.Requests, metrics.Sample{Time: now, Value: x})
	}
	return snap, nil
}

// failing is an actuator whose every call fails with an error that quotes
// its URL, token included (as a webhook's does).
type failing struct{}

func (failing) Apply(context.Context, actuators.Action) error {
	return &url.Error{Op: "Post", URL: "http://127.0.0.1:9/hook?token=" + secretToken, Err: io.ErrUnexpectedEOF}
}

// newController returns a controller of testConfig in mode plan that has
// stepped steps minutes; the first service's actions fail.
func newController(t *testing.T, steps int) *controller.Controller {
	t.Helper()
	return newControllerIn(t, policy.Plan, steps)
}

// newControllerIn is newController in mode.
func newControllerIn(t *testing.T, mode policy.Mode, steps int) *controller.Controller {
	t.Helper()
	cfg, err := config.Load([]byte(testConfig), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := actuators.NewRecorder(nil)
	ctl, err := controller.New(controller.Options{Config: cfg, Source: &ramps{}, Mode: mode, View: true,
		Actuators: map[string][]actuators.Actuator{"web": {failing{}, failing{}}, evil: {rec}}})
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctl, 0, steps)
	return ctl
}

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func step(t *testing.T, ctl *controller.Controller, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

var paths = []string{"/ui", "/ui/", "/ui/service/web", "/ui/service/" + url.PathEscape(evil), "/ui/assets/ui.js", "/ui/assets/ui.css", "/ui/assets/liberation-serif.ttf", "/ui/service/nope", "/ui/nope"}

// TestReadOnly: every path refuses every method but GET and HEAD.
func TestReadOnly(t *testing.T) {
	h := Handler(newController(t, 5), Options{})
	for _, p := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			w := get(t, h, m, p)
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d (Allow %q), want 405 (GET, HEAD)", m, p, w.Code, w.Header().Get("Allow"))
			}
		}
		want := http.StatusOK
		if strings.Contains(p, "nope") {
			want = http.StatusNotFound
		}
		if w := get(t, h, http.MethodGet, p); w.Code != want {
			t.Errorf("GET %s: %d, want %d", p, w.Code, want)
		}
	}
	if w := get(t, h, http.MethodGet, "/ui/assets/"); w.Code != http.StatusNotFound {
		t.Errorf("GET /ui/assets/: %d, want 404 (no listing)", w.Code)
	}
	if w := get(t, h, http.MethodGet, "/ui"); !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("no content security policy: %v", w.Header())
	}
}

// TestPagesShowTheView: the overview has a row per service, at risk
// first, and the service's page its four charts, the planner's sets, the
// capacities and the decisions; a second request (the page open) has the
// load and the band ahead.
func TestPagesShowTheView(t *testing.T) {
	ctl := newController(t, 170)
	h := Handler(ctl, Options{})
	ov := get(t, h, http.MethodGet, "/ui").Body.String()
	if n := strings.Count(ov, `<tr class="service`); n != 2 {
		t.Errorf("the overview has %d service rows, want 2", n)
	}
	if !strings.Contains(ov, "&lt;b&gt;nightly&lt;/b&gt; (freeze) 01-06 01:00 → 01-06 01:30") {
		t.Error("the overview does not show web's next window")
	}
	first := get(t, h, http.MethodGet, "/ui/service/web").Body.String()
	if !strings.Contains(first, `id="warming"`) {
		t.Error("the first request says nothing of the data still to come")
	}
	step(t, ctl, 170, 172)
	page := get(t, h, http.MethodGet, "/ui/service/web").Body.String()
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("the page has %d charts, want 4", n)
	}
	for _, want := range []string{`id="chart-load"`, `id="chart-latency"`, `id="chart-actions"`, `id="chart-risk"`,
		`id="plan"`, `id="capacities"`, `id="decisions"`, "threshold 0.5s", "ahead now, 10%–90%", "forecast 10m0s ahead, 10%–90%", "chosen",
		"freeze window", "<code>Frozen</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the service's page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="warming"`) {
		t.Error("the page open, the data still said to come")
	}
}

// TestPageOfTheRule: under the rule (predictive) the page has its charts
// and capacities by playbook level, and no planner's sets.
func TestPageOfTheRule(t *testing.T) {
	ctl := newControllerIn(t, policy.Predictive, 170)
	h := Handler(ctl, Options{})
	get(t, h, http.MethodGet, "/ui/service/web")
	step(t, ctl, 170, 172)
	page := get(t, h, http.MethodGet, "/ui/service/web").Body.String()
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("the page has %d charts, want 4", n)
	}
	for _, want := range []string{`id="capacities"`, "ahead now, 10%–90%", "<td>predictive</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="plan"`) {
		t.Error("the rule's page shows planner's sets")
	}
}

// TestEscaped: a service and an action named with HTML, and messages
// holding HTML, show as text in the HTML and the SVG.
func TestEscaped(t *testing.T) {
	ctl := newController(t, 170)
	h := Handler(ctl, Options{})
	get(t, h, http.MethodGet, "/ui/service/"+url.PathEscape(evil))
	step(t, ctl, 170, 172)
	for _, p := range paths[:4] {
		body := get(t, h, http.MethodGet, p).Body.String()
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s holds the name unescaped", p)
		}
		if p != "/ui/service/web" && !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("%s does not show the name escaped", p)
		}
	}
	// Through a source that returns HTML wherever text goes.
	fake := htmlSource{}
	for _, p := range []string{"/ui", "/ui/service/x"} {
		body := get(t, Handler(fake, Options{}), http.MethodGet, p).Body.String()
		if i := strings.Index(body, "<img"); i >= 0 {
			t.Errorf("%s holds HTML unescaped: …%s…", p, body[max(0, i-80):min(len(body), i+80)])
		}
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s does not show the message escaped", p)
		}
	}
}

// htmlSource is a view with HTML in every text.
type htmlSource struct{}

const html = "<img src=x onerror=alert(1)>"

func (htmlSource) summary() controller.Summary {
	w := schedule.Window{Name: html, Kind: schedule.Prewarm, Start: t0, End: t0.Add(time.Hour)}
	return controller.Summary{Name: "x", Mode: policy.Plan, Signal: html, Threshold: 0.5, Stepped: true, Time: t0.Add(time.Hour),
		Engaged: []string{html}, Risk: 0.5, TimeToBreach: time.Minute, Latency: 0.1, Load: 10, BreachLevel: 20,
		Reason: policy.Reason(html), Message: html, Windows: []schedule.Window{w}, NextWindows: []schedule.Window{w}}
}

func (s htmlSource) Overview() []controller.Summary { return []controller.Summary{s.summary()} }
func (htmlSource) Watch(string, time.Time) bool     { return true }
func (s htmlSource) ServiceView(string) (controller.ServiceView, bool) {
	v := controller.ServiceView{Summary: s.summary(), Interval: time.Minute, Horizon: 10 * time.Minute, Playbook: []string{html}}
	for i := range 30 {
		v.Times = append(v.Times, t0.Add(time.Duration(i)*time.Minute))
		v.Latency = append(v.Latency, 0.1)
		v.Risk = append(v.Risk, 0.5)
		v.BreachLevel = append(v.BreachLevel, 20)
		v.Level = append(v.Level, 1)
		for k := range v.Forecast {
			v.Forecast[k] = append(v.Forecast[k], 10+float64(k))
		}
	}
	v.Watched = t0.Add(29 * time.Minute)
	v.Capacities = []controller.Capacity{{Set: []string{html}, Level: 20, Source: html, Engaged: true}}
	v.Options = []policy.Option{{Names: []string{html}, Cost: 1, Risk: 0.1, Engaged: true}}
	v.Windows = s.summary().Windows
	v.Decisions = []controller.Decision{{Time: t0, Reason: policy.Reason(html), Message: html, Level: 1, Actions: []string{html}}}
	return v, true
}

// TestNoSecret: no page shows the Prometheus password or the webhook's
// token, not even the failed actions' errors, which quote the URL.
func TestNoSecret(t *testing.T) {
	ctl := newController(t, 170)
	h := Handler(ctl, Options{})
	get(t, h, http.MethodGet, "/ui/service/web")
	step(t, ctl, 170, 172)
	failed := false
	for _, p := range paths {
		body := get(t, h, http.MethodGet, p).Body.String()
		for _, s := range []string{secretPassword, secretToken} {
			if strings.Contains(body, s) {
				t.Errorf("%s shows the secret %q", p, s)
			}
		}
		failed = failed || strings.Contains(body, "failed: Post")
	}
	if !failed {
		t.Error("no page shows a failed action: the redaction of its error is not tested")
	}
}

// TestAtRiskFirst: an incident, then the nearest time to breach, then the
// highest risk, then the name.
func TestAtRiskFirst(t *testing.T) {
	sums := []controller.Summary{
		{Name: "calm", Risk: 0, TimeToBreach: -1},
		{Name: "risky", Risk: 0.3, TimeToBreach: -1},
		{Name: "soon", Risk: 0.9, TimeToBreach: 5 * time.Minute},
		{Name: "sooner", Risk: 0.6, TimeToBreach: 2 * time.Minute},
		{Name: "fire", Firing: true, TimeToBreach: -1},
		{Name: "nan", Risk: math.NaN(), TimeToBreach: -1},
	}
	var got []string
	for _, r := range atRiskFirst(sums) {
		got = append(got, r.Name)
	}
	if want := "fire sooner soon risky calm nan"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

// TestPageWhileStepping renders the pages while the loop steps (run with
// -race).
func TestPageWhileStepping(t *testing.T) {
	ctl := newController(t, 60)
	h := Handler(ctl, Options{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, p := range paths[:3] {
				if w := get(t, h, http.MethodGet, p); w.Code != http.StatusOK {
					t.Errorf("GET %s: %d", p, w.Code)
				}
			}
		}
	})
	step(t, ctl, 60, 160)
	close(done)
	wg.Wait()
}

// TestRefreshScript: the page names its refresh, and the script replaces
// the page's main element in place (it never appends).
func TestRefreshScript(t *testing.T) {
	h := Handler(newController(t, 3), Options{Refresh: 2 * time.Second})
	if body := get(t, h, http.MethodGet, "/ui").Body.String(); !strings.Contains(body, `data-refresh="2000"`) || !regexp.MustCompile(`<main id="main">`).MatchString(body) {
		t.Error("the page does not name its refresh or its main element")
	}
	js := get(t, h, http.MethodGet, "/ui/assets/ui.js").Body.String()
	if !strings.Contains(js, "replaceWith") || strings.Contains(js, "appendChild(next") || strings.Contains(js, "innerHTML +=") {
		t.Error("the script does not replace the page's content in place")
	}
}
