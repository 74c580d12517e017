package controller

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

const testConfig = `
global: {interval: 1m, history: 1d}
services:
  - name: web
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 0s, refit: "@hourly"}
    playbook:
      - {name: queue, actuator: {kind: sim, knob: queue}, warmup: 1m, cooldown: 2m, revert_after: 5m}
      - {name: replicas, actuator: {kind: sim, knob: replicas}, min: 0, max: 3, warmup: 5m}
`

func loadConfig(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Load([]byte(testConfig), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// script is a metrics.Source that serves a scripted latency and load, one
// value per call; NaN values are left out of the snapshot.
type script struct {
	mu       sync.Mutex
	lat      []float64
	load     []float64
	i        int
	err      error
	lagSteps int // timestamps this many minutes old
}

func (s *script) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	i := min(s.i, len(s.lat)-1)
	s.i++
	snap := metrics.Snapshot{}
	ts := now.Add(-time.Duration(s.lagSteps) * time.Minute)
	if v := s.lat[i]; !math.IsNaN(v) {
		snap.Set("web", metrics.Latency, metrics.Sample{Time: ts, Value: v})
	}
	if v := s.load[i]; !math.IsNaN(v) {
		snap.Set("web", metrics.Requests, metrics.Sample{Time: ts, Value: v})
	}
	return snap, nil
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func concat(xs ...[]float64) []float64 {
	var out []float64
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

// flaky fails its first n applies.
type flaky struct {
	n       int
	applied []actuators.Action
}

func (f *flaky) Apply(_ context.Context, a actuators.Action) error {
	f.applied = append(f.applied, a)
	if len(f.applied) <= f.n {
		return errors.New("target down")
	}
	return nil
}

type harness struct {
	ctl  *Controller
	recs []Record
	rec  *actuators.Recorder
	reg  *prometheus.Registry
}

func newHarness(t *testing.T, mode policy.Mode, src metrics.Source, acts ...actuators.Actuator) *harness {
	t.Helper()
	h := &harness{rec: actuators.NewRecorder(nil), reg: prometheus.NewRegistry()}
	if len(acts) == 0 {
		acts = []actuators.Actuator{h.rec, h.rec}
	}
	ctl, err := New(Options{
		Config: loadConfig(t), Source: src, Mode: mode, Registerer: h.reg,
		Actuators:  map[string][]actuators.Actuator{"web": acts},
		OnDecision: func(r Record) { h.recs = append(h.recs, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.ctl = ctl
	return h
}

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func (h *harness) steps(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		if err := h.ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func reasons(recs []Record) []policy.Reason {
	out := make([]policy.Reason, len(recs))
	for i, r := range recs {
		out[i] = r.Reason
	}
	return out
}

func TestReactiveFloorEngagesOnThirdBreach(t *testing.T) {
	src := &script{lat: concat(repeat(0.1, 5), repeat(0.9, 4)), load: repeat(50, 9)}
	h := newHarness(t, policy.Reactive, src)
	h.steps(t, 9)
	got := reasons(h.recs)
	// Breaches at steps 5, 6, 7: the third one fires the reactive floor.
	if got[6] != policy.Steady || got[7] != policy.ReactiveFloor {
		t.Fatalf("reasons = %v", got)
	}
	if got[8] != policy.Settling && got[8] != policy.ReactiveFloor {
		t.Errorf("step 8 reason = %s", got[8])
	}
	recs := h.rec.Records()
	if len(recs) == 0 || recs[0].Action != "queue" || recs[0].Op != actuators.Engage || recs[0].To != 1 {
		t.Fatalf("recorded = %+v", recs)
	}
}

func TestMissingDataIsNeverZero(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		src  *script
	}{
		{"NaN latency", &script{lat: repeat(nan, 6), load: repeat(50, 6)}},
		{"NaN load", &script{lat: repeat(0.9, 6), load: repeat(nan, 6)}},
		{"stale samples", &script{lat: repeat(0.9, 6), load: repeat(50, 6), lagSteps: 5}},
		{"source down", &script{lat: repeat(0.9, 6), load: repeat(50, 6), err: errors.New("connection refused")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, policy.Predictive, tt.src)
			for i := range 6 {
				h.ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
			}
			for _, r := range h.recs {
				if r.Reason != policy.NoData {
					t.Fatalf("reason = %s, want NoData", r.Reason)
				}
			}
			if n := len(h.rec.Records()); n != 0 {
				t.Fatalf("%d actions on missing data", n)
			}
		})
	}
}

func TestFailedActionIsRetriedWithSameKey(t *testing.T) {
	src := &script{lat: repeat(0.9, 8), load: repeat(50, 8)}
	f := &flaky{n: 2}
	h := newHarness(t, policy.Reactive, src, f, f)
	h.steps(t, 5)
	if len(f.applied) != 3 {
		t.Fatalf("applied %d times, want 3 (two failures, one success)", len(f.applied))
	}
	for _, a := range f.applied {
		if !a.At.Equal(f.applied[0].At) || a.To != 1 || a.Action != "queue" {
			t.Fatalf("retries differ: %+v", f.applied)
		}
	}
	if h.recs[2].Err() == nil || h.recs[2].Level != 0 {
		t.Errorf("failed step: err %v level %d, want an error and level 0", h.recs[2].Err(), h.recs[2].Level)
	}
	if h.recs[4].Err() != nil || h.recs[4].Level != 1 {
		t.Errorf("successful retry: err %v level %d", h.recs[4].Err(), h.recs[4].Level)
	}
}

// ramps returns n steps of a load that ramps from 40 to 99 and back down
// every 120 steps, and the latency of a service that breaches 0.5 s at 90.
func ramps(n int) (lat, load []float64) {
	for i := range n {
		x := 40 + float64(i%120)
		if i%120 >= 60 {
			x = 40 + float64(119-i%120)
		}
		load = append(load, x)
		lat = append(lat, 0.05/(1-x/100))
	}
	return lat, load
}

func TestPredictiveActsBeforeTheBreach(t *testing.T) {
	// The service breaches when the load passes 90: learned from a first
	// ramp, then the second ramp is seen coming.
	lat, load := ramps(240)
	src := &script{lat: lat, load: load}
	h := newHarness(t, policy.Predictive, src)
	h.steps(t, len(lat))
	firstEngage := func(from, to int) (int, policy.Reason) {
		for i := from; i < to; i++ {
			if a := actionOf(h.recs[i]); a != nil && a.Op == actuators.Engage {
				return i, h.recs[i].Reason
			}
		}
		return -1, ""
	}
	// Latency passes 0.5 where the load passes 90 (i = 51 in a cycle): the
	// breach, three samples later, is at i = 53.
	i2, why := firstEngage(120, 240)
	if why != policy.Escalate {
		t.Fatalf("second cycle: first engagement at %d with %s, want Escalate", i2, why)
	}
	t.Logf("second cycle: engaged at %d (%s)", i2, why)
	if i2 >= 120+53 {
		t.Errorf("second cycle engaged at step %d, not before the breach at %d", i2, 120+53)
	}
}

// TestImminentAfterASpike: one sample far above what the level takes
// leaves a backlog that keeps the latency up after the load is back under;
// the mean load over the incident pattern's K−1 last samples is what
// Imminent asks to be at or above the level.
func TestImminentAfterASpike(t *testing.T) {
	lat, load := ramps(160) // learns where level 0 breaches (about 90)
	h := newHarness(t, policy.Predictive, &script{lat: lat, load: load})
	h.steps(t, len(lat))
	c, s := h.ctl, h.ctl.services[0]
	l := s.levels[0].level
	if !s.levels[0].known || l < 80 || l > 100 {
		t.Fatalf("level 0's breach level %v (known %v): the scenario did not learn it", l, s.levels[0].known)
	}
	for _, tt := range []struct {
		load float64
		want bool
	}{
		{l + 35, true},  // the spike: above now
		{l - 30, true},  // back under, but the mean of the two is above
		{l - 30, false}, // the mean of the last two is under
	} {
		s.hist.push(tt.load, math.NaN(), 0)
		u := c.underway(s, tt.load, 0)
		u.Run = u.K - 1 // the pattern one sample short
		if got := u.Imminent(); got != tt.want {
			t.Errorf("load %.1f after %v: imminent %v, want %v (breach level %.1f)", tt.load, s.hist.last(3), got, tt.want, l)
		}
	}
}

func TestRunUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &script{lat: repeat(0.1, 100), load: repeat(50, 100)}
		h := newHarness(t, policy.Predictive, src)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.ctl.Run(ctx) }()
		time.Sleep(10*time.Minute + time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(h.recs) != 11 {
			t.Fatalf("%d steps in 10 minutes, want 11", len(h.recs))
		}
		for i := 1; i < len(h.recs); i++ {
			if d := h.recs[i].Time.Sub(h.recs[i-1].Time); d != time.Minute {
				t.Fatalf("step %d came %s after the previous one", i, d)
			}
		}
	})
}

func TestSpeedRunsVirtualClockFaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &script{lat: repeat(0.1, 100), load: repeat(50, 100)}
		h := newHarness(t, policy.Predictive, src)
		h.ctl.speed = 60
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.ctl.Run(ctx) }()
		time.Sleep(10*time.Second + time.Millisecond)
		cancel()
		<-done
		if len(h.recs) != 11 {
			t.Fatalf("%d steps in 10 s at speed 60, want 11", len(h.recs))
		}
		if d := h.recs[10].Time.Sub(h.recs[0].Time); d != 10*time.Minute {
			t.Errorf("virtual time advanced %s, want 10m", d)
		}
	})
}

