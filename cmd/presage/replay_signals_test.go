package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReplayRecordThenSignals records the 'none' run of a replay with
// -record, replays the recording with -signals, and checks the table, the
// JSON, the decision log and the report.
func TestReplayRecordThenSignals(t *testing.T) {
	t.Parallel()
	cfg := replayConfig(t, 2)
	dir := t.TempDir()
	recPath := filepath.Join(dir, "signals.csv")
	if r := cli(t, "replay", "-config", cfg, "-policies", "none", "-record", recPath); r.code != 0 {
		t.Fatalf("record: %v", r)
	}
	head, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(head), "timestamp,service,latency,requests,pool_in_use,pool_limit\n2026-01-05T00:00:00Z,checkout,") {
		t.Errorf("recording starts %q", string(head[:min(len(head), 120)]))
	}

	jsonPath, decPath, html := filepath.Join(dir, "s.json"), filepath.Join(dir, "s.log"), filepath.Join(dir, "s.html")
	r := cli(t, "replay", "-config", cfg, "-signals", recPath, "-json", jsonPath, "-decisions", decPath, "-report", html)
	if r.code != 0 {
		t.Fatalf("signals: %v", r)
	}
	if !strings.HasPrefix(r.stdout, "replay of recorded signals 2026-01-05T00:00:00Z .. 2026-01-07T00:00:00Z, 2 services") {
		t.Errorf("table:\n%s", r.stdout)
	}
	row := regexp.MustCompile(`(?m)^\s+checkout\s+(\d+)\s`).FindStringSubmatch(r.stdout)
	var rep struct {
		Kind     string
		Services []struct {
			Name                            string
			Incidents, Warned, Held, Missed int
			Recall, Precision               *float64
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "signals" || len(rep.Services) != 2 || rep.Services[0].Name != "checkout" {
		t.Fatalf("JSON %s", data)
	}
	c := rep.Services[0]
	if row == nil || row[1] != itoa(c.Incidents) || c.Incidents == 0 || c.Warned+c.Held+c.Missed != c.Incidents {
		t.Errorf("checkout: table row %v, JSON %+v", row, c)
	}
	dec, err := os.ReadFile(decPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dec), " predictive checkout ") {
		t.Errorf("decision log:\n%s", dec)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n != 6 {
		t.Errorf("report has %d charts, want 3 per service", n)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestReplaySweep(t *testing.T) {
	t.Parallel()
	cfg := replayConfig(t, 1)
	r := cli(t, "replay", "-config", cfg, "-sweep", "forecast.trigger=0.3,0.7", "-sweep", "services[0].playbook[0].margin=0m,10m", "-json", "-")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	var res struct {
		Kind   string
		Params []string
		Rows   []struct {
			Values []string
			Name   string
			Pareto bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// 2 × 2 points × (reactive, predictive, plan).
	if res.Kind != "sweep" || len(res.Params) != 2 || len(res.Rows) != 12 {
		t.Fatalf("sweep %+v", res)
	}
	front := 0
	for _, row := range res.Rows {
		if row.Pareto {
			front++
		}
	}
	if front == 0 || res.Rows[0].Values[0] != "0.3" || res.Rows[11].Values[1] != "10m" || res.Rows[1].Name != "predictive" {
		t.Errorf("rows %+v", res.Rows)
	}

	r = cli(t, "replay", "-config", cfg, "-policies", "predictive", "-sweep", "trigger=0.5")
	if r.code != 1 || !strings.Contains(r.stderr, `-sweep trigger=0.5: services[0].trigger: unknown field "trigger"`) {
		t.Errorf("a key that is not a service field: %v", r)
	}
	r = cli(t, "replay", "-config", cfg, "-sweep", "forecast.trigger=0.5,1.5")
	if r.code != 1 || !strings.Contains(r.stderr, "-sweep forecast.trigger=1.5: services[0].forecast.trigger: 1.5 must be within (0, 1]") || r.stdout != "" {
		t.Errorf("an invalid value: %v", r)
	}
	r = cli(t, "replay", "-config", cfg, "-sweep", "forecast.trigger", "-json", "-")
	if r.code != 2 || !strings.Contains(r.stderr, "want path=v1,v2") {
		t.Errorf("no values: %v", r)
	}
	r = cli(t, "replay", "-config", cfg, "-sweep", "forecast.trigger=0.5", "-report", filepath.Join(t.TempDir(), "r.html"))
	if r.code != 2 {
		t.Errorf("-sweep with -report: %v", r)
	}
}
