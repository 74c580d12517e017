// Package kubetest starts a real kube-apiserver with etcd for presage's
// Kubernetes tests, through controller-runtime's envtest, and makes clients
// for it: the admin, and a ServiceAccount token like the one presage runs
// with in a cluster.
//
// The binaries come from KUBEBUILDER_ASSETS, else from the cache that
// scripts/kube-assets.sh fills (scripts/test.sh runs it and sets the
// variable). Where neither has them the tests skip and say so.
//
// Start runs no kubelet, scheduler or controller-manager: objects are
// stored and validated, nothing runs them. A test creates pods directly,
// and a Deployment's status is whatever the test writes.
//
// StartCluster adds a control plane that acts, for the end-to-end tests: a
// kube-controller-manager and a kube-scheduler of the API server's version
// and KWOK (Kubernetes WithOut Kubelet), whose fake nodes run the pods:
// Pending → Running at once → Ready after the pod's ReadyDelay annotation.
// Those binaries come from PRESAGE_KUBE_CLUSTER, else from the cache that
// scripts/kube-cluster-assets.sh fills; where they are absent the tests
// skip and say which.
package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Versions of the binaries scripts/kube-assets.sh builds by default.
const (
	KubeVersion = "v1.37.2"
	EtcdVersion = "v3.6.16"
)

// Env is a running API server.
type Env struct {
	// Config is the admin's (system:masters) client config.
	Config *rest.Config
	// Client is the admin's clientset.
	Client kubernetes.Interface

	env   *envtest.Environment
	audit string // the audit log, when on
}

// Assets returns the folder holding kube-apiserver and etcd, or "" when
// there is none.
func Assets() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	cache := os.Getenv("PRESAGE_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(base, "presage")
	}
	d := filepath.Join(cache, "kube", "kube-apiserver-"+KubeVersion+"-etcd-"+EtcdVersion)
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(d, bin)); err != nil {
			return ""
		}
	}
	return d
}

// Start starts an API server and etcd for t and stops them when t ends.
// It skips t when the binaries are absent.
func Start(t testing.TB) *Env {
	t.Helper()
	return start(t, nil)
}

// start starts the API server with extra flags.
func start(t testing.TB, flags map[string]string) *Env {
	t.Helper()
	assets := Assets()
	if assets == "" {
		t.Skip("kube-apiserver and etcd not found: run scripts/kube-assets.sh and set KUBEBUILDER_ASSETS to the folder it prints (scripts/test.sh does both)")
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	api := e.ControlPlane.GetAPIServer()
	api.Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none")
	for k, v := range flags {
		api.Configure().Set(k, v)
	}
	cfg, err := e.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver and etcd from %s: %v", assets, err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop kube-apiserver: %v", err)
		}
	})
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Client: cs}
}

// Kubeconfig writes a kubeconfig file for cfg into a temporary folder of t
// and returns its path.
func Kubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	b, err := kubeconfigBytes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ServiceAccount creates the namespace (when missing) and the
// ServiceAccount namespace/name, and returns a client config that
// authenticates with a token of it, as presage does in a cluster.
func (e *Env) ServiceAccount(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	e.Namespace(t, namespace)
	_, err := e.Client.CoreV1().ServiceAccounts(namespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("create service account %s/%s: %v", namespace, name, err)
	}
	exp := int64(3600)
	tr, err := e.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for service account %s/%s: %v", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(e.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// Namespace creates the namespace name when it is missing.
func (e *Env) Namespace(t testing.TB, name string) {
	t.Helper()
	_, err := e.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// ConfigMap creates the ConfigMap namespace/name holding data.
func (e *Env) ConfigMap(t testing.TB, namespace, name string, data map[string]string) {
	t.Helper()
	_, err := e.Client.CoreV1().ConfigMaps(namespace).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ConfigMap %s/%s: %v", namespace, name, err)
	}
}

// Deployment creates the Deployment namespace/name of replicas pods
// labelled app=name, each one container "app" with res. Nothing runs them.
func (e *Env) Deployment(t testing.TB, namespace, name string, replicas int32, res corev1.ResourceRequirements) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := e.Client.AppsV1().Deployments(namespace).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Resources: res}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Deployment %s/%s: %v", namespace, name, err)
	}
}
