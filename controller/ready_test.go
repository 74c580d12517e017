package controller

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

// TestSaveFailureMakesUnready checks that a state file that cannot be
// saved is counted, turns Ready false with words that say so, is tried
// again at every step, and that one good save makes the controller ready
// again.
func TestSaveFailureMakesUnready(t *testing.T) {
	src := &script{lat: repeat(2, 20), load: repeat(500, 20)} // an incident: reactive engages
	h := newHarness(t, policy.Reactive, src)
	saveErr := errors.New("open /nonexistent/state.json: no such file or directory")
	var saves int
	h.ctl.onState = func(map[string]policy.State) error { saves++; return saveErr }
	for i := range 5 {
		if err := h.ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil && !errors.Is(err, saveErr) {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if saves == 0 {
		t.Fatal("no save was attempted: the scenario engaged nothing")
	}
	err := h.ctl.Ready(time.Hour)
	if err == nil || !strings.Contains(err.Error(), "state file could not be saved") {
		t.Fatalf("Ready = %v, want the state file named", err)
	}
	if strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("Ready quotes the save's error: %v", err)
	}
	failed := testutil.ToFloat64(h.ctl.tel.saveFailures)
	if failed < 1 || int(failed) != saves {
		t.Errorf("presage_state_save_failures_total = %v after %d failed saves", failed, saves)
	}
	before := saves
	saveErr = nil
	if err := h.ctl.Step(context.Background(), t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if saves != before+1 {
		t.Errorf("%d saves in the step after a failure, want 1 (tried again)", saves-before)
	}
	if err := h.ctl.Ready(time.Hour); err != nil {
		t.Errorf("Ready after a good save = %v", err)
	}
}

// slowSource is a source whose every read takes d of the (fake) clock.
type slowSource struct {
	d atomic.Int64 // a time.Duration
	metrics.Source
}

func (s *slowSource) Read(ctx context.Context, now time.Time) (metrics.Snapshot, error) {
	time.Sleep(time.Duration(s.d.Load()))
	return s.Source.Read(ctx, now)
}

// TestOverrunsMakeUnready checks that Run counts the steps that take longer
// than their interval, and that Ready turns false after maxOverruns of
// them in a row and true again after a step that keeps to it.
func TestOverrunsMakeUnready(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &script{lat: repeat(0.1, 100), load: repeat(50, 100)}
		slow := &slowSource{Source: src}
		slow.d.Store(int64(61 * time.Second)) // the interval is 1m
		h := newHarness(t, policy.Predictive, slow)
		h.ctl.local = true // no read timeout: the read is slow, not failed
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.ctl.Run(ctx) }()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		err := h.ctl.Ready(time.Hour)
		if err == nil || !strings.Contains(err.Error(), "took longer than the interval") {
			t.Errorf("Ready = %v after slow steps, want overruns named", err)
		}
		if n := testutil.ToFloat64(h.ctl.tel.overruns); n < maxOverruns {
			t.Errorf("presage_step_overruns_total = %v, want >= %d", n, maxOverruns)
		}
		slow.d.Store(0)
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if err := h.ctl.Ready(time.Hour); err != nil {
			t.Errorf("Ready = %v once the steps keep to the interval", err)
		}
		cancel()
		<-done
	})
}
