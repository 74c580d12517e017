package main

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/internal/kubetest"
)

// kubeRunConfig is a hot simulated service whose playbook changes
// Kubernetes objects in namespace %[1]s: a ConfigMap flag, then a
// Deployment's replicas within a connection budget of 3.
const kubeRunConfig = `global:
  listen: ""
services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 1}
    playbook:
      - name: async-queue
        actuator: {kind: kube, kube: {target: flag, namespace: %[1]s, name: flags, key: queue}}
      - name: read-replicas
        actuator:
          kind: kube
          kube:
            target: replicas
            namespace: %[1]s
            name: db
            connections: {max_connections: 300, per_replica: 100}
        min: 1
        max: 5
    sim:
      load: {peak: 3, daily: 0, bursts: 0, flash_crowds: 0, duration: 1d}
`

// TestRunKube runs the presage binary with kube actions against a real
// API server: run changes the objects (the replicas capped by the
// connection budget, said in its log); a restarted presage finds the
// changes on the objects; recommend reads them and changes nothing.
func TestRunKube(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	const ns = "shop"
	env.Namespace(t, ns)
	env.ConfigMap(t, ns, "flags", map[string]string{"queue": "false"})
	env.Deployment(t, ns, "db", 2, corev1.ResourceRequirements{})
	dir := t.TempDir()
	cfg := writeTestFile(t, dir, "kube.yaml", fmt.Sprintf(kubeRunConfig, ns))
	kc := kubetest.Kubeconfig(t, env.Config)
	objects := func() (string, int32, map[string]string) {
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "flags", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["queue"], *d.Spec.Replicas, d.Annotations
	}

	p := startPresage(t, "run", "-config", cfg, "-kubeconfig", kc, "-policy", "static", "-speed", "600")
	p.waitFor(t, &p.stderr, regexp.MustCompile(`reason=ConnectionBudget .*action=read-replicas op=engage to=3`), startTimeout)
	p.signal(t, syscall.SIGTERM)
	flag, n, ann := objects()
	if flag != "true" || n != 3 || ann["presage.dev/original-replicas"] != "2" {
		t.Fatalf("after run: flag %s, %d replicas, annotations %v; want true, 3 from 2", flag, n, ann)
	}

	p = startPresage(t, "recommend", "-config", cfg, "-kubeconfig", kc, "-json")
	p.waitFor(t, &p.stderr, regexp.MustCompile(`reconcile: found a change in force on the target.*action=read-replicas from=2 to=3`), startTimeout)
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	time.Sleep(time.Second)
	p.signal(t, syscall.SIGTERM)
	if strings.Contains(p.stderr.String(), "dry run: writes are refused") {
		t.Errorf("recommend attempted a write:\n%s", p.stderr.String())
	}
	if f2, n2, ann2 := objects(); f2 != flag || n2 != n || !maps.Equal(ann2, ann) {
		t.Errorf("recommend changed the objects: flag %s, %d replicas, %v", f2, n2, ann2)
	}
}
