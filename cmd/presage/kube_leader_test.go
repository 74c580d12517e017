package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/internal/kubetest"
)

// leaderElection is a kubernetes section with leader election on and
// short lease timings.
const leaderElection = `kubernetes:
  leader_election:
    enabled: true
    namespace: presage
    lease_duration: 3s
    renew_deadline: 2s
    retry_period: 250ms
`

// kubeActionsConfig is a config with one action of each kube target and
// leader election on, reading an unreachable Prometheus every second.
const kubeActionsConfig = `global:
  interval: 1s
  history: 1h
  listen: ""
source:
  kind: prometheus
  prometheus:
    url: http://127.0.0.1:1
    timeout: 200ms
    retries: 0
` + leaderElection + `services:
  - name: checkout
    signals:
      latency: {query: p99}
    incident: {above: 0.5}
    playbook:
      - name: async-queue
        actuator: {kind: kube, kube: {target: flag, namespace: shop, name: checkout-flags, key: async_queue}}
        min: 0
        max: 1
      - name: read-replicas
        actuator: {kind: kube, kube: {target: replicas, namespace: shop, name: checkout-db}}
        min: 1
        max: 4
      - name: neighbour-cpu
        actuator: {kind: kube, kube: {target: cpu_limits, namespace: shop, selector: tier=low}}
        min: 0.5
        max: 1
`

var readIsVerb = map[string]bool{"get": true, "list": true, "watch": true}

// TestKubeRecommendWritesNothing runs presage recommend as a ServiceAccount
// bound to the rules of `presage rbac -read-only`, with kube actions and
// leader election configured, and reads the API server's audit log: every
// request it made is a read, and it did not campaign (no Lease).
func TestKubeRecommendWritesNothing(t *testing.T) {
	env := kubetest.StartAudited(t)
	env.Namespace(t, "shop")
	env.Namespace(t, "presage")
	cfg := writeTestFile(t, t.TempDir(), "kube.yaml", kubeActionsConfig)
	rules := cli(t, "rbac", "-config", cfg, "-read-only", "-service-account", "reader")
	if rules.code != 0 {
		t.Fatalf("presage rbac -read-only: %v", rules)
	}
	env.Apply(t, []byte(rules.stdout))
	kc := kubetest.Kubeconfig(t, env.ServiceAccount(t, "presage", "reader"))

	p := startPresage(t, "recommend", "-config", cfg, "-kubeconfig", kc)
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	// Three steps.
	p.waitFor(t, &p.stderr, regexp.MustCompile(`(?s)(msg="source read failed".*){3}`), startTimeout)
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "leader election is off in a dry run") {
		t.Errorf("recommend does not say it leaves leader election off\n%s", p.stderr.String())
	}

	// Until the kube actuators are wired into the loop, recommend's
	// recorders read nothing from the API server; once they are, their
	// Current reads (get scale, get ConfigMap, list pods) show up here and
	// must stay reads.
	evs := env.AuditEvents(t, "system:serviceaccount:presage:reader")
	for _, ev := range evs {
		if !readIsVerb[ev.Verb] {
			t.Errorf("recommend sent a %s %s (answer %d)", ev.Verb, ev.RequestURI, ev.Code())
		}
	}
	t.Logf("recommend made %d requests to the API server, all reads", len(evs))
	_, err := env.Client.CoordinationV1().Leases("presage").Get(context.Background(), "presage", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Lease after recommend: %v, want not found", err)
	}
}

// TestKubeRunLeaderElection runs two `presage run` replicas over the
// simulator as the ServiceAccount bound to what `presage rbac` prints: one
// leads and acts, the other follows (its actions recorded, not applied);
// when the leader stops, the other takes over. Their only writes to the API
// server are to the Lease.
func TestKubeRunLeaderElection(t *testing.T) {
	env := kubetest.StartAudited(t)
	env.Namespace(t, "presage")
	cfg := writeTestFile(t, t.TempDir(), "hot.yaml", hotConfig("")+leaderElection)
	rules := cli(t, "rbac", "-config", cfg)
	if rules.code != 0 {
		t.Fatalf("presage rbac: %v", rules)
	}
	env.Apply(t, []byte(rules.stdout))
	kc := kubetest.Kubeconfig(t, env.ServiceAccount(t, "presage", "presage"))

	type replica struct {
		p   *proc
		url string
	}
	var rs []replica
	for range 2 {
		p, url := startLoop(t, "run", cfg, "-kubeconfig", kc, "-speed", "60")
		rs = append(rs, replica{p, url + "/metrics"})
	}
	leading := func(r replica) bool {
		v, ok := metric(r.url, "presage_leader")
		return ok && v == 1
	}
	var leader, follower replica
	eventually(t, 30*time.Second, "one replica leads", func() bool {
		a, b := leading(rs[0]), leading(rs[1])
		if a && b {
			t.Fatal("two leaders")
		}
		if a || b {
			leader, follower = rs[0], rs[1]
			if b {
				leader, follower = rs[1], rs[0]
			}
			return true
		}
		return false
	})
	// The hot service makes both replicas decide to act at once: the
	// follower records its actions, the leader applies its own.
	eventually(t, 30*time.Second, "the follower records actions", func() bool {
		v, ok := metric(follower.url, "presage_follower_actions_total")
		return ok && v > 0
	})
	// (The leader may have recorded its first step's actions too: both
	// replicas step once at start, before either holds the Lease; it
	// applied them on taking over.)
	if !strings.Contains(leader.p.stderr.String(), `msg="leading: actions are applied"`) {
		t.Errorf("the leader does not log that it leads\n%s", leader.p.stderr.String())
	}
	if !strings.Contains(follower.p.stderr.String(), `msg=following`) {
		t.Errorf("the follower does not log that it follows\n%s", follower.p.stderr.String())
	}
	if leading(follower) {
		t.Fatal("two leaders")
	}

	leader.p.signal(t, syscall.SIGTERM) // waits for a clean exit
	start := time.Now()
	eventually(t, 30*time.Second, "the follower takes over", func() bool { return leading(follower) })
	t.Logf("the follower took over %s after the leader exited", time.Since(start).Round(10*time.Millisecond))
	if !strings.Contains(leader.p.stderr.String(), "presage stopped") {
		t.Errorf("the leader did not stop cleanly\n%s", leader.p.stderr.String())
	}

	var writes []string
	for _, ev := range env.AuditEvents(t, "system:serviceaccount:presage:presage") {
		if readIsVerb[ev.Verb] {
			continue
		}
		w := fmt.Sprintf("%s %s", ev.Verb, ev.ObjectRef.Resource)
		// 409: both replicas raced to create the Lease at start.
		if ev.ObjectRef.Resource != "leases" || ev.ObjectRef.Namespace != "presage" || (ev.Code() >= 300 && ev.Code() != 409) {
			t.Errorf("unexpected write: %s %s (answer %d)", ev.Verb, ev.RequestURI, ev.Code())
		}
		writes = append(writes, w)
	}
	if !slices.Contains(writes, "create leases") || !slices.Contains(writes, "update leases") {
		t.Errorf("writes %v: want the Lease created and updated", writes)
	}
	t.Logf("%d writes by the replicas, all to the Lease", len(writes))
}
