package leader

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// knob is a real actuator stand-in: it holds a value and counts applies.
type knob struct {
	mu      sync.Mutex
	value   float64
	applied []actuators.Action
	fail    error
	read    bool // implements Current
}

func (k *knob) Apply(_ context.Context, a actuators.Action) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail != nil {
		return k.fail
	}
	k.applied = append(k.applied, a)
	k.value = a.To
	return nil
}

func (k *knob) Applied() []actuators.Action {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]actuators.Action(nil), k.applied...)
}

// readingKnob is a knob that can read its value.
type readingKnob struct{ *knob }

func (k readingKnob) Current(context.Context) (float64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.value, nil
}

// trackingKnob is a readingKnob that records its changes on its target
// (it reports none: the Gate only asks whether it tracks).
type trackingKnob struct{ readingKnob }

func (trackingKnob) Tracked(context.Context) (actuators.Tracked, bool, error) {
	return actuators.Tracked{}, false, nil
}

func testElector(t *testing.T, reg prometheus.Registerer) *Elector {
	t.Helper()
	e, err := New(Options{Config: config.DefaultLeaderElection, Client: fake.NewClientset(), Identity: "a", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestGate shows that a follower's Gate applies nothing, a leader's applies
// everything, and taking over applies the last action decided while
// following unless the target already holds its value.
func TestGate(t *testing.T) {
	engage := actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Engage, From: 2, To: 4}
	revert := actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Revert, From: 4, To: 2}
	tests := []struct {
		name      string
		start     float64 // the real knob's value
		reader    bool
		tracker   bool               // the real actuator records its changes on the target
		following []actuators.Action // applied while following
		wantTake  []float64          // Tos applied at take-over
	}{
		{name: "nothing decided", start: 2, reader: true},
		{name: "engaged while following", start: 2, reader: true, following: []actuators.Action{engage}, wantTake: []float64{4}},
		{name: "the last decision wins", start: 2, reader: true, following: []actuators.Action{engage, revert}},
		{name: "the old leader did the same", start: 4, reader: true, following: []actuators.Action{engage}},
		{name: "the old leader engaged, this one reverted", start: 4, reader: true, following: []actuators.Action{engage, revert}, wantTake: []float64{2}},
		{name: "cannot read: applies", start: 4, following: []actuators.Action{engage}, wantTake: []float64{4}},
		// A tracking target is reconciled instead (OnTakeOver): nothing is
		// replayed.
		{name: "tracking: engaged while following", start: 2, reader: true, tracker: true, following: []actuators.Action{engage}},
		{name: "tracking: the old leader engaged, this one reverted", start: 4, reader: true, tracker: true, following: []actuators.Action{engage, revert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			e := testElector(t, reg)
			k := &knob{value: tt.start}
			var real actuators.Actuator = k
			if tt.reader {
				real = readingKnob{k}
			}
			if tt.tracker {
				real = trackingKnob{readingKnob{k}}
			}
			g := e.Gate(real)
			if g.Unwrap() != real {
				t.Error("Unwrap is not the real actuator")
			}
			hooked := 0
			e.OnTakeOver(func() { hooked++ })
			ctx := context.Background()
			for _, a := range tt.following {
				if err := g.Apply(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(k.Applied()); n != 0 {
				t.Fatalf("a follower applied %d actions", n)
			}
			got := testutil.ToFloat64(e.recorded.WithLabelValues("checkout", "replicas", "engage")) +
				testutil.ToFloat64(e.recorded.WithLabelValues("checkout", "replicas", "revert"))
			if got != float64(len(tt.following)) {
				t.Errorf("presage_follower_actions_total = %g, want %d", got, len(tt.following))
			}
			e.started(ctx)
			if got := testutil.ToFloat64(e.gauge); got != 1 {
				t.Errorf("presage_leader = %g after taking over, want 1", got)
			}
			if hooked != 1 {
				t.Errorf("OnTakeOver's function ran %d times, want 1", hooked)
			}
			var tos []float64
			for _, a := range k.Applied() {
				tos = append(tos, a.To)
			}
			if !equal(tos, tt.wantTake) {
				t.Errorf("take-over applied %v, want %v", tos, tt.wantTake)
			}
			// Leading, every action goes through; nothing is left to take over.
			if err := g.Apply(ctx, engage); err != nil {
				t.Fatal(err)
			}
			if n := len(k.Applied()); n != len(tt.wantTake)+1 {
				t.Errorf("the leader's action was not applied: %d applies", n)
			}
			e.stopped()
			if got := testutil.ToFloat64(e.gauge); got != 0 {
				t.Errorf("presage_leader = %g after losing the lease, want 0", got)
			}
			if err := g.Apply(ctx, revert); err != nil {
				t.Fatal(err)
			}
			if n := len(k.Applied()); n != len(tt.wantTake)+1 {
				t.Errorf("applied after losing the lease: %d applies", n)
			}
		})
	}
}

// TestGateTakeOverFails keeps the recorded action when applying it fails at
// take-over, and a later change replaces it.
func TestGateTakeOverFails(t *testing.T) {
	e := testElector(t, nil)
	k := &knob{value: 2, fail: errors.New("refused")}
	g := e.Gate(readingKnob{k})
	ctx := context.Background()
	a := actuators.Action{Service: "s", Action: "a", Op: actuators.Engage, From: 2, To: 4, At: time.Unix(0, 0)}
	if err := g.Apply(ctx, a); err != nil {
		t.Fatal(err)
	}
	e.started(ctx)
	if g.pending == nil {
		t.Fatal("a failed take-over dropped the recorded action")
	}
	if err := g.Apply(ctx, a); err == nil {
		t.Fatal("the leader's failed apply returned nil")
	}
	k.mu.Lock()
	k.fail = nil
	k.mu.Unlock()
	if err := g.Apply(ctx, a); err != nil {
		t.Fatal(err)
	}
	if g.pending != nil {
		t.Error("an applied change left the recorded action pending")
	}
	if _, err := e.Gate(&knob{}).Current(ctx); !errors.Is(err, errNoReader) {
		t.Errorf("Current of an actuator that cannot read: %v, want errNoReader", err)
	}
}

func TestNewValidates(t *testing.T) {
	bad := config.DefaultLeaderElection
	bad.RenewDeadline = bad.LeaseDuration
	if _, err := New(Options{Config: bad, Client: fake.NewClientset()}); err == nil {
		t.Error("renew_deadline = lease_duration accepted")
	}
	if _, err := New(Options{Config: config.DefaultLeaderElection}); err == nil {
		t.Error("no client accepted")
	}
	e, err := New(Options{Config: config.DefaultLeaderElection, Client: fake.NewClientset()})
	if err != nil {
		t.Fatal(err)
	}
	if e.Identity() == "" {
		t.Error("empty default identity")
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
