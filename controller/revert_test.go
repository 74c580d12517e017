package controller

import (
	"context"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// TestRevertRules runs the ramps of TestPredictiveActsBeforeTheBreach
// under both forecast.revert rules: "reach" never reverts to a level while
// the load now is at or above what that level was seen to take, and
// reverts sooner on the way down than "horizon", which waits until the
// forecast sees no breach there within the whole horizon.
func TestRevertRules(t *testing.T) {
	lat, load := ramps(240)
	lastRevert := map[string]int{}
	for _, rule := range []string{config.RevertReach, config.RevertHorizon} {
		cfg := loadConfig(t)
		cfg.Services[0].Forecast.Revert = rule
		var recs []Record
		rec := actuators.NewRecorder(nil)
		ctl, err := New(Options{Config: cfg, Source: &script{lat: lat, load: load}, Mode: policy.Predictive,
			Actuators:  map[string][]actuators.Actuator{"web": {rec, rec}},
			OnDecision: func(r Record) { recs = append(recs, r) }})
		if err != nil {
			t.Fatal(err)
		}
		s := ctl.services[0]
		s.jitter = 0 // the ramps' forecasts are those of refits on the hour
		for i := range lat {
			if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
			r := recs[i]
			if actionOf(r) == nil || actionOf(r).Op != actuators.Revert || i < 120 {
				continue
			}
			lastRevert[rule] = i
			if l := s.levels[r.Level]; rule == config.RevertReach && l.known && load[i] >= l.level {
				t.Errorf("%s: reverted to level %d at step %d, load %.0f at or above its breach level %.1f", rule, r.Level, i, load[i], l.level)
			}
		}
		if _, ok := lastRevert[rule]; !ok {
			t.Fatalf("%s: no revert in the second cycle", rule)
		}
	}
	t.Logf("last revert of the second cycle: %v", lastRevert)
	if lastRevert[config.RevertReach] >= lastRevert[config.RevertHorizon] {
		t.Errorf("reach reverted at step %d, not before horizon (%d)", lastRevert[config.RevertReach], lastRevert[config.RevertHorizon])
	}
}

// TestReachHoldsOnTheLoadNow: with forecast.revert "reach", the risk one
// level down is 1 while the load now is at or above what that level was
// seen to take, whatever the forecast; below it, the forecast's share.
func TestReachHoldsOnTheLoadNow(t *testing.T) {
	lat, load := ramps(175) // up and down, then up again to 95
	h := newHarness(t, policy.Predictive, &script{lat: lat, load: load})
	c, s := h.ctl, h.ctl.services[0]
	for i := range lat { // to the second cycle's first engagement
		if err := c.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if i >= 120 && s.st.Level() > 0 {
			break
		}
	}
	level := s.st.Level()
	if level == 0 || !s.levels[level-1].known {
		t.Fatalf("level %d engaged, level beneath known %v: the scenario did not engage on a learned level", level, level > 0 && s.levels[level-1].known)
	}
	beneath := s.levels[level-1].level
	assess := func(load float64) float64 {
		var in policy.Input
		var rec Record
		c.assess(s, &in, &rec, 0.05/(1-min(load, 99)/100), load, level)
		return in.RiskBelow
	}
	if got := assess(beneath + 1); got != 1 {
		t.Errorf("load %.1f, above level %d's breach level %.1f: risk one level down %v, want 1", beneath+1, level-1, beneath, got)
	}
	if got := assess(beneath - 30); got >= 1 {
		t.Errorf("load %.1f, far below level %d's breach level %.1f: risk one level down %v, want the forecast's share < 1", beneath-30, level-1, beneath, got)
	}
}
