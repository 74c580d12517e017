package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// TestSchedulesFollowStepTime: windows are evaluated at the step's time
// (here virtual, days from the wall clock): a prewarm sets its action at the
// window's start with no data at all, a freeze holds the reactive floor
// back, and /metrics shows the active and next windows.
func TestSchedulesFollowStepTime(t *testing.T) {
	cfg, err := config.Load([]byte(testConfig+`
schedules:
  - {name: sale, kind: prewarm, cron: "0 1 * * *", duration: 30m, actions: {replicas: 2}}
  - {name: release, kind: freeze, at: "2026-01-05T02:00:00Z", duration: 1h}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nan := 0.0 / zero()
	// Missing data until 01:10, then an incident from 02:00.
	lat := concat(repeat(nan, 70), repeat(0.1, 50), repeat(0.9, 60))
	src := &script{lat: lat, load: repeat(50, len(lat))}
	rec := actuators.NewRecorder(nil)
	reg := prometheus.NewRegistry()
	var recs []Record
	ctl, err := New(Options{Config: cfg, Source: src, Mode: policy.Reactive, Registerer: reg,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}, OnDecision: func(r Record) { recs = append(recs, r) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(lat) {
		if err := ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if i == 60 {
			// 01:00: the prewarm is active; the freeze is next.
			got := windowGauges(t, reg)
			want := map[string]float64{
				"release freeze next": float64(time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC).Unix()),
				"sale prewarm active": float64(time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC).Unix()),
				"sale prewarm next":   float64(time.Date(2026, 1, 6, 1, 0, 0, 0, time.UTC).Unix()),
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("presage_schedule_window_start_seconds at 01:00 = %v, want %v", got, want)
			}
		}
	}
	if r := recs[60]; r.Reason != policy.Prewarm || actionOf(r) == nil || actionOf(r).Action != "replicas" || actionOf(r).To != 2 || r.Level != 1 {
		t.Errorf("01:00: %s %+v level %d, want Prewarm replicas → 2", r.Reason, actionOf(r), r.Level)
	}
	for _, r := range recs[120:180] {
		if actionOf(r) != nil && actionOf(r).Op == actuators.Engage {
			t.Errorf("%s: %s engaged %s during the freeze", r.Time.Format(time.Kitchen), r.Reason, actionOf(r).Action)
		}
		if r.Firing && r.Reason != policy.Frozen {
			t.Errorf("%s: firing, reason %s, want Frozen", r.Time.Format(time.Kitchen), r.Reason)
		}
	}
	if len(recs[125].Windows) != 1 || recs[125].Windows[0].Name != "release" {
		t.Errorf("02:05 windows = %+v, want release", recs[125].Windows)
	}
}

func zero() float64 { return 0 }

// windowGauges returns presage_schedule_window_start_seconds by
// "schedule kind state".
func windowGauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "presage_schedule_window_start_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["schedule"]+" "+l["kind"]+" "+l["state"]] = m.GetGauge().GetValue()
		}
	}
	return out
}
