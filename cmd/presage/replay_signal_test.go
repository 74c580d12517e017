package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReplayStopsOnSignal: a replay stops soon after SIGINT or SIGTERM,
// whatever the configuration: a year of load, sweeps, the heaviest
// forecast check allows. It exits with status 1 and says the replay was
// cancelled. TestReplayStopsWithinASecond holds the densest event schedules
// check allows to one second.
func TestReplayStopsOnSignal(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	dir := t.TempDir()
	example := exampleConfig(t, 364, "")
	heavy := strings.NewReplacer("      paths: 200", "      paths: 10000", "      horizon: 30m", "      horizon: 16h",
		"      model: auto", "      model: combination").Replace(example)
	year := writeTestFile(t, dir, "year.yaml", example)
	heavyFile := writeTestFile(t, dir, "heavy.yaml", heavy)
	// Once a minute, the replay ignored the signal for minutes; check now
	// refuses the schedule, and the replay with it.
	raw, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	minutely := writeTestFile(t, dir, "minutely.yaml", string(raw)+`
schedules:
  - {name: often, kind: event, cron: "* * * * *", duration: 30s}
`)
	for _, tt := range []struct {
		name string
		args []string
		sig  syscall.Signal
		// refused is what stderr says when the replay may refuse the
		// configuration before the signal
		refused string
	}{
		{"a year", []string{"replay", "-config", year, "-policies", "none,reactive,predictive,static,clairvoyant"}, syscall.SIGINT, ""},
		{"sweep", []string{"replay", "-config", year, "-sweep", "playbook[*].revert_after=1m,2m,3m,4m,5m,6m,7m,8m"}, syscall.SIGTERM, ""},
		{"heavy forecast and report", []string{"replay", "-config", heavyFile, "-report", "r.html"}, syscall.SIGINT, ""},
		{"events every minute", []string{"replay", "-config", minutely, "-policies", "predictive"}, syscall.SIGINT,
			"schedules[0].duration: window"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPresage(t, tt.args...)
			select {
			case <-p.done:
				if tt.refused == "" || !strings.Contains(p.stderr.String(), tt.refused) {
					t.Fatalf("exited (%v) before the signal", p.err)
				}
				if code := p.cmd.ProcessState.ExitCode(); code != 1 {
					t.Errorf("exit status %d, want 1", code)
				}
				return
			case <-time.After(2 * time.Second):
			}
			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			select {
			case <-p.done:
			case <-time.After(waitTimeout):
				t.Fatalf("still running %v after %v", waitTimeout, tt.sig)
			}
			// One second is the goal; the bound leaves room for a loaded
			// test machine.
			if d := time.Since(sent); d > 3*time.Second {
				t.Errorf("exited %v after %v, want within a second or so", d, tt.sig)
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if !strings.Contains(p.stderr.String(), "context canceled") {
				t.Errorf("stderr does not say the replay was cancelled: %q", p.stderr.String())
			}
		})
	}
}
