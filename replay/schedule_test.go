package replay

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// replayWithout replays the predictive policy over the file's config, with
// and without its schedules.
func replayWithout(t *testing.T, file string) (with, without *Report) {
	t.Helper()
	cfg, err := config.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Schedules) == 0 {
		t.Fatalf("%s has no schedules", file)
	}
	bare := *cfg
	bare.Schedules = nil
	for _, c := range []*config.Config{cfg, &bare} {
		rep, err := Replay(context.Background(), ReplayOptions{Config: c, Policies: []policy.Mode{policy.Predictive}, Detail: true})
		if err != nil {
			t.Fatal(err)
		}
		if c == cfg {
			with = rep
		} else {
			without = rep
		}
	}
	return with, without
}

// TestReplayPrewarm: a flash crowd at a known time, with nothing in the
// load's past that announces it. The prewarm has the playbook up before it;
// the forecast alone acts once it has begun.
func TestReplayPrewarm(t *testing.T) {
	with, without := replayWithout(t, "../testdata/replay.prewarm.yaml")
	pw, po := with.Policies[0], without.Policies[0]
	t.Logf("predictive with prewarm: %d incidents, %.0f breach minutes; without: %d incidents, %.0f breach minutes",
		pw.Incidents, pw.BreachMinutes, po.Incidents, po.BreachMinutes)
	if pw.Incidents >= po.Incidents {
		t.Errorf("incidents with prewarm %d, without %d: want fewer", pw.Incidents, po.Incidents)
	}
	// The prewarm is in the report: its window, and its decisions in time.
	if len(with.Windows) != 1 || with.Windows[0].Kind != schedule.Prewarm || len(without.Windows) != 0 {
		t.Fatalf("windows = %+v, want the one prewarm (and none without schedules)", with.Windows)
	}
	w := with.Windows[0]
	var prewarmed []string
	for _, d := range with.Runs[0].Decisions.Records("checkout") {
		if d.Reason == policy.Prewarm {
			if d.Time.Before(w.Start) || d.Time.Sub(w.Start) > 5*time.Minute {
				t.Errorf("Prewarm decision at %s, want within 5m of the window's start %s", d.Time, w.Start)
			}
			prewarmed = append(prewarmed, actionOf(d).Action)
		}
		if w.Contains(d.Time) && d.Time.Sub(w.Start) > 5*time.Minute && d.Level < 3 {
			t.Fatalf("%s: level %d inside the prewarm window, want all 3 held", d.Time, d.Level)
		}
	}
	if len(prewarmed) != 3 {
		t.Errorf("prewarmed %v, want the 3 actions", prewarmed)
	}
	var html strings.Builder
	if err := with.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "prewarm window") {
		t.Error("HTML report does not show the prewarm window")
	}
	js, err := json.Marshal(with)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"kind":"prewarm"`) || !strings.Contains(string(js), `"name":"sale"`) {
		t.Errorf("JSON report does not list the prewarm window: %.300s", js)
	}
}

// TestReplayEvent: a promotion every Tuesday and Friday evening. With the
// event schedule, the model learns the uplift from Tuesday and forecasts
// Friday's before it starts; without it, the forecast made before Friday
// 19:00 sees an ordinary evening.
func TestReplayEvent(t *testing.T) {
	with, without := replayWithout(t, "../testdata/replay.event.yaml")
	friday := time.Date(2026, 1, 9, 19, 0, 0, 0, time.UTC)
	horizon := 30 * time.Minute
	ew, lw := eventScore(with.Runs[0].Decisions.Records("checkout"), friday, horizon)
	eo, lo := eventScore(without.Runs[0].Decisions.Records("checkout"), friday, horizon)
	pw, po := with.Policies[0], without.Policies[0]
	t.Logf("forecasts made before Friday's start, of its first 30m: mean abs error %.1f%% with the event, %.1f%% without", 100*ew, 100*eo)
	t.Logf("first engagement: %s with, %s without (relative to 19:00); incidents %d with, %d without",
		lw, lo, pw.Incidents, po.Incidents)
	if !(ew < eo/2) {
		t.Errorf("error with the event %.1f%%, without %.1f%%: want under half", 100*ew, 100*eo)
	}
	if lw >= 0 || lw >= lo {
		t.Errorf("first engagement %s with the event, %s without: want before the start and earlier", lw, lo)
	}
	if pw.Incidents > po.Incidents {
		t.Errorf("incidents with the event %d, without %d", pw.Incidents, po.Incidents)
	}
}

// eventScore returns the mean absolute percentage error of the horizon
// forecasts made in [start−horizon, start) (the forecasts of the event's
// first horizon, made before it starts), and when, relative to start, the
// first action engaged in [start−1h, start+1h).
func eventScore(decs []controller.Record, start time.Time, horizon time.Duration) (float64, time.Duration) {
	at := map[time.Time]float64{}
	for _, d := range decs {
		at[d.Time] = d.Load
	}
	var sum float64
	n := 0
	first := time.Hour
	for _, d := range decs {
		if !d.Time.Before(start.Add(-horizon)) && d.Time.Before(start) {
			if a := at[d.Time.Add(horizon)]; a > 0 && !math.IsNaN(d.Forecast[1]) {
				sum += math.Abs(d.Forecast[1]-a) / a
				n++
			}
		}
		if actionOf(d) != nil && actionOf(d).Op == actuators.Engage && first == time.Hour && d.Time.After(start.Add(-time.Hour)) && d.Time.Before(start.Add(time.Hour)) {
			first = d.Time.Sub(start)
		}
	}
	return sum / float64(n), first
}
