package leader

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
)

// replica is one presage replica of the test: an Elector and a Gate on its
// own stand-in actuator, campaigning until stop.
type replica struct {
	e    *Elector
	k    *knob
	g    *Gate
	stop context.CancelFunc
	done chan struct{}
}

func startReplica(t *testing.T, cs kubernetes.Interface, lease config.LeaderElection, id string, keep bool) *replica {
	t.Helper()
	e, err := New(Options{Config: lease, Client: cs, Identity: id, KeepOnStop: keep, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	k := &knob{value: 2}
	r := &replica{e: e, k: k, g: e.Gate(readingKnob{k}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = func() { cancel(); <-r.done }
	go func() {
		defer close(r.done)
		if err := e.Run(ctx); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// waitFor polls cond every 50ms until it holds or the generous deadline
// passes.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not within %s", what, deadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestElection runs two replicas against a real API server: exactly one
// leads and applies, the other records; when the leader stops (cleanly,
// releasing the Lease, or as if it crashed, keeping it) the other takes over
// and applies what it decided while following.
func TestElection(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "presage")
	tests := []struct {
		name string
		keep bool // the leader keeps the lease when it stops (a crash)
	}{
		{name: "clean stop releases the lease"},
		{name: "crash keeps the lease until it expires", keep: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := config.LeaderElection{Enabled: true, Namespace: "presage", Name: fmt.Sprintf("presage-%d", i),
				LeaseDuration: config.Duration(3 * time.Second), RenewDeadline: config.Duration(2 * time.Second),
				RetryPeriod: config.Duration(250 * time.Millisecond)}
			a := startReplica(t, env.Client, lease, "a", tt.keep)
			waitFor(t, "a leads", 30*time.Second, a.e.Leading)
			b := startReplica(t, env.Client, lease, "b", tt.keep)
			// b observes the lease held: give it several retry periods.
			time.Sleep(time.Second)
			if b.e.Leading() {
				t.Fatal("two leaders")
			}
			if got := testutil.ToFloat64(b.e.gauge); got != 0 {
				t.Errorf("b: presage_leader = %g, want 0", got)
			}
			holder := func() string {
				l, err := env.Client.CoordinationV1().Leases("presage").Get(context.Background(), lease.Name, metav1.GetOptions{})
				if err != nil || l.Spec.HolderIdentity == nil {
					return ""
				}
				return *l.Spec.HolderIdentity
			}
			if h := holder(); h != "a" {
				t.Fatalf("lease holder %q, want a", h)
			}

			// Both decide the same action: only the leader applies it.
			ctx := context.Background()
			act := actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Engage, From: 2, To: 4}
			for _, r := range []*replica{a, b} {
				if err := r.g.Apply(ctx, act); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(a.k.Applied()); n != 1 {
				t.Errorf("leader applied %d actions, want 1", n)
			}
			if n := len(b.k.Applied()); n != 0 {
				t.Errorf("follower applied %d actions, want 0", n)
			}

			a.stop()
			if a.e.Leading() {
				t.Error("a still leads after stopping")
			}
			took := waitFor(t, "b takes over", 30*time.Second, b.e.Leading)
			t.Logf("b took over %s after a stopped (lease %s, retry %s)", took.Round(10*time.Millisecond), time.Duration(lease.LeaseDuration), time.Duration(lease.RetryPeriod))
			if h := holder(); h != "b" {
				t.Errorf("lease holder %q, want b", h)
			}
			// b's own target did not hold 4: the take-over applied it.
			if got := b.k.Applied(); len(got) != 1 || got[0].To != 4 {
				t.Errorf("take-over applied %v, want the engage to 4", got)
			}
			if err := b.g.Apply(ctx, actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Revert, From: 4, To: 2}); err != nil {
				t.Fatal(err)
			}
			if n := len(b.k.Applied()); n != 2 {
				t.Errorf("the new leader applied %d actions, want 2", n)
			}
			if got := testutil.ToFloat64(b.e.gauge); got != 1 {
				t.Errorf("b: presage_leader = %g, want 1", got)
			}
		})
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TestElectionLost shows a leader that loses the Lease (another holder took
// it: a renewal it could not make) stops applying at once, records
// instead, and leads again once the other holder's lease expires.
func TestElectionLost(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "presage")
	lease := config.LeaderElection{Enabled: true, Namespace: "presage", Name: "presage",
		LeaseDuration: config.Duration(3 * time.Second), RenewDeadline: config.Duration(2 * time.Second),
		RetryPeriod: config.Duration(250 * time.Millisecond)}
	a := startReplica(t, env.Client, lease, "a", false)
	waitFor(t, "a leads", 30*time.Second, a.e.Leading)

	// An intruder takes the Lease for 10s: a stops leading within its
	// renew deadline, well before that.
	ctx := context.Background()
	leases := env.Client.CoordinationV1().Leases("presage")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Get(ctx, "presage", metav1.GetOptions{})
		if err != nil {
			return err
		}
		id, secs, now := "intruder", int32(10), metav1.NowMicro()
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = &id, &secs, &now, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lost := waitFor(t, "a loses the lease", 30*time.Second, func() bool { return !a.e.Leading() })
	t.Logf("a stopped leading %s after the intruder took the lease (renew deadline %s)", lost.Round(10*time.Millisecond), time.Duration(lease.RenewDeadline))
	act := actuators.Action{Service: "checkout", Action: "replicas", Op: actuators.Engage, From: 2, To: 4}
	if err := a.g.Apply(ctx, act); err != nil {
		t.Fatal(err)
	}
	if n := len(a.k.Applied()); n != 0 {
		t.Fatalf("applied %d actions without the lease", n)
	}
	waitFor(t, "a leads again", 30*time.Second, a.e.Leading)
	if got := a.k.Applied(); len(got) != 1 || got[0].To != 4 {
		t.Errorf("on leading again applied %v, want the engage recorded meanwhile", got)
	}
}