func TestEndpoints(t *testing.T) {
	src := &script{lat: repeat(0.1, 10), load: repeat(50, 10)}
	h := newHarness(t, policy.Predictive, src)
	srv := httptest.NewServer(h.ctl.Handler(h.reg, 0, false))
	defer srv.Close()
	verbose := httptest.NewServer(h.ctl.Handler(h.reg, 0, true))
	defer verbose.Close()
	getFrom := func(srv *httptest.Server, path string) (int, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return getFrom(srv, path) }
	// readyz checks /readyz on both servers: the terse one says only
	// "ready" or "not ready", the verbose one why in words.
	readyz := func(when string, code int, why string) {
		t.Helper()
		want := "ready\n"
		if code != 200 {
			want = "not ready\n"
		}
		if c, body := get("/readyz"); c != code || body != want {
			t.Errorf("/readyz %s = %d %q, want %d %q", when, c, body, code, want)
		}
		if code == 200 {
			want = "ready\n"
		} else {
			want = "not ready: " + why + "\n"
		}
		if c, body := getFrom(verbose, "/readyz"); c != code || body != want {
			t.Errorf("verbose /readyz %s = %d %q, want %d %q", when, c, body, code, want)
		}
	}
	readyz("before the first step", 503, "no step has run yet")
	h.steps(t, 3)
	readyz("after a step", 200, "")
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	_, body := get("/metrics")
	for _, name := range []string{"presage_signal_value", "presage_breach_risk", "presage_time_to_breach_seconds",
		"presage_engaged_actions", "presage_decisions_total", "presage_step_duration_seconds", "presage_model_refits_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The source goes down: ready until it has been down three intervals.
	// Its error (which may quote a URL and its secrets) is never served.
	src.err = errors.New(`Post "http://u:pw@h/api?token=T": down`)
	for i := 3; i < 8; i++ {
		h.ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
		if i == 4 {
			readyz("with the source down 2 intervals", 200, "")
		}
	}
	readyz("with the source down 5 intervals", 503,
		"the source has been unreachable since "+t0.Add(2*time.Minute).Format(time.RFC3339)+": the last read failed")
	_, body = get("/metrics")
	if !strings.Contains(body, `presage_source_errors_total{kind="read"} 5`) {
		t.Errorf("source errors not counted")
	}
}

// kindError is a failed read of a kind, as metrics/prom's errors are.
type kindError struct{ kind string }

func (e kindError) Error() string     { return `Post "http://u:pw@h/?token=T": ` + e.kind }
func (e kindError) ErrorKind() string { return e.kind }

// TestReadyWords: Ready says in words what is wrong with a source that was
// never read, and names the kind of its last failure, never its error.
func TestReadyWords(t *testing.T) {
	tests := []struct{ kind, want string }{
		{"timeout", "the source has never been read: the last read timed out"},
		{"connection", "the source has never been read: the last read could not connect"},
		{"http_4xx", "the source has never been read: the last read got HTTP status 4xx"},
		{"bad_response", "the source has never been read: the last read got an answer that is not a query result"},
		{"canceled", "the source has never been read: the last read was canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			src := &script{lat: repeat(0.1, 10), load: repeat(50, 10), err: kindError{tt.kind}}
			h := newHarness(t, policy.Predictive, src)
			h.ctl.Step(context.Background(), t0)
			if err := h.ctl.Ready(time.Minute); err == nil || err.Error() != tt.want {
				t.Errorf("Ready = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRefitFollowsStepTime(t *testing.T) {
	src := &script{lat: repeat(0.1, 200), load: repeat(50, 200)}
	h := newHarness(t, policy.Predictive, src)
	h.steps(t, 181) // 00:00 .. 03:00 in virtual time
	mf, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ok float64
	for _, f := range mf {
		if f.GetName() != "presage_model_refits_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "ok" {
					ok += m.GetCounter().GetValue()
				}
			}
		}
	}
	// A first fit once there is enough history, then one at 01:00, 02:00, 03:00.
	if ok != 4 {
		t.Errorf("%v successful fits over three virtual hours, want 4", ok)
	}
}

func TestPeriodDetectedWhenNotConfigured(t *testing.T) {
	// The test config sets period 0s: the controller finds the load's
	// 60-minute cycle (an hour, snapped exactly) from its history.
	n := 6 * 60
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/61) // 61 steps: snapped to the hour
	}
	src := &script{lat: repeat(0.1, n), load: load}
	h := newHarness(t, policy.Predictive, src)
	h.steps(t, n)
	s := h.ctl.services[0]
	if s.period != 60 {
		t.Fatalf("detected period %d, want 60", s.period)
	}
	if hw, ok := s.fc.(*model.HoltWinters); !ok || hw.Period() != 60 {
		t.Fatalf("model %T, want seasonal Holt-Winters with period 60", s.fc)
	}
}

