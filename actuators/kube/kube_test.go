package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// TestKube runs the actuators against one real kube-apiserver, each
// subtest in a namespace of its own.
func TestKube(t *testing.T) {
	env := kubetest.Start(t)
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, env *kubetest.Env, ns string)
	}{
		{"replicas", testReplicas},
		{"replicas-crash", testReplicasCrash},
		{"replicas-overridden", testReplicasOverridden},
		{"replicas-conflict", testReplicasConflict},
		{"replicas-custom-resource", testReplicasCustomResource},
		{"flag", testFlag},
		{"flag-overridden", testFlagOverridden},
		{"cpu-resize", testCPUResize},
		{"cpu-template", testCPUTemplate},
		{"cpu-crash", testCPUCrash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env.Namespace(t, tc.name)
			tc.fn(t, env, tc.name)
		})
	}
}

// newClient returns a Client for rc with a registry of its own.
func newClient(t *testing.T, env *kubetest.Env) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := NewClient(env.Config, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func action(t *testing.T, c *Client, k config.Kube, min, max float64) actuators.Actuator {
	t.Helper()
	kk := config.DefaultKube
	kk.Target, kk.Namespace, kk.Name, kk.Step, kk.Connections = k.Target, k.Namespace, k.Name, k.Step, k.Connections
	if k.Selector != "" {
		kk.Selector = k.Selector
	}
	if k.Key != "" {
		kk.Key = k.Key
	}
	if k.Floor != "" {
		kk.Floor = k.Floor
	}
	kk.Containers = k.Containers
	a, err := c.New("checkout", config.Action{Name: "act", Min: min, Max: max,
		Actuator: config.Actuator{Kind: config.ActuatorKube, Kube: kk}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// resources is a Burstable container's resources: the CPU limit and
// request given, and a memory request below its limit.
func resources(limit, request string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(limit), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	if request != "" {
		r.Requests[corev1.ResourceCPU] = resource.MustParse(request)
	}
	return r
}

func replicasOf(t *testing.T, cs kubernetes.Interface, ns, name string) (int32, map[string]string) {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas, d.Annotations
}

func engage(to float64) actuators.Action {
	return actuators.Action{Service: "checkout", Action: "act", Op: actuators.Engage, To: to, At: t0}
}

func revert(from, to float64) actuators.Action {
	return actuators.Action{Service: "checkout", Action: "act", Op: actuators.Revert, From: from, To: to, At: t0.Add(time.Hour)}
}

// plan plans a and applies the plan, as the controller does.
func plan(t *testing.T, act actuators.Actuator, a actuators.Action) (actuators.Action, string) {
	t.Helper()
	ctx := context.Background()
	p, reason, msg, err := act.(actuators.Planner).Plan(ctx, a)
	if err != nil {
		t.Fatalf("plan %s %g: %v", a.Op, a.To, err)
	}
	if reason != "" && msg == "" {
		t.Errorf("plan %s: reason %s without a message", a.Op, reason)
	}
	if err := act.Apply(ctx, p); err != nil {
		t.Fatalf("apply %s %g: %v", p.Op, p.To, err)
	}
	return p, reason
}

func noRecord(t *testing.T, ann map[string]string) {
	t.Helper()
	for k := range ann {
		if strings.HasPrefix(k, AnnotationPrefix) {
			t.Errorf("annotation %s left behind: %v", k, ann)
		}
	}
}

// testReplicas scales a Deployment up by steps to the connection budget,
// and back to its original count.
func testReplicas(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	env.Deployment(t, ns, "db", 2, resources("1", "500m"))
	c, reg := newClient(t, env)
	// 500 connections, 100 a replica, 20 reserved: at most 4 replicas.
	r := action(t, c, config.Kube{Target: config.KubeReplicas, Namespace: ns, Name: "db", Step: 1,
		Connections: &config.ConnectionBudget{MaxConnections: 500, PerReplica: 100, Reserved: 20}}, 1, 6)

	for _, want := range []struct {
		to     float64
		reason string
	}{{3, ""}, {4, ""}, {4, actuators.ConnectionBudget}} {
		p, reason := plan(t, r, engage(6))
		if p.To != want.to || reason != want.reason {
			t.Errorf("engage toward 6: to %g reason %q, want %g %q", p.To, reason, want.to, want.reason)
		}
		n, ann := replicasOf(t, env.Client, ns, "db")
		if float64(n) != want.to || ann[OriginalReplicas] != "2" || ann[SetReplicas] != fmtFloat(want.to) {
			t.Errorf("after engage: %d replicas, annotations %v; want %g, original 2", n, ann, want.to)
		}
	}
	// Apply alone (no plan) never passes the budget either.
	if err := r.Apply(ctx, engage(6)); err != nil {
		t.Fatal(err)
	}
	if n, _ := replicasOf(t, env.Client, ns, "db"); n != 4 {
		t.Errorf("apply 6 past the budget: %d replicas, want 4", n)
	}
	if got := testutil.ToFloat64(c.budget.WithLabelValues("checkout", "act")); got != 1 {
		t.Errorf("presage_connection_budget_capped_total %g, want 1", got)
	}
	if cur, err := r.(actuators.Reader).Current(ctx); err != nil || cur != 4 {
		t.Errorf("current %g %v, want 4", cur, err)
	}
	tr, ok, err := r.(actuators.Tracker).Tracked(ctx)
	if err != nil || !ok || tr.From != 2 || tr.To != 4 || !tr.At.Equal(t0) {
		t.Errorf("tracked %+v %v %v, want 2 → 4 at %s", tr, ok, err, t0)
	}

	// Revert restores the original whatever the action says, and removes
	// the record; a second revert changes nothing.
	for range 2 {
		p, reason := plan(t, r, revert(4, 2))
		n, ann := replicasOf(t, env.Client, ns, "db")
		if n != 2 || reason != "" || p.To != 2 {
			t.Errorf("revert: %d replicas (planned %g, reason %q), want 2", n, p.To, reason)
		}
		noRecord(t, ann)
	}
	if _, ok, _ := r.(actuators.Tracker).Tracked(ctx); ok {
		t.Error("tracked after revert")
	}
	if n, err := testutil.GatherAndCount(reg, "presage_overridden_total"); err != nil || n != 0 {
		t.Errorf("overridden series %d %v, want none", n, err)
	}

	// A prewarm window asks for its value at once, not one step: 2 → 4
	// (still within the budget).
	pw := engage(4)
	pw.Reason = "Prewarm"
	if p, reason := plan(t, r, pw); p.To != 4 || reason != "" {
		t.Errorf("prewarm to 4: planned %g reason %q, want 4 in one change", p.To, reason)
	}
	if n, _ := replicasOf(t, env.Client, ns, "db"); n != 4 {
		t.Errorf("after the prewarm: %d replicas, want 4", n)
	}
}

// testReplicasCrash stops presage at each point of a change and shows
// that a new presage (a new Client) finds exactly what is in force.
func testReplicasCrash(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	env.Deployment(t, ns, "db", 2, resources("1", "500m"))
	k := config.Kube{Target: config.KubeReplicas, Namespace: ns, Name: "db"}
	crashAt := func(point string) *Replicas {
		c, _ := newClient(t, env)
		r := action(t, c, k, 1, 6).(*Replicas)
		r.crash = func(p string) error {
			if p == point {
				return errStopped
			}
			return nil
		}
		return r
	}
	fresh := func() *Replicas {
		c, _ := newClient(t, env)
		return action(t, c, k, 1, 6).(*Replicas)
	}

	// Stopped after the record, before the change: nothing is in force;
	// the new presage engages afresh from the real original.
	if err := crashAt(pointIntent).Apply(ctx, engage(5)); !errors.Is(err, errStopped) {
		t.Fatalf("apply: %v, want stopped", err)
	}
	n, ann := replicasOf(t, env.Client, ns, "db")
	if n != 2 || ann[SetReplicas] != "5" {
		t.Fatalf("stopped before the change: %d replicas, annotations %v", n, ann)
	}
	r := fresh()
	if _, ok, err := r.Tracked(ctx); ok || err != nil {
		t.Errorf("tracked a change never made: %v %v", ok, err)
	}
	if p, reason := plan(t, r, engage(3)); p.From != 2 || p.To != 3 || reason != "" {
		t.Errorf("engage after the stop: %+v %q", p, reason)
	}
	if n, ann := replicasOf(t, env.Client, ns, "db"); n != 3 || ann[OriginalReplicas] != "2" || ann[SetReplicas] != "3" {
		t.Errorf("after engage: %d %v", n, ann)
	}

	// Stopped after the change (before the caller saved it): the record
	// is on the object; a new presage finds it and its revert restores 2.
	if err := crashAt(pointChanged).Apply(ctx, engage(5)); !errors.Is(err, errStopped) {
		t.Fatalf("apply: %v, want stopped", err)
	}
	r = fresh()
	tr, ok, err := r.Tracked(ctx)
	if err != nil || !ok || tr.From != 2 || tr.To != 5 {
		t.Fatalf("tracked %+v %v %v, want 2 → 5", tr, ok, err)
	}

	// Stopped during the revert, after the count was restored: nothing in
	// force, and the next action removes the stale record.
	if err := crashAt(pointRestored).Apply(ctx, revert(5, 2)); !errors.Is(err, errStopped) {
		t.Fatalf("revert: %v, want stopped", err)
	}
	n, ann = replicasOf(t, env.Client, ns, "db")
	if n != 2 || ann[OriginalReplicas] == "" {
		t.Fatalf("stopped after restoring: %d %v", n, ann)
	}
	r = fresh()
	if _, ok, _ := r.Tracked(ctx); ok {
		t.Error("tracked a reverted change")
	}
	if p, reason := plan(t, r, revert(5, 2)); reason != "" || p.To != 2 {
		t.Errorf("revert after the stop: %+v %q", p, reason)
	}
	n, ann = replicasOf(t, env.Client, ns, "db")
	if n != 2 {
		t.Errorf("%d replicas, want 2", n)
	}
	noRecord(t, ann)
}

// testReplicasOverridden has someone else scale the object presage
// scaled: presage leaves it and says so.
func testReplicasOverridden(t *testing.T, env *kubetest.Env, ns string) {
	env.Deployment(t, ns, "db", 2, resources("1", "500m"))
	c, reg := newClient(t, env)
	r := action(t, c, config.Kube{Target: config.KubeReplicas, Namespace: ns, Name: "db"}, 1, 6)
	plan(t, r, engage(4))
	scaleTo(t, env.Client, ns, "db", 7)

	p, reason := plan(t, r, revert(4, 2))
	if reason != actuators.Overridden || p.To != 7 {
		t.Errorf("revert after someone scaled to 7: to %g reason %q, want 7 Overridden", p.To, reason)
	}
	n, ann := replicasOf(t, env.Client, ns, "db")
	if n != 7 {
		t.Errorf("%d replicas, want 7: presage must not fight", n)
	}
	noRecord(t, ann)
	if got := testutil.ToFloat64(c.overridden.WithLabelValues("checkout", "act")); got != 1 {
		t.Errorf("presage_overridden_total %g, want 1", got)
	}
	if n, _ := testutil.GatherAndCount(reg, "presage_overridden_total"); n != 1 {
		t.Errorf("presage_overridden_total not registered: %d series", n)
	}

	// A record someone overrode, met by a new engagement (a presage that
	// restarted): the engagement starts afresh from the live count.
	plan(t, r, engage(8))
	scaleTo(t, env.Client, ns, "db", 6)
	if p, reason := plan(t, r, engage(9)); p.From != 6 || p.To != 9 || reason != "" {
		t.Errorf("engage over an overridden record: %+v %q, want 6 → 9", p, reason)
	}
	if n, ann := replicasOf(t, env.Client, ns, "db"); n != 9 || ann[OriginalReplicas] != "6" || ann[SetReplicas] != "9" {
		t.Errorf("after engaging over an overridden record: %d %v, want 9 from 6", n, ann)
	}
	if got := testutil.ToFloat64(c.overridden.WithLabelValues("checkout", "act")); got != 2 {
		t.Errorf("presage_overridden_total %g, want 2", got)
	}
}

func scaleTo(t *testing.T, cs kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	ctx := context.Background()
	s, err := cs.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// testReplicasConflict has another writer change the object between
// presage's record and its change: presage re-reads and retries, and yields
// when the writer changed the count itself.
func testReplicasConflict(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	env.Deployment(t, ns, "db", 2, resources("1", "500m"))
	c, _ := newClient(t, env)
	r := action(t, c, config.Kube{Target: config.KubeReplicas, Namespace: ns, Name: "db"}, 1, 6).(*Replicas)

	// A label changed in between: the scale update conflicts, the retry
	// scales.
	writes := 0
	r.crash = func(p string) error {
		if p == pointIntent && writes == 0 {
			writes++
			d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return err
			}
			d.Labels = map[string]string{"touched": "yes"}
			_, err = env.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
			return err
		}
		return nil
	}
	if err := r.Apply(ctx, engage(4)); err != nil {
		t.Fatal(err)
	}
	if n, ann := replicasOf(t, env.Client, ns, "db"); n != 4 || ann[OriginalReplicas] != "2" {
		t.Errorf("after a conflicting label write: %d %v, want 4 from 2", n, ann)
	}
	plan(t, r, revert(4, 2))

	// The count changed in between: presage yields.
	r.crash = func(p string) error {
		if p == pointIntent && writes == 1 {
			writes++
			scaleTo(t, env.Client, ns, "db", 5)
		}
		return nil
	}
	if err := r.Apply(ctx, engage(4)); err != nil {
		t.Fatal(err)
	}
	n, ann := replicasOf(t, env.Client, ns, "db")
	if n != 5 {
		t.Errorf("%d replicas, want the other writer's 5", n)
	}
	noRecord(t, ann)
}

func configMap(t *testing.T, cs kubernetes.Interface, ns, name string, data map[string]string) {
	t.Helper()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getCM(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// testFlag turns a ConfigMap key on and back, whether the key was there
// or not, and shows the change and its record are one write.
func testFlag(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	configMap(t, env.Client, ns, "flags", map[string]string{"other": "x", "queue": "false"})
	c, _ := newClient(t, env)
	for _, tc := range []struct {
		key     string
		present bool
	}{{"queue", true}, {"absent", false}} {
		f := action(t, c, config.Kube{Target: config.KubeFlag, Namespace: ns, Name: "flags", Key: tc.key}, 0, 1).(*Flag)
		if cur, err := f.Current(ctx); err != nil || cur != 0 {
			t.Errorf("%s: current %g %v, want 0", tc.key, cur, err)
		}
		// Stopped right after the write: the record came with it.
		f.crash = func(string) error { return errStopped }
		if err := f.Apply(ctx, engage(1)); !errors.Is(err, errStopped) {
			t.Fatalf("%s: apply %v", tc.key, err)
		}
		f.crash = nil
		cm := getCM(t, env.Client, ns, "flags")
		if cm.Data[tc.key] != "true" || cm.Annotations[FlagPrefix+tc.key] == "" {
			t.Errorf("%s: engaged: %v %v", tc.key, cm.Data, cm.Annotations)
		}
		if cur, _ := f.Current(ctx); cur != 1 {
			t.Errorf("%s: current %g, want 1", tc.key, cur)
		}
		c2, _ := newClient(t, env)
		f2 := action(t, c2, config.Kube{Target: config.KubeFlag, Namespace: ns, Name: "flags", Key: tc.key}, 0, 1)
		if tr, ok, err := f2.(actuators.Tracker).Tracked(ctx); err != nil || !ok || tr.From != 0 || tr.To != 1 {
			t.Errorf("%s: tracked %+v %v %v", tc.key, tr, ok, err)
		}
		plan(t, f2, engage(1)) // idempotent
		plan(t, f2, revert(1, 0))
		cm = getCM(t, env.Client, ns, "flags")
		v, ok := cm.Data[tc.key]
		if ok != tc.present || tc.present && v != "false" || cm.Data["other"] != "x" {
			t.Errorf("%s: reverted to %v, want the original back", tc.key, cm.Data)
		}
		noRecord(t, cm.Annotations)
	}
}

// testFlagOverridden has someone else set the flag presage set.
func testFlagOverridden(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	configMap(t, env.Client, ns, "flags", map[string]string{"queue": "false"})
	c, _ := newClient(t, env)
	f := action(t, c, config.Kube{Target: config.KubeFlag, Namespace: ns, Name: "flags", Key: "queue"}, 0, 1)
	plan(t, f, engage(1))
	cm := getCM(t, env.Client, ns, "flags")
	cm.Data["queue"] = "maybe"
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, reason := plan(t, f, revert(1, 0))
	cm = getCM(t, env.Client, ns, "flags")
	if reason != actuators.Overridden || cm.Data["queue"] != "maybe" {
		t.Errorf("revert: reason %q, value %q; want Overridden and the other writer's value", reason, cm.Data["queue"])
	}
	noRecord(t, cm.Annotations)
	if got := testutil.ToFloat64(c.overridden.WithLabelValues("checkout", "act")); got != 1 {
		t.Errorf("presage_overridden_total %g, want 1", got)
	}
}

func pod(t *testing.T, cs kubernetes.Interface, ns, name string, labels map[string]string, owner *metav1.OwnerReference, cts ...corev1.Container) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.PodSpec{Containers: cts}}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if _, err := cs.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func cpuOf(t *testing.T, cs kubernetes.Interface, ns, name, container string) (limit, request string, ann map[string]string) {
	t.Helper()
	p, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range p.Spec.Containers {
		if ct.Name == container {
			v := liveValues(ct)
			return v.Limit, v.Request, p.Annotations
		}
	}
	t.Fatalf("pod %s has no container %s", name, container)
	return
}

// testCPUResize lowers the CPU limits of pods created by the test in
// place, down to the floor, and restores them exactly.
func testCPUResize(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	tier := map[string]string{"presage.dev/tier": "non-critical"}
	pod(t, env.Client, ns, "worker-1", tier, nil,
		corev1.Container{Name: "worker", Image: "w:1", Resources: resources("2", "1500m")},
		corev1.Container{Name: "sidecar", Image: "s:1", Resources: resources("200m", "")})
	pod(t, env.Client, ns, "worker-2", tier, nil,
		corev1.Container{Name: "worker", Image: "w:1", Resources: resources("2", "1500m")})
	pod(t, env.Client, ns, "critical", map[string]string{"presage.dev/tier": "critical"}, nil,
		corev1.Container{Name: "worker", Image: "w:1", Resources: resources("2", "1")})
	c, _ := newClient(t, env)
	act := action(t, c, config.Kube{Target: config.KubeCPULimits, Namespace: ns, Selector: "presage.dev/tier=non-critical", Floor: "150m"}, 0.05, 1)

	for _, tc := range []struct {
		factor                   float64
		workerLimit, workerReq   string
		sidecarLimit, sidecarReq string
	}{
		// The worker's request above the new limit is lowered to it; the
		// sidecar's request defaulted to its limit on creation, and is
		// lowered with it, to the floor.
		{0.5, "1", "1", "150m", "150m"},
		{0.05, "150m", "150m", "150m", "150m"}, // the floor
	} {
		if err := act.Apply(ctx, engage(tc.factor)); err != nil {
			t.Fatalf("engage %g: %v", tc.factor, err)
		}
		l, r, ann := cpuOf(t, env.Client, ns, "worker-1", "worker")
		if milli(l) != milli(tc.workerLimit) || milli(r) != milli(tc.workerReq) {
			t.Errorf("factor %g: worker limit %s request %s, want %s %s", tc.factor, l, r, tc.workerLimit, tc.workerReq)
		}
		if ann[SetCPUFactor] != fmtFloat(tc.factor) || !strings.Contains(ann[OriginalCPU], `"limit":"2"`) {
			t.Errorf("factor %g: record %v", tc.factor, ann)
		}
		l, r, _ = cpuOf(t, env.Client, ns, "worker-1", "sidecar")
		if milli(l) != milli(tc.sidecarLimit) || milli(r) != milli(tc.sidecarReq) {
			t.Errorf("factor %g: sidecar limit %s request %q, want %s %q", tc.factor, l, r, tc.sidecarLimit, tc.sidecarReq)
		}
		if cur, err := act.(actuators.Reader).Current(ctx); err != nil || cur != tc.factor {
			t.Errorf("current %g %v, want %g", cur, err, tc.factor)
		}
	}
	if l, _, ann := cpuOf(t, env.Client, ns, "critical", "worker"); l != "2" || len(ann) != 0 {
		t.Errorf("a pod the selector does not pick changed: %s %v", l, ann)
	}
	// Someone else resizes worker-2: presage leaves it and restores
	// worker-1.
	p2, err := env.Client.CoreV1().Pods(ns).Get(ctx, "worker-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2.Spec.Containers[0].Resources = resources("3", "1")
	if _, err := env.Client.CoreV1().Pods(ns).UpdateResize(ctx, "worker-2", p2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, reason := plan(t, act, revert(0.05, 1)); reason != actuators.Overridden {
		t.Errorf("revert with worker-2 resized by someone else: reason %q, want Overridden", reason)
	}
	if l, r, ann := cpuOf(t, env.Client, ns, "worker-2", "worker"); l != "3" || r != "1" {
		t.Errorf("worker-2: limit %s request %s, want the other writer's 3 and 1", l, r)
	} else {
		noRecord(t, ann)
	}
	if got := testutil.ToFloat64(c.overridden.WithLabelValues("checkout", "act")); got != 1 {
		t.Errorf("presage_overridden_total %g, want 1", got)
	}
	for _, want := range [][3]string{{"worker", "2", "1500m"}, {"sidecar", "200m", "200m"}} {
		l, r, ann := cpuOf(t, env.Client, ns, "worker-1", want[0])
		if l != want[1] || r != want[2] {
			t.Errorf("reverted %s: limit %s request %q, want %s %q", want[0], l, r, want[1], want[2])
		}
		noRecord(t, ann)
	}
}

// testCPUTemplate runs as a ServiceAccount that may not resize pods: the
// Deployment's pod template is changed instead, and restored.
func testCPUTemplate(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	env.Deployment(t, ns, "batch", 1, resources("1", "500m"))
	d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "batch", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "batch-1", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
	rs, err = env.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod(t, env.Client, ns, "batch-1-a", map[string]string{"app": "batch"},
		&metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes},
		d.Spec.Template.Spec.Containers...)

	// Everything cpu_limits needs but pods/resize.
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "no-resize"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "patch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "update"}},
	}}
	if _, err := env.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "presage"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "no-resize"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "presage", Namespace: ns}}}
	if _, err := env.Client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(env.ServiceAccount(t, ns, "presage"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	act := action(t, c, config.Kube{Target: config.KubeCPULimits, Namespace: ns, Selector: "app=batch"}, 0.25, 1)
	if err := act.Apply(ctx, engage(0.25)); err != nil {
		t.Fatal(err)
	}
	tmpl := func() (string, string, map[string]string) {
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "batch", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v := liveValues(d.Spec.Template.Spec.Containers[0])
		return v.Limit, v.Request, d.Annotations
	}
	if l, r, ann := tmpl(); l != "250m" || r != "250m" || ann[SetCPUFactor] != "0.25" {
		t.Errorf("template after engage: limit %s request %s record %v, want 250m 250m", l, r, ann)
	}
	if l, _, ann := cpuOf(t, env.Client, ns, "batch-1-a", "app"); l != "1" {
		t.Errorf("pod changed (%s) though it may not be resized", l)
	} else {
		noRecord(t, ann)
	}
	if cur, err := act.(actuators.Reader).Current(ctx); err != nil || cur != 0.25 {
		t.Errorf("current %g %v, want 0.25", cur, err)
	}
	if err := act.Apply(ctx, revert(0.25, 1)); err != nil {
		t.Fatal(err)
	}
	if l, r, ann := tmpl(); l != "1" || r != "500m" {
		t.Errorf("template after revert: limit %s request %s, want 1 500m", l, r)
	} else {
		noRecord(t, ann)
	}
}

// testReplicasCustomResource scales a custom resource through its scale
// subresource, whose replicas live elsewhere than spec.replicas (a
// CloudNativePG Cluster's spec.instances).
func testReplicasCustomResource(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "clusters.postgresql.cnpg.io"},
		"spec": map[string]any{
			"group": "postgresql.cnpg.io",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "clusters", "singular": "cluster", "kind": "Cluster", "listKind": "ClusterList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				"subresources": map[string]any{
					"status": map[string]any{},
					"scale":  map[string]any{"specReplicasPath": ".spec.instances", "statusReplicasPath": ".status.instances"},
				},
			}},
		},
	}}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "postgresql.cnpg.io", Version: "v1", Resource: "clusters"}
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
		"metadata": map[string]any{"name": "pg"},
		"spec":     map[string]any{"instances": int64(1)},
	}}
	// The CRD is served once it is established.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, cluster, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create cluster: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	instances := func() (int64, map[string]string) {
		o, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, "pg", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, _, _ := unstructured.NestedInt64(o.Object, "spec", "instances")
		return n, o.GetAnnotations()
	}

	c, _ := newClient(t, env)
	kk := config.DefaultKube
	kk.Target, kk.Namespace, kk.Name, kk.Group, kk.Version, kk.Resource, kk.Step = config.KubeReplicas, ns, "pg", gvr.Group, gvr.Version, gvr.Resource, 1
	kk.Connections = &config.ConnectionBudget{MaxConnections: 300, PerReplica: 100}
	act, err := c.New("checkout", config.Action{Name: "act", Min: 1, Max: 5, Actuator: config.Actuator{Kind: config.ActuatorKube, Kube: kk}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []int64{2, 3, 3} {
		plan(t, act, engage(5))
		if n, ann := instances(); n != want || ann[OriginalReplicas] != "1" {
			t.Errorf("engage: %d instances, annotations %v; want %d from 1", n, ann, want)
		}
	}
	plan(t, act, revert(3, 1))
	n, ann := instances()
	if n != 1 {
		t.Errorf("revert: %d instances, want 1", n)
	}
	noRecord(t, ann)
}

// testCPUCrash stops presage between a pod's record and its resize, and
// between the restore and the record's removal: a new presage finds
// nothing in force either time, and its next change is exact.
func testCPUCrash(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	tier := map[string]string{"presage.dev/tier": "non-critical"}
	pod(t, env.Client, ns, "worker", tier, nil, corev1.Container{Name: "worker", Image: "w:1", Resources: resources("2", "1")})
	k := config.Kube{Target: config.KubeCPULimits, Namespace: ns, Selector: "presage.dev/tier=non-critical"}
	newAct := func(point string) *CPULimits {
		c, _ := newClient(t, env)
		a := action(t, c, k, 0.5, 1).(*CPULimits)
		a.crash = func(p string) error {
			if p == point {
				return errStopped
			}
			return nil
		}
		return a
	}
	if err := newAct(pointIntent).Apply(ctx, engage(0.5)); !errors.Is(err, errStopped) {
		t.Fatalf("engage: %v, want stopped", err)
	}
	if l, _, ann := cpuOf(t, env.Client, ns, "worker", "worker"); l != "2" || ann[SetCPUFactor] != "0.5" {
		t.Fatalf("stopped before the resize: limit %s, record %v", l, ann)
	}
	fresh := newAct("")
	if _, ok, err := fresh.Tracked(ctx); ok || err != nil {
		t.Errorf("tracked a resize never made: %v %v", ok, err)
	}
	if cur, err := fresh.Current(ctx); cur != 1 || err != nil {
		t.Errorf("current %g %v, want 1", cur, err)
	}
	if err := fresh.Apply(ctx, engage(0.5)); err != nil {
		t.Fatal(err)
	}
	if l, r, _ := cpuOf(t, env.Client, ns, "worker", "worker"); l != "1" || r != "1" {
		t.Errorf("engaged: limit %s request %s, want 1 1", l, r)
	}
	if err := newAct(pointRestored).Apply(ctx, revert(0.5, 1)); !errors.Is(err, errStopped) {
		t.Fatalf("revert: %v, want stopped", err)
	}
	fresh = newAct("")
	if _, ok, _ := fresh.Tracked(ctx); ok {
		t.Error("tracked a restored pod")
	}
	if err := fresh.Apply(ctx, revert(0.5, 1)); err != nil {
		t.Fatal(err)
	}
	l, r, ann := cpuOf(t, env.Client, ns, "worker", "worker")
	if l != "2" || r != "1" {
		t.Errorf("reverted: limit %s request %s, want 2 1", l, r)
	}
	noRecord(t, ann)
}
