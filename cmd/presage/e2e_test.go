package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/actuators/kube"
	"github.com/presage-dev/presage/internal/kubetest"
)

// The end-to-end tests run `presage run` (and recommend) as processes
// against a cluster that acts (kubetest.StartCluster: an API server, a
// controller-manager, a scheduler and KWOK's fake nodes): a scale-up
// becomes pods that the scheduler places and that turn Ready after their
// readiness delay. The signals come from the simulator (source kind sim at
// -speed): these tests check what presage does to the cluster and what the
// cluster does back; the pods KWOK runs serve nothing, so no real signal
// could come from them. The Prometheus path is tested on its own
// (serve_test.go).

// e2eSpeed is the simulated clock's speed: a 1m control interval is a step
// a second.
const e2eSpeed = "60"

// e2eService is one simulated service whose load is calm (2/3 of what it
// serves) but for a flash crowd of twice its capacity 10 simulated minutes
// after its start (10 s at e2eSpeed): the reactive policy engages its
// playbook (%[1]s, indented as a list of actions) once the crowd breaches,
// and reverts it 5 simulated minutes after the crowd has gone.
const e2eService = `services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 2}
    playbook:
%[1]s
    sim:
      load:
        peak: 2
        daily: 0
        bursts: 0
        flash_crowds: 0
        duration: 1d
        crowds:
          - {at: "2026-01-05T00:10:00Z", duration: 20m, height: 2, rise: 1m}
`

// e2eConfig is the configuration of one checkout service with playbook,
// after the global and kubernetes sections head.
func e2eConfig(head, playbook string) string {
	return "global:\n  listen: \"\"\n" + head + fmt.Sprintf(e2eService, playbook)
}

// e2eReplicas is the read-replicas action on the StatefulSet shop/db, 1 to
// 3 replicas, with the configured warmup given.
func e2eReplicas(warmup string) string {
	return `      - name: read-replicas
        actuator:
          kind: kube
          kube: {target: replicas, namespace: shop, name: db, resource: statefulsets}
        warmup: ` + warmup + `
        min: 1
        max: 3
        cooldown: 1m
        revert_after: 5m`
}

// lineTimeRe is the time= of a log line.
var lineTimeRe = regexp.MustCompile(`^time=(\S+) `)

// lineTime returns the wall-clock time of a log line.
func lineTime(t *testing.T, line string) time.Time {
	t.Helper()
	m := lineTimeRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no time in log line %q", line)
	}
	return logTime(t, m[1])
}

// serviceAccount applies the rules `presage rbac -config cfg args…`
// prints and returns a kubeconfig of the ServiceAccount presage/name.
func serviceAccount(t *testing.T, c *kubetest.Cluster, cfg, name string, args ...string) string {
	t.Helper()
	rules := cli(t, append([]string{"rbac", "-config", cfg, "-service-account", name}, args...)...)
	if rules.code != 0 {
		t.Fatalf("presage rbac: %v", rules)
	}
	c.Apply(t, []byte(rules.stdout))
	return kubetest.Kubeconfig(t, c.ServiceAccount(t, "presage", name))
}

// stsState is a StatefulSet's replicas, ready replicas and presage's
// record.
func stsState(t *testing.T, c *kubetest.Cluster, ns, name string) (spec, ready int32, ann map[string]string) {
	t.Helper()
	s, err := c.Client.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *s.Spec.Replicas, s.Status.ReadyReplicas, s.Annotations
}

// writesBy returns the writes (neither get, list nor watch) of user in the
// audit log, as "verb resource[/subresource] name code".
func writesBy(t *testing.T, c *kubetest.Cluster, user string) []string {
	t.Helper()
	var out []string
	for _, ev := range c.AuditEvents(t, user) {
		if readIsVerb[ev.Verb] || ev.ObjectRef == nil {
			continue
		}
		res := ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			res += "/" + ev.ObjectRef.Subresource
		}
		out = append(out, fmt.Sprintf("%s %s %s %d", ev.Verb, res, ev.ObjectRef.Name, ev.Code()))
	}
	return out
}

// count returns how many of ws start with prefix.
func count(ws []string, prefix string) int {
	n := 0
	for _, w := range ws {
		if strings.HasPrefix(w, prefix) {
			n++
		}
	}
	return n
}

