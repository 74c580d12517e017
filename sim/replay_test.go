package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadTestConfig(t testing.TB, name string) *config.Config {
	t.Helper()
	cfg, err := config.LoadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func replay(t testing.TB, cfg *config.Config, modes ...policy.Mode) *Report {
	t.Helper()
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Policies: modes})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestGoldenDecisions compares the decision log of a short replay with
// testdata/golden/replay.decisions; -update rewrites it.
func TestGoldenDecisions(t *testing.T) {
	rep := replay(t, loadTestConfig(t, "testdata/replay.short.yaml"))
	var got bytes.Buffer
	if err := rep.WriteDecisions(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "testdata", "golden", "replay.decisions")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./sim -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("decision log differs from %s (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", golden, got.String(), want)
	}
	if !strings.Contains(got.String(), " predictive checkout Escalate engage ") {
		t.Errorf("the golden replay has no predictive escalation")
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	a, _ := json.Marshal(replay(t, cfg))
	b, _ := json.Marshal(replay(t, cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("two replays of the same input differ")
	}
}

func TestReplayPolicyOrderAndBaseline(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	rep := replay(t, cfg, policy.Predictive, policy.Reactive)
	if len(rep.Policies) != 2 || rep.Policies[0].Name != "predictive" || rep.Policies[1].Name != "reactive" {
		t.Fatalf("policies = %+v", rep.Policies)
	}
	// The 'none' run is the counterfactual even when not asked for.
	if rep.Policies[0].NoneIncidents == 0 {
		t.Error("no 'none' incidents to measure lead time against")
	}
	if rep.Policies[0].LeadTimeMinutes.Median == nil {
		t.Error("predictive has no lead time")
	}
}

// TestExampleReplay is the README's claim: on the example config,
// predictive has fewer incidents than reactive, and reactive fewer than
// none, at comparable cost.
func TestExampleReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of replay; skipped with -short")
	}
	rep := replay(t, loadTestConfig(t, "config.example.yaml"))
	by := map[string]PolicyResult{}
	for _, p := range rep.Policies {
		by[p.Name] = p
		t.Logf("%-10s incidents %3d breach %5.0f min actions %3d cost %6.0f", p.Name, p.Incidents, p.BreachMinutes, p.Actions, p.Cost.Total)
	}
	none, reactive, predictive := by["none"], by["reactive"], by["predictive"]
	if !(predictive.Incidents < reactive.Incidents && reactive.Incidents < none.Incidents) {
		t.Errorf("incidents: predictive %d, reactive %d, none %d; want predictive < reactive < none",
			predictive.Incidents, reactive.Incidents, none.Incidents)
	}
	if predictive.Cost.Total > 1.25*reactive.Cost.Total {
		t.Errorf("predictive cost %.0f is more than 1.25× reactive's %.0f", predictive.Cost.Total, reactive.Cost.Total)
	}
}

func TestReplayTraceOverride(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := &Trace{Start: start, Step: time.Minute, Values: make([]float64, 600)}
	for i := range tr.Values {
		tr.Values[i] = float64(i % 100)
	}
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: tr, Policies: []policy.Mode{policy.None}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Start.Equal(start) || rep.End.Sub(rep.Start) != 600*time.Minute {
		t.Errorf("replay spans %s..%s, want the trace's 10 hours from %s", rep.Start, rep.End, start)
	}
	steps := rep.Runs[0].Steps["checkout"]
	var peak float64
	for _, s := range steps {
		peak = max(peak, s.Load)
	}
	// Scaled to sim.load.peak (1.4) × capacity min(130, 90).
	if want := 1.4 * 90; peak < want-1e-9 || peak > want+1e-9 {
		t.Errorf("trace peak %.3f, want %.3f", peak, want)
	}
}
