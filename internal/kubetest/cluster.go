package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Versions of the binaries scripts/kube-cluster-assets.sh builds by default
// (kube-controller-manager and kube-scheduler are KubeVersion).
const KwokVersion = "v0.8.0"

// ReadyDelay is the pod annotation that says how long a pod stays Running
// but not Ready on a fake node (a Go duration, "20s"; absent: at once).
// Put it on a workload's pod template to give its pods a warm-up.
const ReadyDelay = "pod-ready.stage.kwok.x-k8s.io/delay"

// ResizeDelay is how long after an in-place resize (the pods/resize
// subresource) KWOK reports it done: the container
// statuses' resources become the spec's, as a kubelet that supports resize
// reports them once it has applied them.
const ResizeDelay = time.Second

// FakeNode is the annotation that makes KWOK manage a node.
const FakeNode = "kwok.x-k8s.io/node"

// Cluster is an API server (audited) with a control plane that acts: a
// kube-controller-manager (the Deployment, ReplicaSet and StatefulSet
// controllers), a kube-scheduler, and KWOK running fake nodes whose pods go
// Pending → Running at once and → Ready after their ReadyDelay.
type Cluster struct {
	*Env
	// Nodes names the fake nodes.
	Nodes []string
}

// ClusterAssets returns the folder that should hold kube-controller-manager,
// kube-scheduler and kwok (PRESAGE_KUBE_CLUSTER, else the cache that
// scripts/kube-cluster-assets.sh fills) and those of them it lacks.
func ClusterAssets() (dir string, missing []string) {
	dir = os.Getenv("PRESAGE_KUBE_CLUSTER")
	if dir == "" {
		cache := os.Getenv("PRESAGE_CACHE")
		if cache == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return "", clusterBinaries
			}
			cache = filepath.Join(base, "presage")
		}
		dir = filepath.Join(cache, "kube", "cluster-"+KubeVersion+"-kwok-"+KwokVersion)
	}
	for _, bin := range clusterBinaries {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			missing = append(missing, bin)
		}
	}
	return dir, missing
}

var clusterBinaries = []string{"kube-controller-manager", "kube-scheduler", "kwok"}

// StartCluster starts an audited API server and etcd, a controller-manager,
// a scheduler, KWOK and nodes fake nodes, all on loopback, and stops them
// when t ends. It skips t, naming what is missing, when a binary is absent.
func StartCluster(t testing.TB, nodes int) *Cluster {
	t.Helper()
	if Assets() == "" {
		t.Skip("kube-apiserver and etcd not found: run scripts/kube-assets.sh and set KUBEBUILDER_ASSETS to the folder it prints (scripts/test.sh does both)")
	}
	dir, missing := ClusterAssets()
	if len(missing) > 0 {
		t.Skipf("%s not found in %q: run scripts/kube-cluster-assets.sh and set PRESAGE_KUBE_CLUSTER to the folder it prints (scripts/test.sh does both)", strings.Join(missing, ", "), dir)
	}
	env := StartAudited(t)
	c := &Cluster{Env: env}
	kc := Kubeconfig(t, env.Config)
	tmp := t.TempDir()
	stages := filepath.Join(tmp, "kwok.yaml")
	if err := os.WriteFile(stages, []byte(kwokConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(t, filepath.Join(dir, "kube-controller-manager"), tmp,
		"--kubeconfig="+kc, "--controllers=deployment,replicaset,statefulset",
		"--use-service-account-credentials=false", "--leader-elect=false", "--secure-port=0",
		"--concurrent-deployment-syncs=2", "--concurrent-replicaset-syncs=2", "--concurrent-statefulset-syncs=2")
	c.run(t, filepath.Join(dir, "kube-scheduler"), tmp,
		"--kubeconfig="+kc, "--leader-elect=false", "--secure-port=0")
	c.run(t, filepath.Join(dir, "kwok"), tmp,
		"--kubeconfig="+kc, "--config="+stages, "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+FakeNode+"=fake", "--server-address=127.0.0.1:0",
		"--cidr=10.244.0.1/16", "--node-ip=10.0.0.1")
	for i := range nodes {
		c.node(t, fmt.Sprintf("fake-%d", i))
	}
	return c
}

// run starts bin with args, its output in a file of dir that t logs when
// it fails, and stops it when t ends.
func (c *Cluster) run(t testing.TB, bin, dir string, args ...string) {
	t.Helper()
	name := filepath.Base(bin)
	out, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("--- %s (the end of its log):\n%s", name, b)
		}
	})
}

