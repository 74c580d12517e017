package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// forgetful is a webhook receiver that holds the value each action's
// POST set, answers reads of it at GET (read URL), remembers the
// idempotency keys it applied, and forgets everything on forget (a
// restart).
type forgetful struct {
	mu     sync.Mutex
	values map[string]float64 // by service/action
	keys   []string           // every POST's key, in order
}

func (f *forgetful) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.values == nil {
		f.values = map[string]float64{}
	}
	if r.Method == http.MethodGet {
		v, ok := f.values[r.URL.Query().Get("service")+"/"+r.URL.Query().Get("action")]
		var out webhook.ReadValue
		if ok {
			out.Value = &v
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var a actuators.Action
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.keys = append(f.keys, r.Header.Get(webhook.IdempotencyHeader))
	f.values[a.Service+"/"+a.Action] = a.To
}

func (f *forgetful) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values = nil
}

func (f *forgetful) posts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

// calm serves a service at a latency that neither engages nor reverts
// (the revert window is long).
type calm string

func (c calm) Read(_ context.Context, now time.Time) (metrics.Snapshot, error) {
	snap := metrics.Snapshot{}
	snap.Set(string(c), metrics.Latency, metrics.Sample{Time: now, Value: 0.2})
	snap.Set(string(c), metrics.Requests, metrics.Sample{Time: now, Value: 50})
	return snap, nil
}

// oneService steps every 200 ms of the wall clock: the idempotency key
// of a re-application is the original's only without -speed (a step time
// under it differs from one run to the next).
const oneService = `
global: {interval: 200ms, history: 1h}
services:
  - name: web
    signals: {latency: {sim: latency_p99}, requests: {sim: requests}}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10s, period: 0s}
    playbook:
      - {name: replicas, actuator: {kind: sim, knob: replicas}, min: 0, max: 3, warmup: 1m, revert_after: 24h}
`

