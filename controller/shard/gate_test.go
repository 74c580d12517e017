package shard

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// knob counts what was applied to it.
type knob struct {
	mu      sync.Mutex
	applied []actuators.Action
}

func (k *knob) Apply(_ context.Context, a actuators.Action) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.applied = append(k.applied, a)
	return nil
}

func (k *knob) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.applied)
}

// TestGate drives a Membership by hand on a fake clock and checks its
// Gate at each stage: nothing applies during the hand-off; then only the
// services Owner gives this member apply, the others are recorded; a
// member whose Lease expired is dropped on a list after its expiry, not
// before; and a member that has neither renewed nor listed for
// renew_deadline applies nothing (the fence).
func TestGate(t *testing.T) {
	cs := fake.NewClientset()
	cfg := config.LeaderElection{Enabled: true, Namespace: "presage", Name: "presage", Replicas: 2,
		LeaseDuration: config.Duration(4 * time.Second), RenewDeadline: config.Duration(3 * time.Second),
		RetryPeriod: config.Duration(time.Second)}
	services := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	m, err := New(Options{Config: cfg, Client: cs, Identity: "A_1", Services: services})
	if err != nil {
		t.Fatal(err)
	}
	if m.Identity() != "a-1" {
		t.Errorf("identity %q, want a-1 (a Lease name's label)", m.Identity())
	}
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	k := &knob{}
	g := m.Gate(k)
	apply := func(s string) {
		t.Helper()
		if err := g.Apply(ctx, actuators.Action{Service: s, Action: "queue", Op: actuators.Engage, From: 0, To: 1}); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(d time.Duration) { // renew and list, as Run does
		now = now.Add(d)
		m.renew(ctx)
		m.list(ctx)
	}

	tick(0)
	if got := m.Members(); len(got) != 1 || got[0] != "a-1" {
		t.Fatalf("members %v, want [a-1]", got)
	}
	apply("s0")
	if k.count() != 0 || m.Owns("s0") {
		t.Fatal("applied during the hand-off")
	}
	if got := testutil.ToFloat64(m.recorded.WithLabelValues("s0", "queue", "engage")); got != 1 {
		t.Errorf("presage_follower_actions_total = %g, want 1", got)
	}

	// b joins, its Lease renewed now.
	renewB := func(at time.Time) {
		secs := int32(4)
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "presage-member-b", Namespace: "presage", Labels: map[string]string{Label: "presage"}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo("b"), LeaseDurationSeconds: &secs, RenewTime: &metav1.MicroTime{Time: at}}}
		if _, err := cs.CoordinationV1().Leases("presage").Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			if _, err := cs.CoordinationV1().Leases("presage").Create(ctx, l, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	renewB(now)
	tick(time.Second)
	tick(time.Second)
	tick(time.Second) // the hand-off (3s) has passed
	mine := map[string]bool{}
	for _, s := range services {
		mine[s] = Owner(s, []string{"a-1", "b"}) == "a-1"
		if got := m.Owns(s); got != mine[s] {
			t.Errorf("Owns(%s) = %v, want %v", s, got, mine[s])
		}
		apply(s)
	}
	want := 0
	for _, s := range services {
		if mine[s] {
			want++
		}
	}
	if want == 0 || want == len(services) {
		t.Fatalf("a-1 owns %d of %d services: the test needs a split", want, len(services))
	}
	if k.count() != want {
		t.Errorf("applied %d actions, want %d (the services a-1 owns)", k.count(), want)
	}
	if st := m.Status(); !st.Acting || len(st.Owned) != want || len(st.Members) != 2 {
		t.Errorf("status %+v, want acting on %d services of 2 members", st, want)
	}

	// b's Lease, renewed 3s ago, expires at 4s: a list that starts
	// before that keeps it, one that starts at its expiry drops it.
	tick(time.Second - time.Millisecond)
	if len(m.Members()) != 2 {
		t.Fatalf("b dropped before its Lease expired: %v", m.Members())
	}
	tick(time.Millisecond)
	if got := m.Members(); len(got) != 1 {
		t.Fatalf("members %v after b's Lease expired, want a-1 alone", got)
	}
	for _, s := range services {
		if !m.Owns(s) {
			t.Errorf("%s: not owned by the last member", s)
		}
	}

	// The fence: no renewal, no list for renew_deadline.
	now = now.Add(3 * time.Second)
	before := k.count()
	apply("s0")
	if k.count() != before || m.Owns("s0") {
		t.Error("a member that has not renewed for renew_deadline applied")
	}
	// Renewing again after the fence rejoins: a new hand-off.
	tick(0)
	if m.Owns("s0") {
		t.Error("acting at once after being fenced, without a hand-off")
	}
	tick(time.Second)
	tick(time.Second)
	tick(time.Second)
	if !m.Owns("s0") {
		t.Error("not acting after the hand-off")
	}
	m.stop(ctx)
	if m.Owns("s0") {
		t.Error("acting after stop")
	}
	if _, err := cs.CoordinationV1().Leases("presage").Get(ctx, "presage-member-a-1", metav1.GetOptions{}); err == nil {
		t.Error("the member Lease is still there after a clean stop")
	}
}
