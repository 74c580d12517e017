package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/kube"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
	"github.com/presage-dev/presage/policy"
)

// kubeConfig is a service whose playbook is a ConfigMap flag, then a
// Deployment's replicas within a connection budget of 3 replicas.
const kubeConfig = `
global: {interval: 1m, history: 1d}
services:
  - name: web
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 0s, refit: "@hourly"}
    playbook:
      - name: queue
        actuator: {kind: kube, kube: {target: flag, namespace: %[1]s, name: flags, key: queue}}
        min: 0
        max: 1
        warmup: 1m
        revert_after: 3m
      - name: replicas
        actuator:
          kind: kube
          kube:
            target: replicas
            namespace: %[1]s
            name: db
            connections: {max_connections: 300, per_replica: 100}
        min: 1
        max: 5
        warmup: 1m
        revert_after: 3m
`

// kubeRun is one presage process: its controller and its records.
type kubeRun struct {
	ctl   *Controller
	recs  []Record
	saved map[string]policy.State
}

// startKube starts a presage against the API server: it builds the kube
// actuators, reconciles saved with what the objects record, and steps
// through lat from step first on.
func startKube(t *testing.T, env *kubetest.Env, cfg *config.Config, saved map[string]policy.State, lat []float64, first int) *kubeRun {
	return startKubeWith(t, env, cfg, saved, lat, first, nil)
}

