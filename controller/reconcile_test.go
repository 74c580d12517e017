package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// recorded is a Tracker stand-in: the change in force on its target, if any.
type recorded struct{ t *actuators.Tracked }

func (r recorded) Apply(context.Context, actuators.Action) error { return nil }
func (r recorded) Tracked(context.Context) (actuators.Tracked, bool, error) {
	if r.t == nil {
		return actuators.Tracked{}, false, nil
	}
	return *r.t, true, nil
}

// wrapper wraps an actuator as a leader.Gate does.
type wrapper struct{ in actuators.Actuator }

func (w wrapper) Apply(context.Context, actuators.Action) error { return nil }
func (w wrapper) Unwrap() actuators.Actuator                    { return w.in }

// TestReconcilePrewarm keeps a prewarm whose change is in force as a
// prewarm, drops one that is not, and lets the stack take one over where
// an engagement above it is in force; the targets are read through
// wrappers (Unwrap).
func TestReconcilePrewarm(t *testing.T) {
	cfg, err := config.Load(fmt.Appendf(nil, kubeConfig, "ns"), "kube.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-time.Hour)
	flagOn := &actuators.Tracked{From: 0, To: 1, At: at}
	scaled := &actuators.Tracked{From: 2, To: 3, At: at}
	prewarmFlag := policy.State{Prewarmed: []policy.Engagement{{Step: 0, From: 0, To: 1, At: at}}, PrewarmClearSince: at}
	for _, tc := range []struct {
		name       string
		targets    [2]*actuators.Tracked
		saved      policy.State
		wantEng    string
		wantWarm   string
		clearSince bool
	}{
		{name: "prewarm in force stays", targets: [2]*actuators.Tracked{flagOn, nil}, saved: prewarmFlag,
			wantEng: "[]", wantWarm: "[0:0→1]", clearSince: true},
		{name: "prewarm gone is dropped", saved: prewarmFlag, wantEng: "[]", wantWarm: "[]"},
		{name: "the stack takes it over", targets: [2]*actuators.Tracked{flagOn, scaled}, saved: prewarmFlag,
			wantEng: "[0:0→1 1:2→3]", wantWarm: "[]"},
		{name: "no prewarm: engaged", targets: [2]*actuators.Tracked{flagOn, nil}, wantEng: "[0:0→1]", wantWarm: "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acts := map[string][]actuators.Actuator{"web": {
				wrapper{wrapper{recorded{t: tc.targets[0]}}}, wrapper{recorded{t: tc.targets[1]}}}}
			st := Reconcile(context.Background(), cfg, acts, map[string]policy.State{"web": tc.saved}, t0, nil)["web"]
			show := func(es []policy.Engagement) string {
				out := []string{}
				for _, e := range es {
					out = append(out, fmt.Sprintf("%d:%g→%g", e.Step, e.From, e.To))
				}
				return fmt.Sprint(out)
			}
			if got := show(st.Engaged); got != tc.wantEng {
				t.Errorf("engaged %s, want %s", got, tc.wantEng)
			}
			if got := show(st.Prewarmed); got != tc.wantWarm {
				t.Errorf("prewarmed %s, want %s", got, tc.wantWarm)
			}
			if got := !st.PrewarmClearSince.IsZero(); got != tc.clearSince {
				t.Errorf("PrewarmClearSince kept: %v, want %v", got, tc.clearSince)
			}
		})
	}
}