// withForecast returns a predictive controller of the test config with
// its forecast section replaced by forecast (YAML flow style), over load
// and a latency of 0.1.
func withForecast(t *testing.T, forecast string, load []float64) *Controller {
	t.Helper()
	cfgText := strings.Replace(testConfig, `forecast: {horizon: 10m, period: 0s, refit: "@hourly"}`, "forecast: "+forecast, 1)
	cfg, err := config.Load([]byte(cfgText), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: cfg, Source: &script{lat: repeat(0.1, len(load)), load: load}, Mode: policy.Predictive,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
	if err != nil {
		t.Fatal(err)
	}
	return ctl
}

// TestModelWaitsForItsHistory: a configured model that needs more history
// than there is (double-seasonal: two of its long periods) does not leave
// the service without a forecast: the automatic choice forecasts until the
// history covers it, then the configured model does, on two long periods.
func TestModelWaitsForItsHistory(t *testing.T) {
	n := 200
	load := make([]float64, n)
	for i := range load {
		load[i] = 50 + 10*math.Sin(2*math.Pi*float64(i)/20) + 5*math.Sin(2*math.Pi*float64(i)/60)
	}
	ctl := withForecast(t, `{model: double-seasonal, horizon: 10m, period: 20m, long_period: 1h, refit: "@hourly"}`, load)
	s := ctl.services[0]
	step := func(i int) {
		t.Helper()
		if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	for i := range 100 {
		step(i)
	}
	if s.fc == nil {
		t.Fatal("no forecast after 100 steps: the configured model's wait left the service without one")
	}
	if got := s.fc.Name(); got == model.NameDoubleSeasonal {
		t.Fatalf("model %s with 100 observations, under two long periods (120)", got)
	}
	for i := 100; i < n; i++ {
		step(i) // the 02:00 refit has 121 observations
	}
	ds, ok := s.fc.(*model.DoubleSeasonal)
	if !ok {
		t.Fatalf("model %s after 200 steps, want double-seasonal", s.fc.Name())
	}
	if p := ds.Periods(); p != [2]int{20, 60} {
		t.Errorf("double-seasonal periods %v, want [20 60]", p)
	}
}

// TestModelThatCannotFitLeavesTheForecastToAuto: a configured model that
// cannot fit the history (multiplicative Holt-Winters on a load with
// zeros) does not leave the service without a forecast either.
func TestModelThatCannotFitLeavesTheForecastToAuto(t *testing.T) {
	n := 100
	load := make([]float64, n)
	for i := range load {
		load[i] = max(0, 20*math.Sin(2*math.Pi*float64(i)/20)) // zero half the time
	}
	ctl := withForecast(t, `{model: holt-winters-mult, horizon: 10m, period: 20m, refit: "@hourly"}`, load)
	for i := range n {
		if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s := ctl.services[0]
	if s.fc == nil {
		t.Fatal("no forecast: the configured model's failure left the service without one")
	}
	if got := s.fc.Name(); got == model.NameHoltWintersMult {
		t.Fatalf("model %s fitted a load with zeros", got)
	}
}

// TestClairvoyantNeedsTheLoadAhead: the clairvoyant mode is refused
// without the load ahead, and with it the service forecasts it, never
// fitting a model.
func TestClairvoyantNeedsTheLoadAhead(t *testing.T) {
	rec := actuators.NewRecorder(nil)
	o := Options{Config: loadConfig(t), Source: &script{lat: repeat(0.1, 10), load: repeat(50, 10)},
		Mode: policy.Clairvoyant, Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "load ahead") {
		t.Fatalf("New(clairvoyant) without the load ahead: %v", err)
	}
	o.Forecasters = map[string]model.Forecaster{"web": &model.Known{Values: []float64{50, 51, 52, 53, 54, 55, 56, 57, 58, 59}}}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := c.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if f := c.services[0].fc.Forecast(2); f[0] != 53 || f[1] != 54 {
		t.Errorf("forecast after 3 steps %v, want [53 54]", f)
	}
}

// TestRestartKeepsAndRevertsWhatAnEarlierRunDid: a controller restarted
// with the state an earlier one saved keeps the engaged action and later
// restores the value that run replaced.
func TestRestartKeepsAndRevertsWhatAnEarlierRunDid(t *testing.T) {
	var saved map[string]policy.State
	first := &harness{rec: actuators.NewRecorder(nil), reg: prometheus.NewRegistry()}
	ctl, err := New(Options{
		Config: loadConfig(t), Source: &script{lat: repeat(0.9, 5), load: repeat(50, 5)}, Mode: policy.Reactive,
		Actuators:     map[string][]actuators.Actuator{"web": {first.rec, first.rec}},
		OnStateChange: func(st map[string]policy.State) error { saved = st; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	first.ctl = ctl
	first.steps(t, 3) // the incident fires at the third step: queue engaged
	if saved["web"].Level() != 1 {
		t.Fatalf("saved state %+v, want the queue engaged", saved)
	}

	// The restarted controller: no incident, the load low; it keeps the
	// queue through the revert window, then restores the replaced value.
	rec := actuators.NewRecorder(nil)
	var recs []Record
	ctl2, err := New(Options{
		Config: loadConfig(t), Source: &script{lat: repeat(0.1, 40), load: repeat(10, 40)}, Mode: policy.Reactive,
		Actuators:  map[string][]actuators.Actuator{"web": {rec, rec}},
		State:      saved,
		OnDecision: func(r Record) { recs = append(recs, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		ctl2.Step(context.Background(), t0.Add(time.Duration(10+i)*time.Minute))
	}
	if recs[0].Level != 1 {
		t.Fatalf("restarted at level %d, want 1 (kept)", recs[0].Level)
	}
	got := rec.Records()
	if len(got) != 1 || got[0].Op != actuators.Revert || got[0].Action != "queue" || got[0].To != 0 || got[0].From != 1 {
		t.Fatalf("restarted controller did %+v, want one revert of the queue 1 → 0", got)
	}
}

// actionOf returns the first change of a record, nil when it has none.
func actionOf(r Record) *actuators.Action {
	if len(r.Actions) == 0 {
		return nil
	}
	return &r.Actions[0].Action
}
