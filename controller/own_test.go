package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/policy"
)

// owns is an Owner of every service, or of none.
type owns struct{ yes atomic.Bool }

func (o *owns) Owns(string) bool { return o.yes.Load() }

// TestOwner steps a service that the Owner gives, takes away and gives
// back: while not owned it is not stepped at all (no record, no history,
// no metrics); when gained its policy state is reconciled with what its
// target records before it decides; when lost its history, state and
// gauges are dropped.
func TestOwner(t *testing.T) {
	target := &actuators.Tracked{From: 0, To: 1, At: t0.Add(-time.Hour)}
	var o owns
	reg := prometheus.NewRegistry()
	var recs []Record
	rec := actuators.NewRecorder(nil)
	tracker := &recordedPtr{t: &target}
	var saved map[string]policy.State
	ctl, err := New(Options{Config: loadConfig(t), Source: &script{lat: []float64{0.1}, load: []float64{50}}, Mode: policy.Reactive,
		Registerer: reg, Owner: &o, View: true, Actuators: map[string][]actuators.Actuator{"web": {tracker, rec}},
		OnDecision:    func(r Record) { recs = append(recs, r) },
		OnStateChange: func(st map[string]policy.State) error { saved = st; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	s := ctl.services[0]
	step := 0
	steps := func(n int) {
		t.Helper()
		for range n {
			if err := ctl.Step(context.Background(), t0.Add(time.Duration(step)*time.Minute)); err != nil {
				t.Fatal(err)
			}
			step++
		}
	}
	gauges := func() int {
		return testutil.CollectAndCount(reg, "presage_signal_value", "presage_breach_risk", "presage_level")
	}

	steps(3)
	if len(recs) != 0 || s.hist.len() != 0 || len(ctl.Owned()) != 0 || gauges() != 0 {
		t.Fatalf("not owned: %d records, %d history, owned %v, %d gauges; want none", len(recs), s.hist.len(), ctl.Owned(), gauges())
	}

	o.yes.Store(true)
	steps(4)
	if len(recs) != 4 || s.hist.len() != 4 || gauges() == 0 {
		t.Fatalf("owned: %d records, %d history, %d gauges; want 4, 4, some", len(recs), s.hist.len(), gauges())
	}
	if st := ctl.State()["web"]; st.Level() != 1 || st.Engaged[0].To != 1 || !st.Engaged[0].At.Equal(target.At) {
		t.Errorf("gained: state %+v, want the change the target records engaged", st)
	}
	if saved["web"].Level() != 1 {
		t.Errorf("gained: saved state %+v, want the adopted change", saved["web"])
	}
	if n := tracker.applied.Load(); n != 0 {
		t.Errorf("gained: applied %d changes; the change in force is adopted, not applied again", n)
	}

	if sv, _ := ctl.ServiceView("web"); !sv.Stepped || len(sv.Times) != 4 {
		t.Fatalf("owned: the view holds %d steps (stepped %v), want 4", len(sv.Times), sv.Stepped)
	}

	o.yes.Store(false)
	steps(2)
	if sv, _ := ctl.ServiceView("web"); sv.Stepped || len(sv.Times) != 0 || len(sv.Decisions) != 0 {
		t.Errorf("lost: the view holds %d steps and %d decisions (stepped %v); want it emptied", len(sv.Times), len(sv.Decisions), sv.Stepped)
	}
	if len(recs) != 4 || s.hist.len() != 0 || len(s.hist.buf) != 1 || ctl.State()["web"].Level() != 0 || gauges() != 0 {
		t.Fatalf("lost: %d records, history %d of %d, level %d, %d gauges; want no new record, nothing kept",
			len(recs), s.hist.len(), len(s.hist.buf), ctl.State()["web"].Level(), gauges())
	}
	if saved["web"].Level() != 0 {
		t.Errorf("lost: the saved state still engages %+v", saved["web"])
	}

	// The next owner reverted the change; this one, gaining the service
	// again, starts from nothing engaged.
	target = nil
	o.yes.Store(true)
	steps(1)
	if len(recs) != 5 || ctl.State()["web"].Level() != 0 || s.hist.len() != 1 || len(s.hist.buf) < 1000 {
		t.Errorf("gained again: %d records, level %d, history %d of %d; want 5, 0, 1 of a day", len(recs), ctl.State()["web"].Level(), s.hist.len(), len(s.hist.buf))
	}
}

// recordedPtr is a Tracker whose record the test changes.
type recordedPtr struct {
	t       **actuators.Tracked
	applied atomic.Int32
}

func (r *recordedPtr) Apply(context.Context, actuators.Action) error {
	r.applied.Add(1)
	return nil
}
func (r *recordedPtr) Tracked(ctx context.Context) (actuators.Tracked, bool, error) {
	return recorded{t: *r.t}.Tracked(ctx)
}

// TestOwnerBackfills reads a service's history from a RangeSource at the
// step that gains it, not before (while not owned nothing is read), and
// again each time it is gained after a loss.
func TestOwnerBackfills(t *testing.T) {
	var o owns
	src := &ranged{script: &script{lat: []float64{0.1}, load: []float64{50}}}
	ctl, err := New(Options{Config: loadConfig(t), Source: src, Mode: policy.Predictive, Owner: &o,
		Actuators: map[string][]actuators.Actuator{"web": {actuators.NewRecorder(nil), actuators.NewRecorder(nil)}}})
	if err != nil {
		t.Fatal(err)
	}
	s := ctl.services[0]
	step := func(i int) {
		t.Helper()
		if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	step(0)
	if src.calls != 0 {
		t.Fatalf("history read %d times for a service not owned", src.calls)
	}
	o.yes.Store(true)
	step(1)
	if src.calls != 1 || s.hist.len() < 1000 || s.fc == nil {
		t.Fatalf("gained: %d reads, %d samples, model %v; want the day backfilled and a model fitted", src.calls, s.hist.len(), s.fc != nil)
	}
	o.yes.Store(false)
	step(2)
	o.yes.Store(true)
	step(3)
	if src.calls != 2 || !src.starts[1].Equal(t0.Add(3*time.Minute-24*time.Hour)) || s.hist.len() < 1000 {
		t.Errorf("gained again: %d reads (from %v), %d samples; want a second backfill of the day before the step", src.calls, src.starts, s.hist.len())
	}
}
