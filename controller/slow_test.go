package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

// twoServices is a configuration of two services, slow first (an old
// loop stepped them in this order), each with one action.
const twoServices = `
global: {interval: 1m, history: 1d}
services:
  - name: slow
    signals: {latency: {sim: latency_p99}, requests: {sim: requests}}
    incident: {above: 0.5, consecutive: 1}
    forecast: {horizon: 10m, period: 0s}
    playbook:
      - {name: queue, actuator: {kind: sim, knob: queue}, warmup: 1m, cooldown: 2m, revert_after: 1h}
  - name: fast
    signals: {latency: {sim: latency_p99}, requests: {sim: requests}}
    incident: {above: 0.5, consecutive: 1}
    forecast: {horizon: 10m, period: 0s}
    playbook:
      - {name: queue, actuator: {kind: sim, knob: queue}, warmup: 1m, cooldown: 2m, revert_after: 1h}
`

// hot serves every named service hot (latency 0.9 s, 50 req/s) at every
// read.
type hot []string

func (h hot) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	snap := metrics.Snapshot{}
	for _, s := range h {
		snap.Set(s, metrics.Latency, metrics.Sample{Time: now, Value: 0.9})
		snap.Set(s, metrics.Requests, metrics.Sample{Time: now, Value: 50})
	}
	return snap, nil
}

// receiver is a webhook receiver that notes the time of every POST, and,
// when gated, holds each one until the gate opens.
type receiver struct {
	mu   sync.Mutex
	got  []time.Time
	gate chan struct{} // nil: answers at once
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.got = append(r.got, time.Now())
	r.mu.Unlock()
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-req.Context().Done():
		}
	}
}

func (r *receiver) posts() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.got...)
}

