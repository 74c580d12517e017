package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/internal/kubetest"
)

// deployState is a Deployment's replicas, ready replicas and annotations.
func deployState(t *testing.T, c *kubetest.Cluster, ns, name string) (spec, ready int32, ann map[string]string) {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas, d.Status.ReadyReplicas, d.Annotations
}

// TestE2EDeploymentOverridden: presage scales the Deployment shop/app from
// 2 to 4 through /scale; its pods become Ready 5 s after they run. Then
// the test, playing an HPA, scales it to 6 through /scale. When presage's
// policy reverts, presage finds the count someone else set: it marks the
// change Overridden (presage_overridden_total, its record removed) and
// leaves the 6 replicas: its only write to the scale is the scale-up.
func TestE2EDeploymentOverridden(t *testing.T) {
	c := kubetest.StartCluster(t, 2)
	ctx := context.Background()
	const delay = 5 * time.Second
	c.Namespace(t, "shop")
	c.Namespace(t, "presage")
	c.ReadyDeployment(t, "shop", "app", 2, delay, corev1.ResourceRequirements{}, nil)
	kubetest.Eventually(t, time.Minute, "2 app pods Ready", func() bool {
		_, r, _ := deployState(t, c, "shop", "app")
		return r == 2
	})
	cfg := writeTestFile(t, t.TempDir(), "e2e.yaml", e2eConfig("", `      - name: app-replicas
        actuator:
          kind: kube
          kube: {target: replicas, namespace: shop, name: app}
        warmup: 10s
        min: 2
        max: 4
        cooldown: 1m
        revert_after: 5m`))
	kc := serviceAccount(t, c, cfg, "presage")
	run, url := startLoop(t, "run", cfg, "-kubeconfig", kc, "-policy", "reactive", "-speed", e2eSpeed)

	decided := lineTime(t, run.waitFor(t, &run.stderr, regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=decision .*action=app-replicas op=engage to=4$`), 90*time.Second)[0])
	var ready4 time.Time
	kubetest.Eventually(t, delay+30*time.Second, "4 app pods Ready", func() bool {
		n, r, _ := deployState(t, c, "shop", "app")
		if n == 4 && r == 4 {
			ready4 = time.Now()
			return true
		}
		return false
	})
	t.Logf("presage scaled app 2 → 4; 4 Ready %s after the decision (readiness delay %s, configured warmup 10s)", ready4.Sub(decided).Round(time.Millisecond), delay)

	// The HPA scales it to 6 meanwhile.
	sc, err := c.Client.AppsV1().Deployments("shop").GetScale(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 6
	if _, err := c.Client.AppsV1().Deployments("shop").UpdateScale(ctx, "app", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := time.Now()
	yield := run.waitFor(t, &run.stderr, regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="someone else changed the value presage set: presage stops managing it" .*action=app-replicas.* reason=Overridden .*set=4 live=6$`), 2*time.Minute)
	t.Logf("the HPA scaled app to 6; presage yielded %s later, at its revert: %s", lineTime(t, yield[0]).Sub(hpa).Round(time.Millisecond), yield[0])
	if v, _ := metric(url+"/metrics", "presage_overridden_total", "service", "checkout", "action", "app-replicas"); v != 1 {
		t.Errorf("presage_overridden_total %v, want 1", v)
	}
	kubetest.Eventually(t, 30*time.Second, "6 app pods Ready, presage's record removed", func() bool {
		n, r, ann := deployState(t, c, "shop", "app")
		return n == 6 && r == 6 && ann["presage.dev/original-replicas"] == "" && ann["presage.dev/set-replicas"] == ""
	})
	time.Sleep(3 * time.Second) // a few more steps: presage must not fight
	stop(t, run)
	if n, _, _ := deployState(t, c, "shop", "app"); n != 6 {
		t.Errorf("app has %d replicas after presage yielded, want the HPA's 6", n)
	}
	w := writesBy(t, c, "system:serviceaccount:presage:presage")
	t.Logf("presage's writes: %v", w)
	if count(w, "update deployments/scale app 200") != 1 || count(w, "patch deployments app 200") != 2 || len(w) != 3 {
		t.Errorf("presage's writes %v: want the record, the scale-up, and the record removed; nothing else", w)
	}
}