// TestE2EReadReplicas: presage run (reactive, as the ServiceAccount bound
// to `presage rbac`'s rules) scales the StatefulSet shop/db from 1 to 3
// read replicas through /scale when the flash crowd breaches; the
// StatefulSet controller creates the pods, the scheduler places them on
// KWOK's nodes, they run at once and turn Ready 20 s later. The test
// measures the time from presage's decision to the 3 replicas Ready and
// checks presage's own measure of it (presage_observed_warmup_seconds)
// against it, and that presage warns that its configured warmup (10s) is
// shorter. presage reverts once the crowd has gone, and the pods go.
// Meanwhile presage recommend runs against the same cluster as a
// ServiceAccount bound to the read-only rules: the audit log holds no
// write of it.
func TestE2EReadReplicas(t *testing.T) {
	c := kubetest.StartCluster(t, 2)
	const delay = 20 * time.Second
	c.Namespace(t, "shop")
	c.Namespace(t, "presage")
	c.StatefulSet(t, "shop", "db", 1, delay)
	kubetest.Eventually(t, time.Minute, "the first db replica Ready", func() bool {
		ready, _ := c.PodsReady(t, "shop", "app=db")
		return ready == 1
	})
	cfg := writeTestFile(t, t.TempDir(), "e2e.yaml", e2eConfig("", e2eReplicas("10s")))
	kcRun := serviceAccount(t, c, cfg, "presage")
	kcRead := serviceAccount(t, c, cfg, "reader", "-read-only")

	run, url := startLoop(t, "run", cfg, "-kubeconfig", kcRun, "-policy", "reactive", "-speed", e2eSpeed)
	rec := startPresage(t, "recommend", "-config", cfg, "-kubeconfig", kcRead, "-policy", "reactive", "-speed", e2eSpeed, "-json")

	// The decision is logged once applied: the scale written is its time.
	logged := lineTime(t, run.waitFor(t, &run.stderr, regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=decision .*action=read-replicas op=engage to=3$`), 90*time.Second)[0])
	scaled := lineTime(t, run.waitFor(t, &run.stderr, regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=scaled .*op=engage from=1 to=3 original=1$`), waitTimeout)[0])
	decided := scaled

	// The controller creates the pods; they run before they are Ready.
	var created, ready time.Time
	sawUnready := false
	kubetest.Eventually(t, delay+30*time.Second, "3 db replicas Ready", func() bool {
		r, all := c.PodsReady(t, "shop", "app=db")
		if all == 3 && created.IsZero() {
			created = time.Now()
		}
		if all == 3 && r < 3 {
			sawUnready = true
		}
		if _, sr, _ := stsState(t, c, "shop", "db"); sr == 3 {
			ready = time.Now()
			return true
		}
		return false
	})
	if !sawUnready {
		t.Error("the new replicas were never seen running and not Ready: the readiness delay did not hold")
	}
	observed := ready.Sub(decided)
	t.Logf("decision: scale 1 → 3 written %s (the decision logged %s later); 3 pods seen %s after it; 3 Ready (status.readyReplicas) %s after it (readiness delay %s, configured warmup 10s)",
		decided.Format(time.RFC3339Nano), logged.Sub(decided).Round(time.Millisecond), created.Sub(decided).Round(time.Millisecond), observed.Round(time.Millisecond), delay)
	if observed < delay {
		t.Errorf("Ready %s after the decision, before the readiness delay %s", observed, delay)
	}

	// presage's own measure, from the scale write to status.readyReplicas.
	var got float64
	eventually(t, 5*time.Second, "presage_observed_warmup_seconds", func() bool {
		v, ok := metric(url+"/metrics", "presage_observed_warmup_seconds", "service", "checkout", "action", "read-replicas")
		got = v
		return ok
	})
	t.Logf("presage_observed_warmup_seconds %.3f (the test measured %.3f; presage polls every %s)", got, observed.Seconds(), kube.WarmupPoll)
	if d := got - ready.Sub(scaled).Seconds(); d < -1.5 || d > 1.5 {
		t.Errorf("presage observed a warm-up of %.3f s, the test %.3f s from the scale write", got, ready.Sub(scaled).Seconds())
	}
	warn := run.waitFor(t, &run.stderr, regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="the configured warmup is shorter than the observed warm-up.*$`), waitTimeout)
	t.Logf("presage: %s", warn[0])
	if v, _ := metric(url+"/metrics", "presage_warmup_exceeded_total", "service", "checkout", "action", "read-replicas"); v != 1 {
		t.Errorf("presage_warmup_exceeded_total %v, want 1", v)
	}

	// presage reverts once the crowd has gone; the pods go.
	var reverted time.Time
	kubetest.Eventually(t, 2*time.Minute, "presage reverts to 1 replica", func() bool {
		n, _, ann := stsState(t, c, "shop", "db")
		if n == 1 && ann["presage.dev/original-replicas"] == "" {
			reverted = time.Now()
			return true
		}
		return false
	})
	t.Logf("reverted to 1 replica %s after the decision to engage", reverted.Sub(decided).Round(time.Millisecond))
	kubetest.Eventually(t, 30*time.Second, "back to one db pod", func() bool {
		r, all := c.PodsReady(t, "shop", "app=db")
		return r == 1 && all == 1
	})
	stop(t, rec)
	stop(t, run)

	w := writesBy(t, c, "system:serviceaccount:presage:presage")
	if count(w, "update statefulsets/scale db 200") != 2 || count(w, "patch statefulsets db 200") != 2 || len(w) != 4 {
		t.Errorf("presage run's writes %v: want the record, the scale to 3, the scale back and the record removed", w)
	}
	if w := writesBy(t, c, "system:serviceaccount:presage:reader"); len(w) != 0 {
		t.Errorf("presage recommend wrote: %v", w)
	}
	if len(c.AuditEvents(t, "system:serviceaccount:presage:reader")) == 0 {
		t.Error("presage recommend sent no request at all")
	}
	// recommend steps beside run: it recommends the scale-up, or finds it
	// already made by run (the live count is what it plans from).
	if !strings.Contains(rec.stdout.String(), `"action":"read-replicas","op":"engage"`) &&
		!regexp.MustCompile(`msg=decision .*reason=AtBound .*read-replicas already at 3`).MatchString(rec.stderr.String()) {
		t.Errorf("recommend neither recommended the read replicas nor found them engaged:\n%s", rec.stderr.String())
	}
}
