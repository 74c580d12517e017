package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// TestWebhookTargetDown runs the loop against a webhook target that is
// down for a while: the action is recorded as failed, the loop goes on,
// and once the target is back the change is applied exactly once.
func TestWebhookTargetDown(t *testing.T) {
	var mu sync.Mutex
	down := true
	keys := map[string]int{} // idempotency key → times applied
	var attempts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		keys[r.Header.Get(webhook.IdempotencyHeader)]++
	}))
	defer srv.Close()

	wh, err := webhook.New(config.Webhook{URL: srv.URL, Timeout: config.Duration(time.Second), Retries: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &script{lat: repeat(0.9, 20), load: repeat(50, 20)}
	h := newHarness(t, policy.Reactive, src, wh, actuators.NewRecorder(nil))
	ctx := context.Background()
	for i := range 5 {
		if i == 4 {
			mu.Lock()
			down = false
			mu.Unlock()
		}
		if err := h.ctl.Step(ctx, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// The incident fires at step 2: steps 2 and 3 fail, step 4 succeeds.
	for i, want := range []bool{false, false, true, true, false} {
		if got := h.recs[i].Err() != nil; got != want {
			t.Errorf("step %d: failed %v, want %v (%v)", i, got, want, h.recs[i].Err())
		}
	}
	if h.recs[4].Level != 1 || h.recs[3].Level != 0 {
		t.Errorf("levels %d then %d, want 0 while down and 1 once applied", h.recs[3].Level, h.recs[4].Level)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts < 5 {
		t.Errorf("%d attempts, want the webhook's own retries too", attempts)
	}
	if len(keys) != 1 {
		t.Fatalf("applied under %d idempotency keys, want 1: %v", len(keys), keys)
	}
	for _, n := range keys {
		if n != 1 {
			t.Errorf("applied %d times, want once", n)
		}
	}
	mf, _ := h.reg.Gather()
	var failed, ok float64
	for _, f := range mf {
		if f.GetName() != "presage_actions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					if l.GetValue() == "failed" {
						failed += m.GetCounter().GetValue()
					} else {
						ok += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	if failed != 2 || ok != 1 {
		t.Errorf("presage_actions_total failed %v ok %v, want 2 and 1", failed, ok)
	}
}
