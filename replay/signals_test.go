package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/policy"
)

// replaySignals records the 'none' run of a replay of cfg and replays the
// recording's signals.
func replaySignals(t testing.TB, cfg *config.Config) *SignalsReport {
	t.Helper()
	rec, _ := recordNone(t, cfg)
	rep, err := ReplaySignals(context.Background(), SignalsOptions{Config: cfg, Recording: rec, Detail: true})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// recordNone replays cfg under policy none, writes its signals as presage
// export does and parses them back.
func recordNone(t testing.TB, cfg *config.Config) (*file.Recording, PolicyResult) {
	t.Helper()
	rep := replay(t, cfg, policy.None)
	var b bytes.Buffer
	if err := rep.WriteNoneSignals(&b); err != nil {
		t.Fatal(err)
	}
	rec, err := file.ParseSignals(&b, "none.csv")
	if err != nil {
		t.Fatal(err)
	}
	return rec, rep.Policies[0]
}

// TestReplaySignals replays the recorded signals of the 'none' run of the
// short replay: the incidents are the 'none' run's, each is warned, held
// or missed, the warnings come before the incidents, and two replays give
// the same report.
func TestReplaySignals(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	rec, none := recordNone(t, cfg)
	run := func(detail bool) (*SignalsReport, []byte) {
		rep, err := ReplaySignals(context.Background(), SignalsOptions{Config: cfg, Recording: rec, Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var dec bytes.Buffer
		if err := rep.WriteDecisions(&dec); err != nil {
			t.Fatal(err)
		}
		return rep, append(b, dec.Bytes()...)
	}
	rep, a := run(false)
	if _, b := run(false); !bytes.Equal(a, b) {
		t.Error("two replays of the same recording differ")
	}
	if _, b := run(true); !bytes.Equal(a, b) {
		t.Error("a replay that keeps every record scores or logs otherwise than one that does not")
	}
	if err := rep.WriteHTML(io.Discard); err == nil {
		t.Error("WriteHTML without detail: no error")
	}
	tot := rep.Total
	t.Logf("%+v", tot)
	if tot.Incidents != none.Incidents || tot.Incidents == 0 {
		t.Errorf("%d incidents in the recording, want the 'none' run's %d (> 0)", tot.Incidents, none.Incidents)
	}
	if tot.Warned+tot.Held+tot.Missed != tot.Incidents {
		t.Errorf("warned %d + held %d + missed %d != %d incidents", tot.Warned, tot.Held, tot.Missed, tot.Incidents)
	}
	if tot.Warned == 0 || tot.LeadTimeMinutes.Median == nil || *tot.LeadTimeMinutes.Min <= 0 {
		t.Errorf("no incident warned ahead: %+v", tot)
	}
	if tot.Engagements == 0 || tot.Precision == nil || *tot.Precision < 0 || *tot.Precision > 1 {
		t.Errorf("engagements %d, precision %v", tot.Engagements, tot.Precision)
	}
	var dec bytes.Buffer
	if err := rep.WriteDecisions(&dec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dec.String(), " predictive checkout Escalate engage ") {
		t.Errorf("no forecast recommendation in the decision log:\n%s", dec.String())
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "checkout") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestReplaySignalsMatching(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	csv := "timestamp,service,latency,requests\n2026-01-05T00:00:00Z,checkout,0.1,50\n2026-01-05T00:00:00Z,other,0.1,50\n2026-01-05T00:01:00Z,checkout,0.1,50\n"
	rec, err := file.ParseSignals(strings.NewReader(csv), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ReplaySignals(context.Background(), SignalsOptions{Config: cfg, Recording: rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Services) != 1 || rep.Services[0].Name != "checkout" || len(rep.NotConfigured) != 1 || rep.NotConfigured[0] != "other" {
		t.Errorf("services %+v, not configured %v", rep.Services, rep.NotConfigured)
	}

	rec.Services, rec.Values = []string{"other"}, map[string]map[metrics.Signal][]float64{"other": rec.Values["other"]}
	if _, err := ReplaySignals(context.Background(), SignalsOptions{Config: cfg, Recording: rec}); err == nil || !strings.Contains(err.Error(), "match none") {
		t.Errorf("error %v, want the services to match none", err)
	}

	rec.Step = 5 * time.Minute
	if _, err := ReplaySignals(context.Background(), SignalsOptions{Config: cfg, Recording: rec}); !errors.Is(err, ErrIntervalMismatch) {
		t.Errorf("error %v, want ErrIntervalMismatch", err)
	}
}

// TestSignalsLeadWithinHorizon: a recommendation on the forecast counts as
// a warning of an incident only within the forecast horizon before it, so
// that a lead time is never longer than the horizon. One made at the
// start of the recording and kept in force until a much later incident
// holds it (Held), with no lead time; a fresh one within the horizon warns
// of the next.
func TestSignalsLeadWithinHorizon(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	cfg.Services = cfg.Services[:1]
	services, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s := services[0]
	horizon := s.Horizon
	// Incidents start at 500 and 900 (the latency above the threshold from
	// K−1 samples before); engagements on the forecast at 5, kept in force
	// until 700, and at the horizon before the second incident.
	k := s.Incident.Consecutive
	inc1, inc2 := 500, 900
	lat := latencyWith(1000, [2]int{inc1 - k + 1, inc1 + 5}, [2]int{inc2 - k + 1, inc2 + 5})
	engage := map[int]policy.Reason{5: policy.Escalate, inc2 - horizon: policy.Escalate}
	revert := 700
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	decs := newDecisions([]string{s.Name}, start, time.Minute, policy.Predictive, len(lat), false)
	level := 0
	for i, v := range lat {
		at := start.Add(time.Duration(i) * time.Minute)
		r := controller.Record{Time: at, Service: s.Name, Mode: policy.Predictive, Reason: policy.Holding,
			Latency: v, TimeToBreach: -1, BreachLevel: math.Inf(1)}
		if reason, ok := engage[i]; ok {
			level = 1
			r.Reason = reason
			r.Actions = []controller.Applied{{Action: actuators.Action{Service: s.Name, Action: s.Playbook[0].Name, Op: actuators.Engage, To: 1}}}
		}
		if i == revert {
			level = 0
			r.Reason = policy.Revert
			r.Actions = []controller.Applied{{Action: actuators.Action{Service: s.Name, Action: s.Playbook[0].Name, Op: actuators.Revert, To: 0}}}
		}
		r.Level = level
		decs.svc[0].add(r)
	}
	rec := &file.Recording{Start: start, Step: time.Minute, Len: len(lat), Services: []string{s.Name},
		Values: map[string]map[metrics.Signal][]float64{s.Name: {metrics.Latency: lat}}}
	r, leads := scoreSignals(s, rec, decs.Service(s.Name))
	if r.Incidents != 2 || r.Warned != 1 || r.Held != 1 || r.Missed != 0 {
		t.Errorf("incidents %d, warned %d, held %d, missed %d; want 2, 1, 1, 0", r.Incidents, r.Warned, r.Held, r.Missed)
	}
	if want := []float64{float64(horizon)}; !slices.Equal(leads, want) {
		t.Errorf("lead times %v minutes, want %v (the horizon)", leads, want)
	}
	for _, l := range leads {
		if l > float64(horizon) {
			t.Errorf("lead time %v minutes, longer than the horizon of %d", l, horizon)
		}
	}
}
