package kubetest

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestStart starts the API server, checks its version, and shows that a
// ServiceAccount with no role is refused a write: RBAC is on.
func TestStart(t *testing.T) {
	e := Start(t)
	v, err := e.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != KubeVersion {
		t.Errorf("server version %s, want %s", v.GitVersion, KubeVersion)
	}

	sa := e.ServiceAccount(t, "shop", "nobody")
	cs, err := kubernetes.NewForConfig(sa)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().ConfigMaps("shop").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("write as a service account without a role: %v, want forbidden", err)
	}

	// The kubeconfig file works for the admin.
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig(t, e.Config))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Get(context.Background(), "shop", metav1.GetOptions{}); err != nil {
		t.Errorf("admin from kubeconfig: %v", err)
	}
}

// TestAudit shows the audit log holds each request of a user with its verb,
// object and answer.
func TestAudit(t *testing.T) {
	e := StartAudited(t)
	cs, err := kubernetes.NewForConfig(e.ServiceAccount(t, "shop", "nobody"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create: %v, want forbidden", err)
	}
	evs := e.AuditEvents(t, "system:serviceaccount:shop:nobody")
	if len(evs) != 1 {
		t.Fatalf("%d audit events of the service account, want 1: %+v", len(evs), evs)
	}
	ev := evs[0]
	if ev.Verb != "create" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "configmaps" || ev.ObjectRef.Namespace != "shop" || ev.Code() != 403 {
		t.Errorf("audit event %+v, want a refused create of a configmap in shop", ev)
	}
	if len(e.AuditEvents(t, "")) <= 1 {
		t.Error("no admin requests in the audit log")
	}
}
