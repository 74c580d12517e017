package rbac

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/kube"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/leader"
	"github.com/presage-dev/presage/internal/kubetest"
)

// rolesConfig is the configuration TestRolesOnAPIServer prints the Roles
// of: one action of each target in namespace shop (a connection budget of
// three replicas; a CPU floor of 100m) and leader election in presage's
// namespace.
const rolesConfig = `leader_election:
  enabled: true
  lease_duration: 3s
  renew_deadline: 2s
  retry_period: 250ms
`

var rolesKubes = []string{
	"target: replicas\nnamespace: shop\nname: db\nstep: 1\nconnections: {max_connections: 320, per_replica: 100, reserved: 20}\n",
	"target: flag\nnamespace: shop\nname: flags\nkey: queue\n",
	"target: cpu_limits\nnamespace: shop\nselector: tier=low\nfloor: 100m\n",
}

func cpuResources(limit, request, memLimit, memRequest string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(limit), corev1.ResourceMemory: resource.MustParse(memLimit)},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(request), corev1.ResourceMemory: resource.MustParse(memRequest)},
	}
}

func deployment(name string, replicas int32, labels map[string]string, res corev1.ResourceRequirements) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Resources: res}}},
			},
		},
	}
}

// rolesObjects creates, as the admin, the objects the configured actions
// change and others they must not:
//   - Deployments db (2 replicas, scaled) and other;
//   - ConfigMaps flags (queue: false) and other-flags;
//   - pod worker (tier=low, Burstable: resized in place);
//   - Deployment batch (tier=low) with ReplicaSet batch-1 and pod batch-1-a,
//     whose CPU request is far below its limit and memory request equals
//     its limit: lowering the limit to 100m lowers the request with it and
//     would make the pod Guaranteed, a QoS change the API server refuses in
//     a resize, so the actuator changes batch's pod template instead.
func rolesObjects(t *testing.T, env *kubetest.Env) {
	t.Helper()
	ctx := context.Background()
	admin := env.Client
	env.Namespace(t, "shop")
	env.Namespace(t, "presage")
	burstable := cpuResources("1", "500m", "256Mi", "128Mi")
	for _, d := range []*appsv1.Deployment{
		deployment("db", 2, map[string]string{"app": "db"}, burstable),
		deployment("other", 1, map[string]string{"app": "other"}, burstable),
	} {
		if _, err := admin.AppsV1().Deployments("shop").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"flags", "other-flags"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"queue": "false"}}
		if _, err := admin.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	worker := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Labels: map[string]string{"tier": "low"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Resources: burstable}}},
	}
	if _, err := admin.CoreV1().Pods("shop").Create(ctx, worker, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	batchLabels := map[string]string{"app": "batch", "tier": "low"}
	d, err := admin.AppsV1().Deployments("shop").Create(ctx, deployment("batch", 1, batchLabels, cpuResources("1", "200m", "256Mi", "256Mi")), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	rs, err := admin.AppsV1().ReplicaSets("shop").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "batch-1", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "batch-1-a", Labels: batchLabels, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes}}},
		Spec: d.Spec.Template.Spec,
	}
	if _, err := admin.CoreV1().Pods("shop").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoordinationV1().Leases("presage").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "someone-else"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// actuatorsOf builds the real kube actuators of cfg's playbook with rc's
// credentials, by action name.
func actuatorsOf(t *testing.T, cfg *config.Config, rc *rest.Config) map[string]actuators.Actuator {
	t.Helper()
	c, err := kube.NewClient(rc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]actuators.Actuator{}
	for _, a := range cfg.Services[0].Playbook {
		act, err := c.New(cfg.Services[0].Name, a)
		if err != nil {
			t.Fatal(err)
		}
		out[a.Actuator.Kube.Target] = act
	}
	return out
}

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func engage(to float64) actuators.Action {
	return actuators.Action{Service: "checkout", Action: "a", Op: actuators.Engage, To: to, At: t0}
}

func revert(from, to float64) actuators.Action {
	return actuators.Action{Service: "checkout", Action: "a", Op: actuators.Revert, From: from, To: to, At: t0.Add(time.Hour)}
}

// planApply plans a and applies the plan, as the controller does.
func planApply(ctx context.Context, act actuators.Actuator, a actuators.Action) (actuators.Action, string, error) {
	p, reason, _, err := act.(actuators.Planner).Plan(ctx, a)
	if err != nil {
		return p, reason, fmt.Errorf("plan: %w", err)
	}
	return p, reason, act.Apply(ctx, p)
}

