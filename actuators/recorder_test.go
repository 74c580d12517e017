package actuators_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func TestRecorderRecordsAndCallsBack(t *testing.T) {
	var got []actuators.Action
	r := actuators.NewRecorder(func(a actuators.Action) { got = append(got, a) })
	want := []actuators.Action{
		{Service: "checkout", Action: "queue", Op: actuators.Engage, From: 0, To: 1, Reason: "Escalate", Risk: 0.8, At: t0},
		{Service: "checkout", Action: "queue", Op: actuators.Revert, From: 1, To: 0, Reason: "RiskCleared", Risk: 0.1, At: t0.Add(time.Hour)},
	}
	for _, a := range want {
		if err := r.Apply(t.Context(), a); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	recs := r.Records()
	if len(recs) != len(want) || len(got) != len(want) {
		t.Fatalf("Records() has %d, callback saw %d, want %d", len(recs), len(got), len(want))
	}
	for i := range want {
		if recs[i] != want[i] || got[i] != want[i] {
			t.Errorf("action %d: recorded %+v, callback %+v, want %+v", i, recs[i], got[i], want[i])
		}
	}

	// Records returns a copy.
	recs[0].To = 42
	if r.Records()[0].To != 1 {
		t.Error("changing the slice Records returned changed the recorder")
	}
}

func TestRecorderNilCallback(t *testing.T) {
	r := actuators.NewRecorder(nil)
	if err := r.Apply(t.Context(), actuators.Action{Service: "s", Action: "a", To: 1}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := len(r.Records()); n != 1 {
		t.Fatalf("got %d records, want 1", n)
	}
}

func TestRecorderCancelledContext(t *testing.T) {
	r := actuators.NewRecorder(func(actuators.Action) { t.Error("callback called for a cancelled Apply") })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Apply(ctx, actuators.Action{Service: "s", Action: "a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled ctx: got %v, want context.Canceled", err)
	}
	if n := len(r.Records()); n != 0 {
		t.Fatalf("got %d records, want 0", n)
	}
}

func TestRecorderReader(t *testing.T) {
	r := actuators.NewRecorder(nil)
	r.SetBaseline("checkout", "replicas", 1)
	apply := func(service, action string, to float64) {
		t.Helper()
		if err := r.Apply(t.Context(), actuators.Action{Service: service, Action: action, Op: actuators.Engage, To: to, At: t0}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}

	tests := []struct {
		name            string
		apply           func()
		service, action string
		want            float64
		wantErr         error
	}{
		{name: "baseline before any action", service: "checkout", action: "replicas", want: 1},
		{name: "no baseline no action", service: "checkout", action: "queue", wantErr: actuators.ErrNoValue},
		{name: "zero is a value, not a sentinel", apply: func() { apply("checkout", "queue", 0) }, service: "checkout", action: "queue", want: 0},
		{name: "last To wins over baseline", apply: func() { apply("checkout", "replicas", 3) }, service: "checkout", action: "replicas", want: 3},
		{name: "last of several", apply: func() { apply("checkout", "replicas", 2) }, service: "checkout", action: "replicas", want: 2},
		{name: "other service untouched", service: "search", action: "replicas", wantErr: actuators.ErrNoValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.apply != nil {
				tt.apply()
			}
			got, err := r.Reader(tt.service, tt.action).Current(t.Context())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Current: err %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("Current = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecorderConcurrent(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	r := actuators.NewRecorder(func(actuators.Action) {
		mu.Lock()
		calls++
		mu.Unlock()
	})
	rd := r.Reader("s", "a")
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_ = r.Apply(t.Context(), actuators.Action{Service: "s", Action: "a", To: float64(i)})
			_, _ = rd.Current(t.Context())
			_ = r.Records()
		})
	}
	wg.Wait()
	if got := len(r.Records()); got != n || calls != n {
		t.Fatalf("got %d records and %d callbacks, want %d", got, calls, n)
	}
}

// planningReader reads a fixed value and plans a fixed step.
type planningReader struct{ v float64 }

func (p planningReader) Apply(context.Context, actuators.Action) error { return errors.New("applied") }
func (p planningReader) Current(context.Context) (float64, error)      { return p.v, nil }
func (p planningReader) Plan(_ context.Context, a actuators.Action) (actuators.Action, string, string, error) {
	a.To = p.v + 1
	return a, "Planned", "one step", nil
}

func TestRecorderKnob(t *testing.T) {
	ctx := context.Background()
	rec := actuators.NewRecorder(nil)
	rec.SetBaseline("svc", "queue", 0)

	alone := rec.Knob("svc", "queue", nil)
	if _, ok := alone.(actuators.Planner); ok {
		t.Error("a knob without a real actuator plans")
	}
	a := actuators.Action{Service: "svc", Action: "queue", Op: actuators.Engage, From: 0, To: 1}
	if err := alone.Apply(ctx, a); err != nil {
		t.Fatal(err)
	}
	if v, err := alone.(actuators.Reader).Current(ctx); err != nil || v != 1 {
		t.Errorf("Current = %v, %v; want the recorded 1", v, err)
	}

	real := planningReader{v: 3}
	k := rec.Knob("svc", "replicas", real)
	if err := k.Apply(ctx, actuators.Action{Service: "svc", Action: "replicas", Op: actuators.Engage, From: 3, To: 5}); err != nil {
		t.Fatalf("Apply reached the real actuator: %v", err)
	}
	if v, _ := k.(actuators.Reader).Current(ctx); v != 3 {
		t.Errorf("Current = %v, want the real target's 3", v)
	}
	p, ok := k.(actuators.Planner)
	if !ok {
		t.Fatal("a knob over a planner does not plan")
	}
	if got, reason, _, _ := p.Plan(ctx, a); got.To != 4 || reason != "Planned" {
		t.Errorf("Plan = %v %q; want the real actuator's plan", got.To, reason)
	}
	if n := len(rec.Records()); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
}
