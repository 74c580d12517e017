package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/leader"
	"github.com/presage-dev/presage/internal/kubetest"
	"github.com/presage-dev/presage/policy"
)

// leaderReplica is one presage replica with leader election: its Elector,
// its controller on Gates of the real kube actuators (wired as
// cmd/presage wires them), its source and its records.
type leaderReplica struct {
	e    *leader.Elector
	ctl  *Controller
	src  *script
	recs []Record
	step int // next step, in minutes from t0
	stop func()
}

func startLeaderReplica(t *testing.T, env *kubetest.Env, cfg *config.Config, lease config.LeaderElection, id string, lat []float64) *leaderReplica {
	t.Helper()
	e, err := leader.New(leader.Options{Config: lease, Client: env.Client, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	gate := func(a actuators.Actuator) actuators.Actuator { return e.Gate(a) }
	all := map[string][]actuators.Actuator{"web": kubeActuators(t, env, cfg, gate)}
	r := &leaderReplica{e: e, src: &script{lat: lat, load: repeat(50, len(lat))}}
	r.ctl, err = New(Options{Config: cfg, Source: r.src, Mode: policy.Reactive, Actuators: all,
		State:      Reconcile(context.Background(), cfg, all, nil, t0, nil),
		OnDecision: func(rec Record) { r.recs = append(r.recs, rec) }})
	if err != nil {
		t.Fatal(err)
	}
	e.OnTakeOver(r.ctl.RequestReconcile)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

// steps steps the replica n times, a minute apart, and returns the records.
func (r *leaderReplica) steps(t *testing.T, n int) []Record {
	t.Helper()
	from := len(r.recs)
	for range n {
		if err := r.ctl.Step(context.Background(), t0.Add(time.Duration(r.step)*time.Minute)); err != nil {
			t.Fatalf("step %d: %v", r.step, err)
		}
		r.step++
	}
	return r.recs[from:]
}

// setLatency makes every later read return lat.
func (r *leaderReplica) setLatency(lat float64) {
	r.src.mu.Lock()
	defer r.src.mu.Unlock()
	r.src.lat, r.src.load, r.src.i = []float64{lat}, []float64{50}, 0
}

func actions(recs []Record) []string {
	var out []string
	for _, r := range recs {
		if a := actionOf(r); a != nil {
			out = append(out, fmt.Sprintf("%s %s %g→%g", a.Op, a.Action, a.From, a.To))
		}
	}
	return out
}

func waitLeading(t *testing.T, e *leader.Elector) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !e.Leading(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not lead within 30s", e.Identity())
		}
	}
}

// TestKubeTakeOver runs two replicas against a real API server, each
// deciding from its own signals; the leader stops and the follower, on
// taking over, adopts what the objects record rather than its own
// follower state.
func TestKubeTakeOver(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "presage")
	for i, tc := range []struct{ name string }{{"adopts-engaged"}, {"drops-reverted"}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, flag, replicas := kubeObjects(t, env, tc.name)
			lease := config.LeaderElection{Enabled: true, Namespace: "presage", Name: fmt.Sprintf("takeover-%d", i),
				LeaseDuration: config.Duration(3 * time.Second), RenewDeadline: config.Duration(2 * time.Second),
				RetryPeriod: config.Duration(250 * time.Millisecond)}
			a := startLeaderReplica(t, env, cfg, lease, "a", []float64{0.9})
			waitLeading(t, a.e)
			b := startLeaderReplica(t, env, cfg, lease, "b", []float64{0.1})
			time.Sleep(time.Second) // b sees the lease held
			if b.e.Leading() {
				t.Fatal("two leaders")
			}

			switch tc.name {
			case "adopts-engaged":
				// a's service is hot: it engages the flag, then the
				// replicas (capped by the budget to 3); b's is quiet and
				// decides nothing.
				if got, want := actions(a.steps(t, 5)), []string{"engage queue 0→1", "engage replicas 2→3"}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("leader a did %v, want %v", got, want)
				}
				if got := actions(b.steps(t, 5)); len(got) != 0 {
					t.Fatalf("follower b decided %v, want nothing", got)
				}
			case "drops-reverted":
				// Both are hot, b first: b decides both changes (from
				// the objects as they are) and records them, then a
				// makes them. Then a's service cools and a reverts both;
				// b's stays hot and b holds both engaged.
				b.setLatency(0.9)
				if got, want := actions(b.steps(t, 5)), []string{"engage queue 0→1", "engage replicas 2→3"}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("follower b decided %v, want %v", got, want)
				}
				if flag() != "false" || replicas() != 2 {
					t.Fatalf("the follower changed the objects: flag %s, %d replicas", flag(), replicas())
				}
				a.steps(t, 5)
				a.setLatency(0.1)
				if got, want := actions(a.steps(t, 10)), []string{"revert replicas 3→2", "revert queue 1→0"}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("leader a did %v, want %v", got, want)
				}
				b.steps(t, 10)
				if lvl := b.ctl.State()["web"].Level(); lvl != 2 {
					t.Fatalf("follower b at level %d, want 2", lvl)
				}
				b.setLatency(0.1)
			}
			wantFlag, wantReplicas := map[string]string{"adopts-engaged": "true", "drops-reverted": "false"}[tc.name], map[string]int32{"adopts-engaged": 3, "drops-reverted": 2}[tc.name]
			if flag() != wantFlag || replicas() != wantReplicas {
				t.Fatalf("before the take-over: flag %s, %d replicas, want %s and %d", flag(), replicas(), wantFlag, wantReplicas)
			}

			a.stop()
			waitLeading(t, b.e)
			first := b.steps(t, 1)[0]
			st := b.ctl.State()["web"]
			switch tc.name {
			case "adopts-engaged":
				// b's state is what a recorded on the objects: the flag
				// and the replicas engaged, with a's originals.
				want := []policy.Engagement{{Step: 0, From: 0, To: 1}, {Step: 1, From: 2, To: 3}}
				if len(st.Engaged) != 2 || first.Level != 2 {
					t.Fatalf("b after taking over: level %d, state %+v, want %+v", first.Level, st.Engaged, want)
				}
				for i, e := range st.Engaged {
					if e.Step != want[i].Step || e.From != want[i].From || e.To != want[i].To || e.NoChange {
						t.Errorf("b's engagement %d: %+v, want %+v", i, e, want[i])
					}
				}
				// The risk is clear: b reverts both to the recorded
				// originals.
				if got, want := actions(b.steps(t, 10)), []string{"revert replicas 3→2", "revert queue 1→0"}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("new leader b did %v, want %v", got, want)
				}
			case "drops-reverted":
				// a reverted what b holds engaged: b drops it, applies
				// nothing (no replay of its follower decisions) and has
				// nothing to revert.
				if st.Level() != 0 || first.Level != 0 || actionOf(first) != nil {
					t.Fatalf("b after taking over: level %d, action %+v, state %+v, want nothing engaged", first.Level, actionOf(first), st.Engaged)
				}
				if got := actions(b.steps(t, 10)); len(got) != 0 {
					t.Errorf("new leader b did %v, want nothing", got)
				}
			}
			if flag() != "false" || replicas() != 2 {
				t.Errorf("at the end: flag %s, %d replicas, want false and 2", flag(), replicas())
			}
		})
	}
}
