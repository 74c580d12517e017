package kubetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

var (
	docSep  = regexp.MustCompile(`(?m)^---\n`)
	comment = regexp.MustCompile(`(?m)^\s*#.*$`)
)

// Decode decodes the YAML documents of a manifest (documents holding only
// comments are skipped) into typed objects.
func Decode(manifest []byte) ([]runtime.Object, error) {
	var out []runtime.Object
	for _, doc := range docSep.Split(string(manifest), -1) {
		if strings.TrimSpace(comment.ReplaceAllString(doc, "")) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, doc)
		}
		out = append(out, obj)
	}
	return out, nil
}

// Apply creates, as the admin, every object of a manifest, with strict
// field validation, as kubectl create would; it fails t on the first
// refusal.
func (e *Env) Apply(t testing.TB, manifest []byte) {
	t.Helper()
	objs, err := Decode(manifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := Create(context.Background(), e.Client, o); err != nil {
			t.Fatalf("create %T: %v", o, err)
		}
	}
}

// Create creates o, one of the kinds presage's manifests use.
func Create(ctx context.Context, cs kubernetes.Interface, o runtime.Object) error {
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	var err error
	switch o := o.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *corev1.ConfigMap:
		_, err = cs.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, opts)
	case *corev1.Service:
		_, err = cs.CoreV1().Services(o.Namespace).Create(ctx, o, opts)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRole:
		_, err = cs.RbacV1().ClusterRoles().Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	default:
		return fmt.Errorf("kubetest: no create for %s", o.GetObjectKind().GroupVersionKind())
	}
	return err
}
