package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// denseEventConfig is testdata/replay.event.yaml with eight of the densest
// event schedule check accepts at global.interval 1m (a window of 1m every
// 2m: each ends one interval before the next starts) over a load of days
// days.
func denseEventConfig(t *testing.T, days string) string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/replay.event.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for _, r := range [][2]string{
		{`cron: "0 19 * * 2,5"`, `cron: "*/2 * * * *"`},
		{"    duration: 3h\n", "    duration: 1m\n"},
		{"duration: 5d", "duration: " + days},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("testdata/replay.event.yaml no longer holds %q", r[0])
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	// Seven more such schedules: each is listed and checked on its own.
	i := strings.Index(cfg, "  - name: promo\n")
	if i < 0 {
		t.Fatal("testdata/replay.event.yaml no longer holds the schedule promo")
	}
	sched := cfg[i:]
	for k := range 7 {
		cfg += strings.Replace(sched, "name: promo", fmt.Sprintf("name: promo%d", k), 1)
	}
	return writeTestFile(t, t.TempDir(), "dense.yaml", cfg)
}

// TestReplayStopsWithinASecond checks that a replay stops within one second of
// SIGTERM or SIGINT at any point: while the configuration is checked,
// while the steps run and later, with an event schedule whose windows are
// as dense as check allows (expanding them used to take seconds at a time
// without a look at the context: in Validate, in the controller's event
// mask at every refit, and in the replay's window listing).
func TestReplayStopsWithinASecond(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	cfg := denseEventConfig(t, "180d")
	for _, tt := range []struct {
		name  string
		after time.Duration
		sig   syscall.Signal
	}{
		// Before the fix, the check of the configuration alone took one to
		// three seconds (Validate listing 5,000 windows, each found by
		// walking some 180 cron times): these two fell in it.
		{"SIGTERM at 0.5s", 500 * time.Millisecond, syscall.SIGTERM},
		{"SIGTERM at 1s", time.Second, syscall.SIGTERM},
		{"SIGINT at 2s", 2 * time.Second, syscall.SIGINT},
		{"SIGTERM at 4s", 4 * time.Second, syscall.SIGTERM},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPresage(t, "replay", "-config", cfg, "-policies", "predictive,plan")
			select {
			case <-p.done:
				t.Fatalf("the replay ended (%v) before the signal at %v: make it longer", p.err, tt.after)
			case <-time.After(tt.after):
			}
			sent := time.Now()
			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.done:
			case <-time.After(waitTimeout):
				t.Fatalf("still running %v after %v", waitTimeout, tt.sig)
			}
			if took := time.Since(sent); took > time.Second {
				t.Errorf("exited %v after %v, want within 1s", took.Round(time.Millisecond), tt.sig)
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(p.stderr.String(), "context canceled") {
				t.Errorf("exit %d, stderr %q; want exit 1 on context canceled", code, p.stderr.String())
			}
		})
	}
}

// TestReplayStopsWhileWriting sends SIGTERM once the table is printed,
// while the JSON of a month of eight dense event schedules (28 MB, most of
// it their windows) is encoded: the replay stops within one second, with no
// output file, where it used to finish writing (seconds) and exit 0.
func TestReplayStopsWhileWriting(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	cfg := denseEventConfig(t, "30d")
	out := filepath.Join(t.TempDir(), "out.json")
	p := startPresage(t, "replay", "-config", cfg, "-policies", "predictive", "-json", out)
	p.waitFor(t, &p.stdout, regexp.MustCompile(`(?m)^ +predictive +\d+`), 2*time.Minute)
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		t.Fatalf("still running %v after SIGTERM", waitTimeout)
	}
	if took := time.Since(sent); took > time.Second {
		t.Errorf("exited %v after SIGTERM, want within 1s", took.Round(time.Millisecond))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(p.stderr.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q; want exit 1 on context canceled", code, p.stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want no file", out, err)
	}
}