// TestE2EFlagAndCPU: presage engages, one after the other, the async queue
// (a ConfigMap key), then lowers the CPU limits of the non-critical pods
// of two Deployments to half. In shop the pods are resized in place (the
// pods/resize subresource); in batch presage's Role lacks pods/resize, as
// on a cluster that refuses in-place resizes, so presage changes the
// Deployment's pod template instead and the Deployment controller rolls
// the pods. Then it reverts all three. KWOK runs no kubelet: its Stages
// report the containers' resources in the pods' status (without which the
// API server refuses a resize) and report a resize done a second after the
// spec changed (kubetest.ResizeDelay), which the test waits for and logs;
// no PodResizePending or PodResizeInProgress condition is ever set.
func TestE2EFlagAndCPU(t *testing.T) {
	c := kubetest.StartCluster(t, 2)
	ctx := context.Background()
	for _, ns := range []string{"shop", "batch", "presage"} {
		c.Namespace(t, ns)
	}
	c.ConfigMap(t, "shop", "flags", map[string]string{"async_queue": "false"})
	res := corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	low := map[string]string{"tier": "low"}
	c.ReadyDeployment(t, "shop", "worker", 2, time.Second, res, low)
	c.ReadyDeployment(t, "batch", "batch", 2, time.Second, res, low)
	kubetest.Eventually(t, time.Minute, "the worker and batch pods Ready", func() bool {
		r1, _ := c.PodsReady(t, "shop", "tier=low")
		r2, _ := c.PodsReady(t, "batch", "tier=low")
		return r1 == 2 && r2 == 2
	})
	cpu := func(ns string) string {
		return `      - name: ` + ns + `-cpu
        actuator: {kind: kube, kube: {target: cpu_limits, namespace: ` + ns + `, selector: tier=low}}
        warmup: 10s
        min: 0.5
        max: 1
        baseline: 1
        engaged: 0.5
        cooldown: 1m
        revert_after: 5m`
	}
	cfg := writeTestFile(t, t.TempDir(), "e2e.yaml", e2eConfig("", `      - name: async-queue
        actuator: {kind: kube, kube: {target: flag, namespace: shop, name: flags, key: async_queue}}
        warmup: 10s
        cooldown: 1m
        revert_after: 5m
`+cpu("shop")+"\n"+cpu("batch")))
	rules := cli(t, "rbac", "-config", cfg)
	if rules.code != 0 {
		t.Fatalf("presage rbac: %v", rules)
	}
	noResize := "  # checkout/batch-cpu (cpu_limits)\n  - apiGroups: [\"\"]\n    resources: [\"pods/resize\"]\n    verbs: [\"update\"]\n"
	if !strings.Contains(rules.stdout, noResize) {
		t.Fatalf("presage rbac prints no pods/resize rule for batch:\n%s", rules.stdout)
	}
	c.Apply(t, []byte(strings.Replace(rules.stdout, noResize, "", 1)))
	kc := kubetest.Kubeconfig(t, c.ServiceAccount(t, "presage", "presage"))
	run, _ := startLoop(t, "run", cfg, "-kubeconfig", kc, "-policy", "reactive", "-speed", e2eSpeed)

	flag := func() string {
		cm, err := c.Client.CoreV1().ConfigMaps("shop").Get(ctx, "flags", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["async_queue"]
	}
	limits := func(ns string) (specs, statuses []string) {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "tier=low"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			specs = append(specs, p.Spec.Containers[0].Resources.Limits.Cpu().String())
			st := "none"
			if cs := p.Status.ContainerStatuses; len(cs) > 0 && cs[0].Resources != nil {
				st = cs[0].Resources.Limits.Cpu().String()
			}
			for _, cond := range p.Status.Conditions {
				if strings.HasPrefix(string(cond.Type), "PodResize") {
					st += "," + string(cond.Type)
				}
			}
			statuses = append(statuses, st)
		}
		return specs, statuses
	}
	all := func(ss []string, v string) bool {
		for _, s := range ss {
			if s != v {
				return false
			}
		}
		return len(ss) > 0
	}
	template := func() string {
		d, err := c.Client.AppsV1().Deployments("batch").Get(ctx, "batch", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Cpu().String()
	}

	start := time.Now()
	var flagOn, shopLow, batchLow time.Time
	kubetest.Eventually(t, 90*time.Second, "the flag on and both CPU actions engaged", func() bool {
		if flagOn.IsZero() && flag() == "true" {
			flagOn = time.Now()
		}
		if s, _ := limits("shop"); shopLow.IsZero() && all(s, "500m") {
			shopLow = time.Now()
		}
		if batchLow.IsZero() && template() == "500m" {
			batchLow = time.Now()
		}
		return !flagOn.IsZero() && !shopLow.IsZero() && !batchLow.IsZero()
	})
	var resized time.Time
	kubetest.Eventually(t, 10*time.Second, "the shop pods' status reports the resize", func() bool {
		_, st := limits("shop")
		resized = time.Now()
		return all(st, "500m")
	})
	spec, status := limits("shop")
	t.Logf("engaged (from presage's start): flag on %s, shop pods resized in place %s (spec limits %v), reported done in their status %s later (%v), batch template lowered %s",
		flagOn.Sub(start).Round(time.Millisecond), shopLow.Sub(start).Round(time.Millisecond), spec,
		resized.Sub(shopLow).Round(time.Millisecond), status, batchLow.Sub(start).Round(time.Millisecond))
	var rolled time.Time
	kubetest.Eventually(t, 30*time.Second, "the batch pods rolled to the lowered template and Ready", func() bool {
		s, _ := limits("batch")
		r, n := c.PodsReady(t, "batch", "tier=low")
		if all(s, "500m") && r == 2 && n == 2 {
			rolled = time.Now()
			return true
		}
		return false
	})
	t.Logf("the Deployment controller rolled the batch pods to 500m, Ready %s after the template changed", rolled.Sub(batchLow).Round(time.Millisecond))

	kubetest.Eventually(t, 2*time.Minute, "all three reverted", func() bool {
		s, st := limits("shop")
		return flag() == "false" && all(s, "1") && all(st, "1") && template() == "1"
	})
	if d, err := c.Client.AppsV1().Deployments("shop").Get(ctx, "worker", metav1.GetOptions{}); err != nil || d.Generation != 1 {
		t.Errorf("the worker Deployment changed (generation %v, %v): its pods were to be resized in place", d.Generation, err)
	}
	t.Logf("reverted %s after presage's start", time.Since(start).Round(time.Millisecond))
	stop(t, run)

	w := writesBy(t, c, "system:serviceaccount:presage:presage")
	t.Logf("presage's writes: %d in all; pods/resize %d (accepted in shop: %d; refused in batch: %d), batch template updates %d, worker template updates %d, ConfigMap updates %d",
		len(w), count(w, "update pods/resize"), countCode(w, "update pods/resize worker", 200), countCode(w, "update pods/resize batch", 403),
		count(w, "update deployments batch 200"), count(w, "update deployments worker"), count(w, "update configmaps flags 200"))
	if count(w, "update configmaps flags 200") != 2 {
		t.Errorf("want the ConfigMap updated twice (engage, revert): %v", w)
	}
	if count(w, "update deployments batch 200") != 2 {
		t.Errorf("want the batch template updated twice (engage, revert): %v", w)
	}
	if countCode(w, "update pods/resize worker", 200) != 4 {
		t.Errorf("want 4 accepted resizes in shop (2 pods, engage and revert): %v", w)
	}
	if countCode(w, "update pods/resize batch", 403) == 0 {
		t.Errorf("want the batch resizes refused (403) before the template fallback: %v", w)
	}
}

// countCode counts the writes starting with prefix answered code.
func countCode(ws []string, prefix string, code int) int {
	n := 0
	for _, w := range ws {
		if strings.HasPrefix(w, prefix) && strings.HasSuffix(w, " "+strconv.Itoa(code)) {
			n++
		}
	}
	return n
}