// granted returns every "namespace group resource verb" the rules grant.
func granted(rules map[string][]Rule) []string {
	var out []string
	for ns, rs := range rules {
		for _, r := range rs {
			for _, v := range r.Verbs {
				out = append(out, fmt.Sprintf("%s %q %s %s", ns, r.APIGroups[0], r.Resources[0], v))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// used returns every "namespace group resource verb" user's requests that
// the authorizer let through (any answer but 403) called, from the audit
// log.
func used(t *testing.T, env *kubetest.Env, user string) []string {
	t.Helper()
	var out []string
	for _, ev := range env.AuditEvents(t, user) {
		if ev.ObjectRef == nil || ev.Code() == 403 {
			continue
		}
		res := ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			res += "/" + ev.ObjectRef.Subresource
		}
		out = append(out, fmt.Sprintf("%s %q %s %s", ev.ObjectRef.Namespace, ev.ObjectRef.APIGroup, res, ev.Verb))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestRolesOnAPIServer binds the Roles presage rbac prints to two
// ServiceAccounts on a real API server (the full rules, and the read-only
// ones of presage recommend) and runs presage's real kube actuators and
// Elector with their tokens.
//
// With the full Roles every configured action engages and reverts: the
// replicas step up to the connection budget (reason ConnectionBudget) and
// back, a pod's CPU limit is resized in place, a pod whose resize the API
// server refuses has its Deployment's template changed instead, the flag is
// set and restored; the Elector wins the Lease. Writes outside the Roles
// are refused. The audit log then shows that every verb the Roles grant
// was used: no rule is wider than the calls.
//
// With the read-only Roles the actuators read (Current, Plan, Tracked),
// every Apply is refused and changes nothing, and the Elector cannot take
// the Lease; again every granted verb was used.
func TestRolesOnAPIServer(t *testing.T) {
	env := kubetest.StartAudited(t)
	admin := env.Client
	ctx := context.Background()
	cfg := testConfig(t, rolesConfig, rolesKubes...)
	rolesObjects(t, env)

	type account struct {
		o     Options
		rc    *rest.Config
		cs    kubernetes.Interface
		acts  map[string]actuators.Actuator
		rules map[string][]Rule
	}
	accounts := map[string]*account{}
	for _, ro := range []bool{false, true} {
		o := Options{ReadOnly: ro, ServiceAccount: "presage"}
		if ro {
			o.ServiceAccount = "reader"
		}
		var buf bytes.Buffer
		rules := Rules(cfg, o)
		if err := Write(&buf, rules, o); err != nil {
			t.Fatal(err)
		}
		env.Apply(t, buf.Bytes())
		rc := env.ServiceAccount(t, "presage", o.ServiceAccount)
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		accounts[o.ServiceAccount] = &account{o: o, rc: rc, cs: cs, acts: actuatorsOf(t, cfg, rc), rules: rules}
	}
	presage, reader := accounts["presage"], accounts["reader"]

	// The authorizer learns of new bindings through an informer: wait
	// until both accounts may read the flag.
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range accounts {
		for {
			_, err := a.acts[config.KubeFlag].(actuators.Reader).Current(ctx)
			if err == nil {
				break
			}
			if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
				t.Fatalf("%s: read the flag: %v", a.o.ServiceAccount, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	replicasOf := func(name string) int32 {
		t.Helper()
		s, err := admin.AppsV1().Deployments("shop").GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Spec.Replicas
	}
	flagOf := func() string {
		t.Helper()
		cm, err := admin.CoreV1().ConfigMaps("shop").Get(ctx, "flags", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["queue"]
	}
	podCPU := func(name string) (limit, request string) {
		t.Helper()
		p, err := admin.CoreV1().Pods("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := p.Spec.Containers[0].Resources
		return r.Limits.Cpu().String(), r.Requests.Cpu().String()
	}
	templateCPU := func(name string) string {
		t.Helper()
		d, err := admin.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Cpu().String()
	}

	// The read-only account first, while nothing is engaged: it reads
	// every target and cannot change any.
	t.Run("reader", func(t *testing.T) {
		for _, target := range []string{config.KubeReplicas, config.KubeFlag, config.KubeCPULimits} {
			act := reader.acts[target]
			if _, err := act.(actuators.Reader).Current(ctx); err != nil {
				t.Errorf("%s: current: %v", target, err)
			}
			if _, _, err := act.(actuators.Tracker).Tracked(ctx); err != nil {
				t.Errorf("%s: tracked: %v", target, err)
			}
			for _, a := range []actuators.Action{engage(0.5), revert(0.5, 1)} {
				if target == config.KubeReplicas {
					a.To = 3
				}
				if target == config.KubeFlag {
					a.To = 1
				}
				if _, _, _, err := act.(actuators.Planner).Plan(ctx, a); err != nil {
					t.Errorf("%s: plan %s: %v", target, a.Op, err)
				}
			}
		}
		for target, a := range map[string]actuators.Action{
			config.KubeReplicas: engage(3), config.KubeFlag: engage(1), config.KubeCPULimits: engage(0.5),
		} {
			if err := reader.acts[target].Apply(ctx, a); !apierrors.IsForbidden(err) {
				t.Errorf("%s: apply as the reader: %v, want forbidden", target, err)
			}
		}
		if n, f, l := replicasOf("db"), flagOf(), templateCPU("batch"); n != 2 || f != "false" || l != "1" {
			t.Errorf("after the reader's applies: %d replicas, flag %q, batch template limit %s; want 2, false, 1 (unchanged)", n, f, l)
		}
		if l, _ := podCPU("worker"); l != "1" {
			t.Errorf("worker limit %s after the reader's apply, want 1", l)
		}
	})

	t.Run("presage/replicas", func(t *testing.T) {
		act := presage.acts[config.KubeReplicas]
		// Budget: (320 − 20) / 100 = 3 replicas.
		for _, want := range []struct {
			to     float64
			reason string
		}{{3, ""}, {3, actuators.ConnectionBudget}} {
			p, reason, err := planApply(ctx, act, engage(4))
			if err != nil {
				t.Fatalf("engage: %v", err)
			}
			if p.To != want.to || reason != want.reason || float64(replicasOf("db")) != want.to {
				t.Errorf("engage toward 4: planned %g reason %q, %d replicas; want %g %q", p.To, reason, replicasOf("db"), want.to, want.reason)
			}
		}
		if tr, ok, err := act.(actuators.Tracker).Tracked(ctx); err != nil || !ok || tr.From != 2 || tr.To != 3 {
			t.Errorf("tracked %+v %v %v, want 2 → 3", tr, ok, err)
		}
		if _, _, err := planApply(ctx, act, revert(3, 1)); err != nil {
			t.Fatalf("revert: %v", err)
		}
		if n := replicasOf("db"); n != 2 {
			t.Errorf("after revert: %d replicas, want 2", n)
		}
	})

	t.Run("presage/flag", func(t *testing.T) {
		act := presage.acts[config.KubeFlag]
		if _, _, err := planApply(ctx, act, engage(1)); err != nil {
			t.Fatalf("engage: %v", err)
		}
		if v := flagOf(); v != "true" {
			t.Errorf("engaged flag %q, want true", v)
		}
		if _, _, err := planApply(ctx, act, revert(1, 0)); err != nil {
			t.Fatalf("revert: %v", err)
		}
		if v := flagOf(); v != "false" {
			t.Errorf("reverted flag %q, want false", v)
		}
	})

	t.Run("presage/cpu_limits", func(t *testing.T) {
		act := presage.acts[config.KubeCPULimits]
		if _, _, err := planApply(ctx, act, engage(0.1)); err != nil {
			t.Fatalf("engage: %v", err)
		}
		if l, r := podCPU("worker"); l != "100m" || r != "100m" {
			t.Errorf("worker after engage 0.1: limit %s request %s, want 100m 100m (resized in place)", l, r)
		}
		if l, _ := podCPU("batch-1-a"); l != "1" {
			t.Errorf("batch-1-a limit %s, want 1: its resize would change its QoS class", l)
		}
		if l := templateCPU("batch"); l != "100m" {
			t.Errorf("batch template limit %s, want 100m (the fallback)", l)
		}
		if cur, err := act.(actuators.Reader).Current(ctx); err != nil || cur != 0.1 {
			t.Errorf("current %g %v, want 0.1", cur, err)
		}
		if _, _, err := planApply(ctx, act, revert(0.1, 1)); err != nil {
			t.Fatalf("revert: %v", err)
		}
		if l, r := podCPU("worker"); l != "1" || r != "500m" {
			t.Errorf("worker after revert: limit %s request %s, want 1 500m", l, r)
		}
		if l := templateCPU("batch"); l != "1" {
			t.Errorf("batch template limit %s after revert, want 1", l)
		}
	})

	// Leader election: the full Roles win the Lease (and release it),
	// the read-only ones cannot.
	for _, a := range []*account{presage, reader} {
		t.Run(a.o.ServiceAccount+"/leader election", func(t *testing.T) {
			e, err := leader.New(leader.Options{Config: withNamespace(cfg.Kubernetes.LeaderElection, "presage"), Client: a.cs, Identity: a.o.ServiceAccount})
			if err != nil {
				t.Fatal(err)
			}
			want := !a.o.ReadOnly
			wait := 10 * time.Second
			if !want {
				wait = 3 * time.Second // several retry periods
			}
			ctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			done := make(chan struct{})
			go func() { defer close(done); e.Run(ctx) }()
			for !e.Leading() && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
			}
			led := e.Leading()
			if led {
				time.Sleep(time.Second) // a renewal (update) or more
			}
			cancel()
			<-done
			if led != want {
				t.Errorf("led %v within %s, want %v", led, wait, want)
			}
		})
	}

	// Writes outside the Roles are refused.
	merge := func(s string) []byte { return []byte(s) }
	cs := presage.cs
	for name, call := range map[string]func() error{
		"patch the scaled Deployment's scale (the actuator updates it)": func() error {
			_, err := cs.AppsV1().Deployments("shop").Patch(ctx, "db", types.MergePatchType, merge(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}, "scale")
			return err
		},
		"update another Deployment's scale": func() error {
			s, err := admin.AppsV1().Deployments("shop").GetScale(ctx, "other", metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = cs.AppsV1().Deployments("shop").UpdateScale(ctx, "other", s, metav1.UpdateOptions{})
			return err
		},
		"patch another Deployment": func() error {
			_, err := cs.AppsV1().Deployments("shop").Patch(ctx, "other", types.MergePatchType, merge(`{"metadata":{"annotations":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		},
		"delete a Deployment": func() error {
			return cs.AppsV1().Deployments("shop").Delete(ctx, "other", metav1.DeleteOptions{})
		},
		"patch the flag (the actuator updates it)": func() error {
			_, err := cs.CoreV1().ConfigMaps("shop").Patch(ctx, "flags", types.MergePatchType, merge(`{"data":{"queue":"true"}}`), metav1.PatchOptions{})
			return err
		},
		"update another ConfigMap": func() error {
			cm, err := admin.CoreV1().ConfigMaps("shop").Get(ctx, "other-flags", metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = cs.CoreV1().ConfigMaps("shop").Update(ctx, cm, metav1.UpdateOptions{})
			return err
		},
		"create a ConfigMap": func() error {
			_, err := cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, metav1.CreateOptions{})
			return err
		},
		"patch a pod's resize (the actuator updates it)": func() error {
			_, err := cs.CoreV1().Pods("shop").Patch(ctx, "worker", types.StrategicMergePatchType,
				merge(`{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"900m"}}}]}}`), metav1.PatchOptions{}, "resize")
			return err
		},
		"update a pod": func() error {
			p, err := admin.CoreV1().Pods("shop").Get(ctx, "worker", metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = cs.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{})
			return err
		},
		"delete a pod": func() error {
			return cs.CoreV1().Pods("shop").Delete(ctx, "worker", metav1.DeleteOptions{})
		},
		"patch a ReplicaSet": func() error {
			_, err := cs.AppsV1().ReplicaSets("shop").Patch(ctx, "batch-1", types.MergePatchType, merge(`{"metadata":{"annotations":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		},
		"update another Lease": func() error {
			l, err := admin.CoordinationV1().Leases("presage").Get(ctx, "someone-else", metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = cs.CoordinationV1().Leases("presage").Update(ctx, l, metav1.UpdateOptions{})
			return err
		},
		"write in another namespace": func() error {
			_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		},
		"create a Lease as the reader": func() error {
			_, err := reader.cs.CoordinationV1().Leases("presage").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "presage-2"}}, metav1.CreateOptions{})
			return err
		},
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}

	// Least: every verb the Roles grant was used by the actuators or the
	// Elector (none is wider than their calls), and nothing else was let
	// through.
	for _, a := range []*account{presage, reader} {
		user := "system:serviceaccount:presage:" + a.o.ServiceAccount
		got, want := used(t, env, user), granted(a.rules)
		if !slices.Equal(got, want) {
			t.Errorf("%s: calls let through:\n%s\nthe Roles grant:\n%s", a.o.ServiceAccount, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func withNamespace(l config.LeaderElection, ns string) config.LeaderElection {
	l.Namespace = ns
	return l
}
