package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

func TestParseSignals(t *testing.T) {
	rec, err := ParseSignals(strings.NewReader(exported), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if !rec.Start.Equal(t0) || rec.Step != time.Minute || rec.Len != 5 {
		t.Fatalf("grid %s %v × %d, want %s 1m × 5", rec.Start, rec.Step, rec.Len, t0)
	}
	if got := strings.Join(rec.Services, ","); got != "checkout,search" {
		t.Errorf("services %s", got)
	}
	nan := math.NaN()
	for _, tt := range []struct {
		service string
		sig     metrics.Signal
		want    []float64
	}{
		{"checkout", metrics.Latency, []float64{0.1, 0.12, 0.2, nan, 0.3}},
		{"checkout", metrics.Requests, []float64{50, nan, 70, nan, 80}},
		{"search", metrics.PoolLimit, []float64{30, nan, 30, nan, nan}},
	} {
		if got := rec.Values[tt.service][tt.sig]; !sameValues(got, tt.want) {
			t.Errorf("%s %s = %v, want %v", tt.service, tt.sig, got, tt.want)
		}
	}

	for _, tt := range []struct{ name, csv, want string }{
		{"no service column", "timestamp,latency\n2026-01-05T00:00:00Z,1\n", `x.csv:1: no "service" column`},
		{"no signal column", "timestamp,service\n2026-01-05T00:00:00Z,a\n", "x.csv:1: no signal column"},
		{"bad value", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,x\n", `x.csv:3: latency: value "x": not a number`},
		{"out of order", "timestamp,service,latency\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:00:00Z,a,1\n", "x.csv:3: service a: timestamp"},
		{"off the grid", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:02:00Z,a,1\n2026-01-05T00:02:30Z,b,1\n2026-01-05T00:03:30Z,b,1\n", "x.csv:5: timestamp 2026-01-05T00:02:30Z is not on the 1m0s grid"},
		{"one row", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n", "need two to find the step"},
		{"empty", "", "no data rows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignals(strings.NewReader(tt.csv), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

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
func recordNone(t testing.TB, cfg *config.Config) (*Recording, PolicyResult) {
	t.Helper()
	rep := replay(t, cfg, policy.None)
	var b bytes.Buffer
	if err := rep.WriteNoneSignals(&b); err != nil {
		t.Fatal(err)
	}
	rec, err := ParseSignals(&b, "none.csv")
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
	rec, err := ParseSignals(strings.NewReader(csv), "x.csv")
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