// node creates a fake node KWOK manages (4 CPUs, 16 GiB, 110 pods) and
// waits until it is Ready.
func (c *Cluster) node(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	_, err := c.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{FakeNode: "fake"},
			Labels: map[string]string{"kubernetes.io/hostname": name, "type": "kwok"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	// A merge patch: KWOK writes the status's conditions meanwhile.
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"capacity": res, "allocatable": res}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
	c.Nodes = append(c.Nodes, name)
	Eventually(t, time.Minute, "KWOK makes node "+name+" Ready", func() bool {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	// The API server taints a new node not-ready (TaintNodesByCondition);
	// the node lifecycle controller, which would lift it, is not run (it
	// would want heartbeats KWOK's Stages do not send).
	untaint := []byte(`{"spec":{"taints":null}}`)
	if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, untaint, metav1.PatchOptions{}); err != nil {
		t.Fatalf("untaint node %s: %v", name, err)
	}
}

// Eventually polls cond every 100 ms until it holds; it fails t after
// timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PodsReady returns how many pods of namespace matching selector are
// Ready, and how many there are (not terminating).
func (c *Cluster) PodsReady(t testing.TB, namespace, selector string) (ready, all int) {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		all++
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready, all
}

// kwokConfig holds the Stages KWOK runs: the fake nodes become Ready; a
// scheduled pod becomes Running (not Ready) at once, then Ready after its
// ReadyDelay annotation; a deleted pod goes at once. The node stage is
// KWOK's node-initialize (kustomize/stage/node/fast), shortened. The
// container statuses report the containers' resources, as a kubelet that
// supports in-place resize does (the API server refuses a resize of a pod
// whose running containers report none); a resize is reported done
// ResizeDelay after the spec changed (pod-resize), with no
// PodResizePending or PodResizeInProgress condition in between.
var kwokConfig = strings.TrimLeft(`
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ NodeName | Quote }}
        type: Hostname
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ with .resources }}resources:{{ YAML . 5 }}{{ end }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '.metadata.annotations["`+ReadyDelay+`"]'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ with .resources }}resources:{{ YAML . 5 }}{{ end }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-resize
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
    - key: '[.spec.containers[] | .resources // {}] == [.status.containerStatuses[] | .resources // {}]'
      operator: 'In'
      values: ['false']
  delay:
    durationMilliseconds: `+strconv.Itoa(int(ResizeDelay/time.Millisecond))+`
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      containerStatuses:
      {{ range $i, $c := .spec.containers }}
      {{ $old := index $root.status.containerStatuses $i }}
      - image: {{ $c.image | Quote }}
        name: {{ $c.name | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $old.state.running.startedAt | Quote }}
        {{ with $c.resources }}resources:{{ YAML . 5 }}{{ end }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`, "\n")

// StatefulSet creates the StatefulSet namespace/name of replicas pods
// labelled app=name, started in parallel (podManagementPolicy Parallel),
// each Ready readyDelay after it runs (ReadyDelay).
func (c *Cluster) StatefulSet(t testing.TB, namespace, name string, replicas int32, readyDelay time.Duration) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := c.Client.AppsV1().StatefulSets(namespace).Create(context.Background(), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas, ServiceName: name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template:            template(labels, readyDelay, corev1.ResourceRequirements{})},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create StatefulSet %s/%s: %v", namespace, name, err)
	}
}

// ReadyDeployment creates the Deployment namespace/name of replicas pods
// labelled app=name and the extra labels, each one container "app" with
// res, Ready readyDelay after it runs (ReadyDelay).
func (c *Cluster) ReadyDeployment(t testing.TB, namespace, name string, replicas int32, readyDelay time.Duration, res corev1.ResourceRequirements, extra map[string]string) {
	t.Helper()
	labels := map[string]string{"app": name}
	for k, v := range extra {
		labels[k] = v
	}
	_, err := c.Client.AppsV1().Deployments(namespace).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(labels, readyDelay, res)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Deployment %s/%s: %v", namespace, name, err)
	}
}

func template(labels map[string]string, readyDelay time.Duration, res corev1.ResourceRequirements) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{ReadyDelay: readyDelay.String()}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Resources: res}},
			TerminationGracePeriodSeconds: new(int64)},
	}
}
