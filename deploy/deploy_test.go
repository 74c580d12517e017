// Package deploy holds presage's Kubernetes manifests and container build;
// its tests check them against a real API server and presage's own config
// validation and RBAC rules.
package deploy

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
	"github.com/presage-dev/presage/internal/rbac"
)

var update = flag.Bool("update", false, "rewrite rbac.yaml from the ConfigMap's config")

// objects decodes the YAML documents of a manifest file.
func objects(t *testing.T, file string) []runtime.Object {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubetest.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return objs
}

// manifests holds the objects of presage.yaml by kind.
type manifests struct {
	cm  *corev1.ConfigMap
	dep *appsv1.Deployment
	svc *corev1.Service
	sa  *corev1.ServiceAccount
}

func load(t *testing.T) manifests {
	var m manifests
	for _, o := range objects(t, "presage.yaml") {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			m.cm = o
		case *appsv1.Deployment:
			m.dep = o
		case *corev1.Service:
			m.svc = o
		case *corev1.ServiceAccount:
			m.sa = o
		}
	}
	if m.cm == nil || m.dep == nil || m.svc == nil || m.sa == nil {
		t.Fatalf("presage.yaml lacks a ConfigMap, Deployment, Service or ServiceAccount: %+v", m)
	}
	return m
}

// deployConfig is the config of the ConfigMap, validated as presage does.
func deployConfig(t *testing.T, m manifests) *config.Config {
	t.Helper()
	data, ok := m.cm.Data["config.yaml"]
	if !ok {
		t.Fatal("ConfigMap has no config.yaml")
	}
	cfg, err := config.Load([]byte(data), "presage.yaml:ConfigMap/presage-config")
	if err != nil {
		t.Fatalf("the ConfigMap's config is invalid: %v", err)
	}
	return cfg
}

// TestManifests checks what ties the manifests together: the config is
// valid and turns leader election on for the Deployment's two replicas, the
// pod mounts it where its args read it, runs as the Dockerfile's non-root
// user, the Service reaches the metrics port, bound on the pod's address
// only, and rbac.yaml is what presage rbac prints for the config.
func TestManifests(t *testing.T) {
	m := load(t)
	cfg := deployConfig(t, m)
	if !cfg.Kubernetes.LeaderElection.Enabled {
		t.Error("leader election is off in the ConfigMap's config")
	}
	d := m.dep.Spec
	if d.Replicas == nil || *d.Replicas != 2 {
		t.Errorf("Deployment replicas %v, want 2", d.Replicas)
	}
	pod := d.Template.Spec
	if pod.ServiceAccountName != m.sa.Name {
		t.Errorf("pod service account %q, want %q", pod.ServiceAccountName, m.sa.Name)
	}
	c := pod.Containers[0]
	var mount string
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == m.cm.Name {
				mount = vm.MountPath
			}
		}
	}
	if i := slices.Index(c.Args, "-config"); mount == "" || i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != path.Join(mount, "config.yaml") {
		t.Errorf("args %q do not read the ConfigMap's config.yaml mounted at %q", c.Args, mount)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	}) {
		t.Error("no POD_NAMESPACE from the downward API: the Lease's namespace")
	}
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("pod security context %+v: want runAsNonRoot and user 65532", sc)
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("container root filesystem not read-only")
	}
	// The metrics port is bound on the pod's address, for the Service and
	// the probes, and on no other interface; the config alone binds
	// loopback. /readyz stays terse: it is unauthenticated.
	if host, _, err := net.SplitHostPort(cfg.Global.Listen); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("global.listen %q: want a loopback address (the pod's address comes from -listen)", cfg.Global.Listen)
	}
	listen := ""
	if i := slices.Index(c.Args, "-listen"); i >= 0 && i+1 < len(c.Args) {
		listen = c.Args[i+1]
	}
	if host, port, err := net.SplitHostPort(listen); err != nil || host != "$(POD_IP)" || len(c.Ports) == 0 || port != "9797" || c.Ports[0].ContainerPort != 9797 {
		t.Errorf("-listen %q and container ports %v: want the pod's address, [$(POD_IP)], on the container's port", listen, c.Ports)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_IP" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP"
	}) {
		t.Error("no POD_IP from the downward API: the address -listen binds")
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.Contains(a, "verbose-ready") }) {
		t.Error("args set -web.verbose-ready: /readyz is reached unauthenticated through the Service")
	}
	for k, v := range m.svc.Spec.Selector {
		if d.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pods", k, v)
		}
	}
	if m.svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
		t.Errorf("Service targets port %q, the container's is %q", m.svc.Spec.Ports[0].TargetPort.StrVal, c.Ports[0].Name)
	}

	// rbac.yaml is presage rbac's output with its default flags, which
	// name this ServiceAccount and namespace.
	o := rbac.Options{ServiceAccount: m.sa.Name, Namespace: m.sa.Namespace}
	var want bytes.Buffer
	if err := rbac.Write(&want, rbac.Rules(cfg, o), o); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("rbac.yaml", want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("rbac.yaml is not what presage rbac prints for the ConfigMap's config (go test ./deploy -update rewrites it):\n%s", want.String())
	}
}

// TestDockerfile checks the image is a static binary run as non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(froms) < 2 {
		t.Fatalf("want a build stage and a final stage, got %d FROM lines", len(froms))
	}
	final := froms[len(froms)-1][1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %s: want distroless/static or scratch (no libc: a static binary)", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/presage"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^USER\s+(65532|nonroot)`).MatchString(s) {
		t.Error("Dockerfile does not switch to the nonroot user")
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(mod))
	if goVersion == nil || !strings.Contains(s, "golang:"+goVersion[1]) {
		t.Errorf("build stage's Go is not go.mod's (%v)", goVersion)
	}
}

// TestApply creates every object of presage.yaml and rbac.yaml on a real API
// server, which validates them as a cluster would.
func TestApply(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	cs := env.Client
	// The namespace of the objects presage acts on exists in a cluster.
	env.Namespace(t, "shop")
	for _, file := range []string{"presage.yaml", "rbac.yaml"} {
		for _, o := range objects(t, file) {
			if err := kubetest.Create(ctx, cs, o); err != nil {
				t.Errorf("%s: create %T: %v", file, o, err)
			}
		}
	}
	d, err := cs.AppsV1().Deployments("presage").Get(ctx, "presage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("stored Deployment has %d replicas", *d.Spec.Replicas)
	}
}