// kubeActuators builds the kube actuators of the playbook of cfg's first
// service ("web"), each passed through wrap when it is not nil.
func kubeActuators(t *testing.T, env *kubetest.Env, cfg *config.Config, wrap func(actuators.Actuator) actuators.Actuator) []actuators.Actuator {
	t.Helper()
	c, err := kube.NewClient(env.Config, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var acts []actuators.Actuator
	for _, a := range cfg.Services[0].Playbook {
		act, err := c.New("web", a)
		if err != nil {
			t.Fatal(err)
		}
		if wrap != nil {
			act = wrap(act)
		}
		acts = append(acts, act)
	}
	return acts
}

// startKubeWith is startKube calling between(step) after each step.
func startKubeWith(t *testing.T, env *kubetest.Env, cfg *config.Config, saved map[string]policy.State, lat []float64, first int, between func(step int)) *kubeRun {
	t.Helper()
	all := map[string][]actuators.Actuator{"web": kubeActuators(t, env, cfg, nil)}
	start := t0.Add(time.Duration(first) * time.Minute)
	st := Reconcile(context.Background(), cfg, all, saved, start, nil)
	r := &kubeRun{}
	var err error
	r.ctl, err = New(Options{Config: cfg, Source: &script{lat: lat, load: repeat(50, len(lat))}, Mode: policy.Reactive,
		Actuators: all, State: st, OnDecision: func(rec Record) { r.recs = append(r.recs, rec) },
		OnStateChange: func(s map[string]policy.State) error { r.saved = s; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(lat) {
		if err := r.ctl.Step(context.Background(), start.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", first+i, err)
		}
		if between != nil {
			between(first + i)
		}
	}
	return r
}

// kubeObjects makes namespace ns with the ConfigMap (queue false) and the
// Deployment (2 replicas) of kubeConfig, and returns the config and
// readers of the flag and the replica count.
func kubeObjects(t *testing.T, env *kubetest.Env, ns string) (*config.Config, func() string, func() int32) {
	t.Helper()
	ctx := context.Background()
	env.Namespace(t, ns)
	cfg, err := config.Load(fmt.Appendf(nil, kubeConfig, ns), "kube.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env.ConfigMap(t, ns, "flags", map[string]string{"queue": "false"})
	env.Deployment(t, ns, "db", 2, corev1.ResourceRequirements{})
	flag := func() string {
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "flags", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["queue"]
	}
	replicas := func() int32 {
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}
	return cfg, flag, replicas
}

// TestKube runs the loop against one real API server (starting one takes
// seconds): each subtest in namespaces of its own.
func TestKube(t *testing.T) {
	env := kubetest.Start(t)
	t.Run("restart", func(t *testing.T) { testKubeRestart(t, env) })
	t.Run("overridden", func(t *testing.T) { testKubeOverridden(t, env) })
}

// testKubeRestart runs the loop against a real API server and stops
// presage at the points a change can be lost: a new presage finds every
// change in force from the objects themselves, keeps what the risk needs
// and reverts the rest to the originals; the connection budget shows in
// the records.
func testKubeRestart(t *testing.T, env *kubetest.Env) {

	for _, tc := range []struct {
		name string
		// save: the new presage gets the state the old one saved; else
		// the old one stopped before saving it.
		save bool
	}{{"stopped-before-saving", false}, {"stopped-after-saving", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, flag, replicas := kubeObjects(t, env, tc.name)

			// An incident: the flag engages at step 2, the replicas at
			// step 3 (the flag's warm-up is a minute), toward 5 but capped
			// by the budget to 3.
			old := startKube(t, env, cfg, nil, repeat(0.9, 5), 0)
			if got := reasons(old.recs); got[2] != policy.ReactiveFloor || got[3] != actuators.ConnectionBudget {
				t.Fatalf("reasons %v, want ReactiveFloor at 2 and ConnectionBudget at 3", got)
			}
			if a := actionOf(old.recs[3]); a == nil || a.From != 2 || a.To != 3 || !strings.Contains(old.recs[3].Message, "connection budget") {
				t.Errorf("step 3 action %+v (%s), want 2 → 3 and the budget in the message", actionOf(old.recs[3]), old.recs[3].Message)
			}
			if flag() != "true" || replicas() != 3 {
				t.Fatalf("after the incident: flag %s, %d replicas", flag(), replicas())
			}
			var saved map[string]policy.State
			if tc.save {
				saved = old.saved
			}

			// A new presage: both changes are engaged from the start; the
			// risk has passed, so it reverts the replicas, then the flag.
			fresh := startKube(t, env, cfg, saved, repeat(0.1, 10), 5)
			if fresh.recs[0].Level != 2 {
				t.Errorf("new presage starts at level %d, want 2 (both changes found)", fresh.recs[0].Level)
			}
			var reverted []string
			for _, r := range fresh.recs {
				if actionOf(r) != nil {
					reverted = append(reverted, fmt.Sprintf("%s %s %g→%g", actionOf(r).Op, actionOf(r).Action, actionOf(r).From, actionOf(r).To))
				}
			}
			want := []string{"revert replicas 3→2", "revert queue 1→0"}
			if fmt.Sprint(reverted) != fmt.Sprint(want) {
				t.Errorf("new presage did %v, want %v", reverted, want)
			}
			if flag() != "false" || replicas() != 2 {
				t.Errorf("after the revert: flag %s, %d replicas, want false and 2", flag(), replicas())
			}

			// A third presage, given the first one's stale state: the
			// objects say nothing is in force, so it reverts nothing.
			third := startKube(t, env, cfg, old.saved, repeat(0.1, 5), 15)
			for _, r := range third.recs {
				if actionOf(r) != nil || r.Level != 0 {
					t.Errorf("third presage: %s level %d action %+v, want nothing engaged", r.Reason, r.Level, actionOf(r))
				}
			}
		})
	}
}

// testKubeOverridden has someone else scale the Deployment presage scaled,
// while the action is engaged: the revert yields (reason Overridden on the
// record, the other writer's count kept), and the flag reverts as usual.
func testKubeOverridden(t *testing.T, env *kubetest.Env) {
	cfg, flag, replicas := kubeObjects(t, env, "overridden")
	lat := concat(repeat(0.9, 5), repeat(0.1, 10))
	r := startKubeWith(t, env, cfg, nil, lat, 0, func(step int) {
		if step == 4 {
			d, err := env.Client.AppsV1().Deployments("overridden").GetScale(context.Background(), "db", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d.Spec.Replicas = 5
			if _, err := env.Client.AppsV1().Deployments("overridden").UpdateScale(context.Background(), "db", d, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	var got []string
	for _, rec := range r.recs {
		if a := actionOf(rec); a != nil {
			got = append(got, fmt.Sprintf("%s %s %s %g→%g", rec.Reason, a.Op, a.Action, a.From, a.To))
		}
	}
	want := []string{"ReactiveFloor engage queue 0→1", "ConnectionBudget engage replicas 2→3",
		"Overridden revert replicas 5→5", "Revert revert queue 1→0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions:\n got %v\nwant %v", got, want)
	}
	if replicas() != 5 || flag() != "false" {
		t.Errorf("%d replicas and flag %s, want the other writer's 5 and false", replicas(), flag())
	}
	if last := r.recs[len(r.recs)-1]; last.Level != 0 {
		t.Errorf("level %d at the end, want 0", last.Level)
	}
}