// runFor runs ctl (Run) until cond holds or 20 s pass, and stops it.
func runFor(t *testing.T, ctl *Controller, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("after 20s: %s", what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// restored is the state an earlier run saved: replicas engaged from 0 to 2.
func restored(at time.Time) map[string]policy.State {
	return map[string]policy.State{"web": {
		Engaged: []policy.Engagement{{Step: 0, From: 0, To: 2, At: at}},
		Changed: map[string]time.Time{"replicas": at},
	}}
}

// TestReassertWebhook restarts presage against a webhook receiver that has
// forgotten the engaged change, with and without a read URL. With one,
// presage re-applies the change at start and again whenever a check finds
// the receiver has forgotten it (every ReassertEvery steps), never while
// the receiver holds it; without one, it re-applies at start only. Each
// re-application carries the original change's idempotency key.
func TestReassertWebhook(t *testing.T) {
	cfg, err := config.Load([]byte(oneService), "one.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	want := webhook.IdempotencyKey(actuators.Action{Service: "web", Action: "replicas", Op: actuators.Engage, To: 2, At: at})
	for _, read := range []bool{true, false} {
		t.Run("read_url="+strconv.FormatBool(read), func(t *testing.T) {
			rcv := &forgetful{}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			wc := config.Webhook{URL: srv.URL, Timeout: config.Duration(10 * time.Second)}
			if read {
				wc.ReadURL = srv.URL + "/read"
			}
			w, err := webhook.New(wc, nil)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			steps := 0
			start := func() *Controller {
				ctl, err := New(Options{
					Config: cfg, Source: calm("web"), Mode: policy.Reactive, ReassertEvery: 2,
					Actuators:  map[string][]actuators.Actuator{"web": {w.Actuator("web", "replicas")}},
					State:      restored(at),
					OnDecision: func(Record) { mu.Lock(); steps++; mu.Unlock() },
				})
				if err != nil {
					t.Fatal(err)
				}
				return ctl
			}
			nsteps := func() int { mu.Lock(); defer mu.Unlock(); return steps }
			ctl := start()
			// At start: the change is applied again, once.
			runFor(t, ctl, "re-applied at start, then six more steps", func() bool {
				return len(rcv.posts()) >= 1 && nsteps() >= 7
			})
			if got := rcv.posts(); len(got) != 1 || got[0] != want {
				t.Fatalf("POSTs %v, want one with the original key %s", got, want)
			}
			// The receiver restarts: a read URL shows it at the next
			// check; without one nothing does until presage restarts.
			rcv.forget()
			n := nsteps()
			runFor(t, ctl, "six more steps", func() bool { return nsteps() >= n+6 })
			got := rcv.posts()
			switch {
			case read && (len(got) != 2 || got[1] != want):
				t.Errorf("POSTs %v, want the change applied again once after the receiver forgot it, with key %s", got, want)
			case !read && len(got) != 1:
				t.Errorf("POSTs %v, want none more without a read URL", got)
			}
			if st := ctl.State()["web"]; st.Level() != 1 || st.Engaged[0].To != 2 {
				t.Errorf("state %+v, want replicas still engaged at 2", st)
			}
			if read {
				return
			}
			// presage restarts: it applies the change again at start.
			runFor(t, start(), "re-applied at the restart", func() bool { return len(rcv.posts()) >= 2 })
			if got := rcv.posts(); len(got) != 2 || got[1] != want {
				t.Errorf("POSTs %v, want one more at the restart, with key %s", got, want)
			}
		})
	}
}

// TestReassertSimKnob restarts presage in front of a fresh simulated plant
// (sim.Knob: instant, and a Reader): the engaged change the state holds is
// set on the plant again at the first step, in the step.
func TestReassertSimKnob(t *testing.T) {
	cfg, err := config.Load([]byte(oneService), "one.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plant := sim.NewPlant(config.Plant{}, 1)
	knob := sim.NewKnob(plant, sim.KnobReplicas)
	before, err := knob.Current(t.Context())
	if err != nil || before == 2 {
		t.Fatalf("a fresh plant's replicas: %v, %v", before, err)
	}
	var mu sync.Mutex
	var recs []Record
	ctl, err := New(Options{
		Config: cfg, Source: calm("web"), Mode: policy.Reactive,
		Actuators:  map[string][]actuators.Actuator{"web": {knob}},
		State:      restored(time.Now().Add(-time.Hour)),
		OnDecision: func(r Record) { mu.Lock(); recs = append(recs, r); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, ctl, "a first step", func() bool { mu.Lock(); defer mu.Unlock(); return len(recs) > 0 })
	if v, _ := knob.Current(t.Context()); v != 2 {
		t.Errorf("the plant's replicas = %v after the first step, want the engaged 2", v)
	}
	mu.Lock()
	defer mu.Unlock()
	if a := recs[0].Actions; len(a) != 1 || a[0].Reason != actuators.Reapplied || a[0].To != 2 || a[0].Err != nil {
		t.Errorf("first step's actions %+v, want the change re-applied (%s)", a, actuators.Reapplied)
	}
}

// TestReassertSimServe restarts `presage sim serve` (a new sim.Server
// behind the same address) under a running presage whose webhook has the
// server's read URL: presage sets the engaged change on the first server at
// start, and on the restarted one at the next check.
func TestReassertSimServe(t *testing.T) {
	cfg, err := config.Load([]byte(oneService), "one.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var cur *sim.Server
	serve := func() *sim.Server {
		s, err := sim.NewServer(cfg, sim.ServeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		cur = s
		mu.Unlock()
		return s
	}
	first := serve()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := cur
		mu.Unlock()
		s.ServeHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	w, err := webhook.New(config.Webhook{URL: srv.URL + "/actions", ReadURL: srv.URL + "/actions", Timeout: config.Duration(10 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	replicas := func(s *sim.Server) float64 {
		mu.Lock()
		defer mu.Unlock()
		v, _ := s.Plant("web").Get(sim.KnobReplicas)
		return v
	}
	if replicas(first) == 2 {
		t.Fatal("a fresh simulator already has the engaged replicas")
	}
	ctl, err := New(Options{
		Config: cfg, Source: calm("web"), Mode: policy.Reactive, ReassertEvery: 2,
		Actuators: map[string][]actuators.Actuator{"web": {w.Actuator("web", "replicas")}},
		State:     restored(time.Now().Add(-time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var second *sim.Server
	runFor(t, ctl, "the simulator, then the restarted one, set to the engaged replicas", func() bool {
		if second == nil {
			if replicas(first) != 2 {
				return false
			}
			second = serve() // sim serve restarts: its plant starts afresh
			return false
		}
		return replicas(second) == 2
	})
}
