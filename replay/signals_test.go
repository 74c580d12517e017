package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
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
