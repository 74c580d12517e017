package rbac

import (
	"bytes"
	"context"
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

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/leader"
	"github.com/presage-dev/presage/internal/kubetest"
)

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
			},
		},
	}
}

// TestRolesOnAPIServer binds the rules presage rbac prints to a
// ServiceAccount on a real API server and makes, with its token, every call
// the configured actions and leader election make: each succeeds. Writes
// outside the rules are refused; the read-only rules (presage recommend)
// allow the reads and refuse every write.
func TestRolesOnAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	admin := env.Client
	ctx := context.Background()
	cfg := testConfig(t, "leader_election:\n  enabled: true\n  lease_duration: 3s\n  renew_deadline: 2s\n  retry_period: 250ms\n",
		"target: replicas\nnamespace: shop\nname: db-read\n",
		"target: flag\nnamespace: shop\nname: flags\nkey: queue\n",
		"target: cpu_limits\nnamespace: shop\nselector: tier=low\n")

	// The objects the actions change, and others they must not.
	env.Namespace(t, "shop")
	for _, name := range []string{"db-read", "other"} {
		if _, err := admin.AppsV1().Deployments("shop").Create(ctx, deployment(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"flags", "other-flags"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"queue": "false"}}
		if _, err := admin.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cpu := resource.MustParse("500m")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Labels: map[string]string{"tier": "low"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: cpu}, Requests: corev1.ResourceList{corev1.ResourceCPU: cpu}}}}},
	}
	if _, err := admin.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Namespace(t, "presage")
	otherLease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "someone-else"}}
	if _, err := admin.CoordinationV1().Leases("presage").Create(ctx, otherLease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	clients := map[string]kubernetes.Interface{}
	for _, ro := range []bool{false, true} {
		o := Options{ReadOnly: ro}
		o.ServiceAccount = "presage"
		if ro {
			o.ServiceAccount = "reader"
		}
		var buf bytes.Buffer
		if err := Write(&buf, Rules(cfg, o), o); err != nil {
			t.Fatal(err)
		}
		env.Apply(t, buf.Bytes())
		cs, err := kubernetes.NewForConfig(env.ServiceAccount(t, "presage", o.ServiceAccount))
		if err != nil {
			t.Fatal(err)
		}
		clients[o.ServiceAccount] = cs
	}

	merge := func(s string) []byte { return []byte(s) }
	scalePatch := merge(`{"spec":{"replicas":3}}`)
	annotate := merge(`{"metadata":{"annotations":{"presage.dev/original":"1"}}}`)
	resize := merge(`{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"250m"},"requests":{"cpu":"250m"}}}]}}`)
	type call func(ctx context.Context, cs kubernetes.Interface) error
	scale := func(name string) call {
		return func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("shop").Patch(ctx, name, types.MergePatchType, scalePatch, metav1.PatchOptions{}, "scale")
			return err
		}
	}
	calls := []struct {
		name  string
		call  call
		allow map[string]bool // by ServiceAccount
	}{
		// replicas
		{"get the scale", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("shop").GetScale(ctx, "db-read", metav1.GetOptions{})
			return err
		}, map[string]bool{"presage": true, "reader": true}},
		{"patch the scale", scale("db-read"), map[string]bool{"presage": true}},
		{"update the scale", func(ctx context.Context, cs kubernetes.Interface) error {
			s, err := cs.AppsV1().Deployments("shop").GetScale(ctx, "db-read", metav1.GetOptions{})
			if err != nil {
				return err
			}
			s.Spec.Replicas = 2
			_, err = cs.AppsV1().Deployments("shop").UpdateScale(ctx, "db-read", s, metav1.UpdateOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"annotate the scaled deployment", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("shop").Patch(ctx, "db-read", types.MergePatchType, annotate, metav1.PatchOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"patch another deployment's scale", scale("other"), nil},
		{"update a deployment", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("shop").Update(ctx, deployment("db-read"), metav1.UpdateOptions{})
			return err
		}, nil},
		// flag
		{"get the flag", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "flags", metav1.GetOptions{})
			return err
		}, map[string]bool{"presage": true, "reader": true}},
		{"patch the flag", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps("shop").Patch(ctx, "flags", types.MergePatchType, merge(`{"data":{"queue":"true"}}`), metav1.PatchOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"update the flag", func(ctx context.Context, cs kubernetes.Interface) error {
			cm, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "flags", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data["queue"] = "false"
			_, err = cs.CoreV1().ConfigMaps("shop").Update(ctx, cm, metav1.UpdateOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"patch another ConfigMap", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps("shop").Patch(ctx, "other-flags", types.MergePatchType, merge(`{"data":{"queue":"true"}}`), metav1.PatchOptions{})
			return err
		}, nil},
		{"create a ConfigMap", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, metav1.CreateOptions{})
			return err
		}, nil},
		// cpu_limits
		{"list the pods", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "tier=low"})
			return err
		}, map[string]bool{"presage": true, "reader": true}},
		{"annotate a pod", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Pods("shop").Patch(ctx, "worker", types.MergePatchType, annotate, metav1.PatchOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"resize a pod", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Pods("shop").Patch(ctx, "worker", types.StrategicMergePatchType, resize, metav1.PatchOptions{}, "resize")
			return err
		}, map[string]bool{"presage": true}},
		{"patch a pod template", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("shop").Patch(ctx, "other", types.StrategicMergePatchType, resize, metav1.PatchOptions{})
			return err
		}, map[string]bool{"presage": true}},
		{"delete a pod", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Pods("shop").Delete(ctx, "worker", metav1.DeleteOptions{})
		}, nil},
		// leader election (the elector itself is below)
		{"update another Lease", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoordinationV1().Leases("presage").Update(ctx, otherLease.DeepCopy(), metav1.UpdateOptions{})
			return err
		}, nil},
		{"write in another namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}, nil},
	}

	// The authorizer learns of new bindings through an informer: wait
	// until the first allowed call is.
	deadline := time.Now().Add(30 * time.Second)
	for _, sa := range []string{"presage", "reader"} {
		for {
			err := calls[0].call(ctx, clients[sa])
			if err == nil {
				break
			}
			if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
				t.Fatalf("%s: %s: %v", sa, calls[0].name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, c := range calls {
		for _, sa := range []string{"presage", "reader"} {
			t.Run(sa+"/"+c.name, func(t *testing.T) {
				err := c.call(ctx, clients[sa])
				switch {
				case c.allow[sa] && err != nil:
					t.Errorf("refused: %v", err)
				case !c.allow[sa] && !apierrors.IsForbidden(err):
					t.Errorf("got %v, want forbidden", err)
				}
			})
		}
	}

	// Leader election as the ServiceAccount: it acquires the Lease.
	for _, sa := range []string{"presage", "reader"} {
		t.Run(sa+"/leader election", func(t *testing.T) {
			e, err := leader.New(leader.Options{Config: withNamespace(cfg.Kubernetes.LeaderElection, "presage"), Client: clients[sa], Identity: sa})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			done := make(chan struct{})
			go func() { defer close(done); e.Run(ctx) }()
			for !e.Leading() && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
			}
			led := e.Leading()
			cancel()
			<-done
			if want := sa == "presage"; led != want {
				t.Errorf("led %v within 10s, want %v", led, want)
			}
		})
	}
	_, err := clients["reader"].CoordinationV1().Leases("presage").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "presage-2"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("read-only create lease: %v, want forbidden", err)
	}
}

func withNamespace(l config.LeaderElection, ns string) config.LeaderElection {
	l.Namespace = ns
	return l
}
