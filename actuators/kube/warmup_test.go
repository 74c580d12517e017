package kube

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
)

// TestWarmupObserved scales a Deployment up through the replicas actuator
// and plays its controller by writing status.readyReplicas: the warm-up is
// observed once the ready replicas reach the count set, not before; one
// longer than the configured warmup is counted and logged as such, a
// shorter one is not; a revert before the pods are Ready leaves the
// warm-up unobserved.
func TestWarmupObserved(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	const ns = "warm"
	env.Namespace(t, ns)
	env.Deployment(t, ns, "db", 1, corev1.ResourceRequirements{})
	setReady := func(n int32) {
		t.Helper()
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Status.Replicas, d.Status.ReadyReplicas = n, n
		if _, err := env.Client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setReady(1)

	c, reg := newClient(t, env)
	now := t0
	c.now = func() time.Time { return now }
	kk := config.DefaultKube
	kk.Target, kk.Namespace, kk.Name = config.KubeReplicas, ns, "db"
	act, err := c.New("checkout", config.Action{Name: "act", Min: 1, Max: 5, Warmup: config.Duration(30 * time.Second),
		Actuator: config.Actuator{Kind: config.ActuatorKube, Kube: kk}})
	if err != nil {
		t.Fatal(err)
	}
	metric := func(name string) float64 {
		t.Helper()
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return -1
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			m := mf.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
		return -1
	}
	apply := func(a actuators.Action) {
		t.Helper()
		if err := act.Apply(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	// 45 s to Ready against a configured 30 s.
	apply(engage(3))
	now = now.Add(10 * time.Second)
	setReady(2)
	c.pollWarmups(ctx)
	if v := metric("presage_observed_warmup_seconds"); v != -1 {
		t.Fatalf("observed warm-up %v with 2 of 3 replicas ready, want none yet", v)
	}
	now = now.Add(35 * time.Second)
	setReady(3)
	c.pollWarmups(ctx)
	if v := metric("presage_observed_warmup_seconds"); v != 45 {
		t.Fatalf("observed warm-up %v s, want 45", v)
	}
	if v := metric("presage_warmup_exceeded_total"); v != 1 {
		t.Fatalf("presage_warmup_exceeded_total %v, want 1 (45 s > 30 s)", v)
	}
	c.pollWarmups(ctx) // observed once only
	if v := metric("presage_warmup_exceeded_total"); v != 1 {
		t.Fatalf("presage_warmup_exceeded_total %v after a second poll, want 1", v)
	}

	// Revert, then 20 s to Ready: within the configured 30 s.
	apply(revert(3, 1))
	setReady(1)
	apply(engage(4))
	now = now.Add(20 * time.Second)
	setReady(4)
	c.pollWarmups(ctx)
	if v := metric("presage_observed_warmup_seconds"); v != 20 {
		t.Fatalf("observed warm-up %v s, want 20", v)
	}
	if v := metric("presage_warmup_exceeded_total"); v != 1 {
		t.Fatalf("presage_warmup_exceeded_total %v, want still 1 (20 s ≤ 30 s)", v)
	}

	// Reverted before Ready: unobserved, the last observation kept.
	apply(revert(4, 1))
	setReady(1)
	apply(engage(2))
	now = now.Add(5 * time.Second)
	apply(revert(2, 1))
	setReady(2)
	c.pollWarmups(ctx)
	if v := metric("presage_warmup_unobserved_total"); v != 1 {
		t.Fatalf("presage_warmup_unobserved_total %v, want 1", v)
	}
	if v := metric("presage_observed_warmup_seconds"); v != 20 {
		t.Fatalf("observed warm-up %v s after an unobserved one, want 20 kept", v)
	}
}
