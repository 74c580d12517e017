package kubetest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterPodsWarmUp creates a StatefulSet of 2 replicas whose pods are
// Ready 3 s after they run: the controller creates them, the scheduler
// places them on the fake nodes, KWOK runs them (Running, not Ready) and
// makes them Ready no sooner than 3 s later; scaled to 0, they go.
func TestClusterPodsWarmUp(t *testing.T) {
	c := StartCluster(t, 2)
	ctx := context.Background()
	const delay = 3 * time.Second
	c.Namespace(t, "db")
	created := time.Now()
	c.StatefulSet(t, "db", "db", 2, delay)
	var running time.Time
	Eventually(t, time.Minute, "2 pods running", func() bool {
		pods, err := c.Client.CoreV1().Pods("db").List(ctx, metav1.ListOptions{LabelSelector: "app=db"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" && p.Status.PodIP != "" {
				n++
			}
		}
		if n == 2 {
			running = time.Now()
		}
		return n == 2
	})
	if r, _ := c.PodsReady(t, "db", "app=db"); r != 0 {
		t.Fatalf("%d pods Ready as soon as they run, want none before %s", r, delay)
	}
	var ready time.Time
	Eventually(t, time.Minute, "the StatefulSet reports 2 ready replicas", func() bool {
		s, err := c.Client.AppsV1().StatefulSets("db").Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready = time.Now()
		return s.Status.ReadyReplicas == 2
	})
	t.Logf("created → running %s, running → Ready %s (delay %s)", running.Sub(created).Round(time.Millisecond), ready.Sub(running).Round(time.Millisecond), delay)
	if ready.Sub(created) < delay {
		t.Errorf("Ready %s after creation, before the delay %s", ready.Sub(created), delay)
	}
	sc, err := c.Client.AppsV1().StatefulSets("db").GetScale(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 0
	if _, err := c.Client.AppsV1().StatefulSets("db").UpdateScale(ctx, "db", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, time.Minute, "no pod left", func() bool {
		pods, err := c.Client.CoreV1().Pods("db").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(pods.Items) == 0
	})
}