// TestSlowTargetDelaysOnlyItsService runs the loop (Run, on the wall
// clock) over two services whose webhook receivers are real HTTP servers:
// slow's holds every POST until the test lets it go; fast's answers at
// once. Both engage at the first step. fast's change is applied and
// recorded at that step, and fast goes on stepping every interval while
// slow's call is under way; slow decides nothing meanwhile
// (ActionInFlight), no step overruns its interval, and slow's change lands
// once its receiver answers. The old loop called the actuators in the
// step, one service after the other: fast's change waited for slow's.
func TestSlowTargetDelaysOnlyItsService(t *testing.T) {
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	defer release()
	slowRcv, fastRcv := &receiver{gate: gate}, &receiver{}
	slowSrv, fastSrv := httptest.NewServer(slowRcv), httptest.NewServer(fastRcv)
	defer slowSrv.Close()
	defer fastSrv.Close()
	defer release() // before the servers close: their handlers return
	wh := func(url string) actuators.Actuator {
		w, err := webhook.New(config.Webhook{URL: url, Timeout: config.Duration(time.Minute)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	cfg, err := config.Load([]byte(twoServices), "two.yaml")
	if err != nil {
		t.Fatal(err)
	}

	// A step every 400 ms of wall time (1m at 150 times).
	const speed = 150
	wall := time.Duration(float64(time.Minute) / speed)
	type seen struct {
		rec Record
		at  time.Time
	}
	var mu sync.Mutex
	var recs []seen
	reg := prometheus.NewRegistry()
	ctl, err := New(Options{
		Config: cfg, Source: hot{"slow", "fast"}, Mode: policy.Reactive, Registerer: reg, Speed: speed,
		Actuators: map[string][]actuators.Actuator{"slow": {wh(slowSrv.URL)}, "fast": {wh(fastSrv.URL)}},
		OnDecision: func(r Record) {
			mu.Lock()
			recs = append(recs, seen{r, time.Now()})
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- ctl.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	defer func() {
		if ctx.Err() == nil {
			release()
			stop()
		}
	}()
	of := func(service string) []seen {
		mu.Lock()
		defer mu.Unlock()
		var out []seen
		for _, s := range recs {
			if s.rec.Service == service {
				out = append(out, s)
			}
		}
		return out
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("after 20s: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// While slow's receiver holds its POST, fast steps on: its change is
	// applied, and at least five more of its steps follow.
	waitFor("fast's change applied and five more of its steps while slow's POST is held", func() bool {
		return len(fastRcv.posts()) == 1 && len(of("fast")) >= 6
	})
	if len(slowRcv.posts()) != 1 {
		t.Fatalf("slow's receiver got %d POSTs, want 1 (held)", len(slowRcv.posts()))
	}
	fast := of("fast")
	first := fast[0].rec
	if len(first.Actions) != 1 || first.Actions[0].Err != nil || first.Actions[0].InFlight || first.Level != 1 {
		t.Fatalf("fast's first step: actions %+v, level %d; want its change applied at that step", first.Actions, first.Level)
	}
	if took := fastRcv.posts()[0].Sub(start); took > 5*wall {
		t.Errorf("fast's change reached its receiver %v after the start, want within a few intervals (%v each)", took, wall)
	}
	for i := 1; i < len(fast); i++ {
		if gap := fast[i].at.Sub(fast[i-1].at); gap > 3*wall {
			t.Errorf("fast's steps %d and %d are %v apart, interval %v: delayed", i-1, i, gap, wall)
		}
	}
	slow := of("slow")
	if a := slow[0].rec.Actions; len(a) != 1 || !a[0].InFlight || slow[0].rec.Level != 0 {
		t.Errorf("slow's first step: actions %+v, level %d; want its change in flight, not yet engaged", a, slow[0].rec.Level)
	}
	for _, s := range slow[1:] {
		if s.rec.Reason != policy.ActionInFlight || len(s.rec.Actions) != 0 {
			t.Errorf("slow at %v: reason %s, actions %+v; want ActionInFlight and nothing decided", s.rec.Time, s.rec.Reason, s.rec.Actions)
		}
	}

	// Now slow's receiver answers: its change lands at a later step.
	release()
	waitFor("slow's change landed", func() bool {
		for _, s := range of("slow") {
			if len(s.rec.Actions) == 1 && !s.rec.Actions[0].InFlight {
				return true
			}
		}
		return false
	})
	n := len(of("slow"))
	waitFor("one more step of slow", func() bool { return len(of("slow")) > n })
	stop()
	var landed Record
	for _, s := range of("slow") {
		if len(s.rec.Actions) == 1 && !s.rec.Actions[0].InFlight {
			landed = s.rec
		}
	}
	if a := landed.Actions[0]; a.Err != nil || a.Op != actuators.Engage || !a.At.Equal(slow[0].rec.Time) || landed.Level != 1 {
		t.Errorf("slow's landed change %+v at level %d; want the change decided at its first step (%v), applied, engaged", a, landed.Level, slow[0].rec.Time)
	}
	if st := ctl.State()["slow"]; st.Level() != 1 {
		t.Errorf("slow's state has %d engaged, want 1", st.Level())
	}
	if got := len(slowRcv.posts()); got != 1 {
		t.Errorf("slow's receiver got %d POSTs, want 1: nothing decided again while its call was under way", got)
	}
	if n := testutil.ToFloat64(ctl.tel.overruns); n != 0 {
		t.Errorf("presage_step_overruns_total = %v, want 0: a slow target does not slow the step", n)
	}
	if err := ctl.Ready(time.Hour); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestSlowTargetFailureRetriesSameKey: a call that outlasts its step and
// then fails is undone when it lands, and the next step retries the same
// change with the same idempotency key, as a failure in the step is.
func TestSlowTargetFailureRetriesSameKey(t *testing.T) {
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	defer release()
	var mu sync.Mutex
	var keys []string
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(webhook.IdempotencyHeader))
		f := fail
		mu.Unlock()
		if f {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	defer release()
	w, err := webhook.New(config.Webhook{URL: srv.URL, Timeout: config.Duration(time.Minute)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]byte(oneService), "one.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	ctl, err := New(Options{
		Config: cfg, Source: hot{"web"}, Mode: policy.Reactive,
		Actuators:  map[string][]actuators.Actuator{"web": {w}},
		OnDecision: func(r Record) { recs = append(recs, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	step := func(i int) Record {
		t.Helper()
		if err := ctl.Step(ctx, t0.Add(time.Duration(i)*200*time.Millisecond)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		return recs[len(recs)-1]
	}
	for i := range 3 { // the third breach engages
		step(i)
	}
	decided := recs[2]
	if len(decided.Actions) != 1 || !decided.Actions[0].InFlight {
		t.Fatalf("step 2: %s %+v, want the change in flight", decided.Reason, decided.Actions)
	}
	if r := step(3); r.Reason != policy.ActionInFlight {
		t.Fatalf("step 3: %s, want ActionInFlight", r.Reason)
	}
	mu.Lock()
	fail = false // the receiver comes back: the held POST fails, the next ones succeed
	mu.Unlock()
	release()
	deadline := time.Now().Add(20 * time.Second)
	for !ctl.services[0].flight.landed() {
		if time.Now().After(deadline) {
			t.Fatal("the held POST did not return")
		}
		time.Sleep(5 * time.Millisecond)
	}
	landed := step(4)
	if landed.Err() == nil || landed.Level != 0 || ctl.State()["web"].Level() != 0 {
		t.Fatalf("step 4: err %v, level %d; want the failure recorded and the change undone", landed.Err(), landed.Level)
	}
	retry := step(5)
	if len(retry.Actions) == 1 && retry.Actions[0].InFlight {
		// A busy machine: the retry outlasted half the step; it lands at
		// the next.
		for !ctl.services[0].flight.landed() {
			if time.Now().After(deadline) {
				t.Fatal("the retry did not return")
			}
			time.Sleep(5 * time.Millisecond)
		}
		retry = step(6)
	}
	if retry.Err() != nil || retry.Level != 1 || len(retry.Actions) != 1 || retry.Actions[0].InFlight {
		t.Fatalf("step 5: %s %+v level %d; want the change retried and applied", retry.Reason, retry.Actions, retry.Level)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("keys %v, want the retry under the first attempt's key", keys)
	}
}
