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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
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

// kubeRecommendConfig is a hot simulated service (incidents from the
// start, so the policy engages its whole playbook) whose actions change
// Kubernetes objects in namespace shop: a ConfigMap flag, a Deployment's
// replicas within a connection budget of 3, the CPU limits of the pods
// labelled tier=low; and leader election on.
const kubeRecommendConfig = `global:
  listen: ""
` + leaderElection + `services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 1}
    playbook:
      - name: async-queue
        actuator: {kind: kube, kube: {target: flag, namespace: shop, name: checkout-flags, key: async_queue}}
      - name: read-replicas
        actuator:
          kind: kube
          kube:
            target: replicas
            namespace: shop
            name: checkout-db
            connections: {max_connections: 300, per_replica: 100}
        min: 1
        max: 5
      - name: neighbour-cpu
        actuator: {kind: kube, kube: {target: cpu_limits, namespace: shop, selector: tier=low}}
        min: 0.5
        max: 1
    sim:
      load: {peak: 3, daily: 0, bursts: 0, flash_crowds: 0, duration: 1d}
`

var readIsVerb = map[string]bool{"get": true, "list": true, "watch": true}

// TestKubeRecommendWritesNothing runs presage recommend as a ServiceAccount
// bound to the rules of `presage rbac -read-only`, on a hot service whose
// kube actions the policy engages (a flag, replicas, CPU limits) and with
// leader election configured, and reads the API server's audit log: the
// kube actuators read every configured object (get the ConfigMap, the
// Deployment and its scale; list the pods and Deployments), every request
// is a read, it did not campaign (no Lease), and the objects are as they
// were, though recommend recommended engaging each action.
func TestKubeRecommendWritesNothing(t *testing.T) {
	env := kubetest.StartAudited(t)
	ctx := context.Background()
	env.Namespace(t, "shop")
	env.Namespace(t, "presage")
	env.ConfigMap(t, "shop", "checkout-flags", map[string]string{"async_queue": "false"})
	env.Deployment(t, "shop", "checkout-db", 2, corev1.ResourceRequirements{})
	cpu := resource.MustParse("1")
	if _, err := env.Client.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Labels: map[string]string{"tier": "low"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: cpu}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objects := func() (string, int32, string, int) {
		cm, err := env.Client.CoreV1().ConfigMaps("shop").Get(ctx, "checkout-flags", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := env.Client.AppsV1().Deployments("shop").Get(ctx, "checkout-db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := env.Client.CoreV1().Pods("shop").Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["async_queue"], *d.Spec.Replicas, p.Spec.Containers[0].Resources.Limits.Cpu().String(),
			len(cm.Annotations) + len(d.Annotations) + len(p.Annotations)
	}

	cfg := writeTestFile(t, t.TempDir(), "kube.yaml", kubeRecommendConfig)
	rules := cli(t, "rbac", "-config", cfg, "-read-only", "-service-account", "reader")
	if rules.code != 0 {
		t.Fatalf("presage rbac -read-only: %v", rules)
	}
	env.Apply(t, []byte(rules.stdout))
	kc := kubetest.Kubeconfig(t, env.ServiceAccount(t, "presage", "reader"))

	p := startPresage(t, "recommend", "-policy", "predictive", "-config", cfg, "-kubeconfig", kc, "-speed", "600", "-json")
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	// recommend would have engaged every action: the flag, the replicas
	// (planned by the real actuator from the live count, within the
	// budget) and the CPU limits.
	p.waitFor(t, &p.stdout, regexp.MustCompile(`(?s)"action":"async-queue","op":"engage".*"action":"read-replicas","op":"engage","from":2,"to":3.*"action":"neighbour-cpu","op":"engage"`), startTimeout)
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "leader election is off in a dry run") {
		t.Errorf("recommend does not say it leaves leader election off\n%s", p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "dry run: writes are refused") {
		t.Errorf("recommend attempted a write (its client refused it):\n%s", p.stderr.String())
	}

	evs := env.AuditEvents(t, "system:serviceaccount:presage:reader")
	reads := map[string]int{}
	for _, ev := range evs {
		if !readIsVerb[ev.Verb] {
			t.Errorf("recommend sent a %s %s (answer %d)", ev.Verb, ev.RequestURI, ev.Code())
			continue
		}
		if ev.Code() == 403 {
			t.Errorf("recommend's read %s %s was refused: the read-only rules lack it", ev.Verb, ev.RequestURI)
		}
		if o := ev.ObjectRef; o != nil {
			res := o.Resource
			if o.Subresource != "" {
				res += "/" + o.Subresource
			}
			reads[fmt.Sprintf("%s %s %s", ev.Verb, res, o.Name)]++
		}
	}
	for _, want := range []string{
		"get configmaps checkout-flags", "get deployments checkout-db", "get deployments/scale checkout-db",
		"list pods ", "list deployments ",
	} {
		if reads[want] == 0 {
			t.Errorf("recommend did not read %q; its reads: %v", want, reads)
		}
	}
	t.Logf("recommend made %d requests to the API server, all reads: %v", len(evs), reads)
	if flag, n, limit, ann := objects(); flag != "false" || n != 2 || limit != "1" || ann != 0 {
		t.Errorf("after recommend: flag %s, %d replicas, worker CPU limit %s, %d annotations; want false, 2, 1, none", flag, n, limit, ann)
	}
	_, err := env.Client.CoordinationV1().Leases("presage").Get(ctx, "presage", metav1.GetOptions{})
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
