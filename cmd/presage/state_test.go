package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// coolConfig is hotConfig's service and playbook under a load it serves
// with nothing engaged.
func coolConfig(stateFile string) string {
	return strings.Replace(hotConfig(stateFile), "peak: 3", "peak: 0.2", 1)
}

// TestRestartUnderSpeedReverts: presage run -speed 600 engages the hot
// service's playbook and saves it with wall-clock times (step times ran
// minutes ahead of the wall clock, and a restart found every cooldown in
// the future); restarted on a load that no longer needs it, it reverts
// both actions.
func TestRestartUnderSpeedReverts(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	hot := writeTestFile(t, dir, "hot.yaml", hotConfig(state))
	p := startPresage(t, "run", "-config", hot, "-speed", "600")
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`action=read-replicas op=engage`), waitTimeout)
	// Let the step clock run well ahead of the wall clock.
	time.Sleep(time.Second)
	p.signal(t, syscall.SIGTERM)
	stopped := time.Now()

	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version  int
		Services map[string]struct {
			Engaged []struct {
				Action string
				At     time.Time
			}
			Changed map[string]time.Time
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	web := f.Services["checkout"]
	if f.Version != 2 || len(web.Engaged) != 2 {
		t.Fatalf("state file: version %d, %d engaged, want version 2 with 2 engaged:\n%s", f.Version, len(web.Engaged), b)
	}
	for _, e := range web.Engaged {
		if e.At.After(stopped) {
			t.Errorf("state file: %s engaged at %s, after presage stopped (%s): a step time, not wall-clock", e.Action, e.At, stopped)
		}
	}
	for a, at := range web.Changed {
		if at.After(stopped) {
			t.Errorf("state file: %s changed at %s, after presage stopped (%s)", a, at, stopped)
		}
	}

	cool := writeTestFile(t, dir, "cool.yaml", coolConfig(state))
	p = startPresage(t, "run", "-config", cool, "-speed", "600", "-policy", "reactive")
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`action=read-replicas op=revert`), 2*waitTimeout)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`action=async-queue op=revert`), 2*waitTimeout)
	p.signal(t, syscall.SIGTERM)
	for _, bad := range []string{"clamped", "set aside"} {
		if strings.Contains(p.stderr.String(), bad) {
			t.Errorf("the restart's log holds %q", bad)
		}
	}
}

// TestStateFileUnreadable: a state file that cannot be parsed stops run
// with an error naming it; -state-reset starts afresh on purpose and keeps
// the file aside.
func TestStateFileUnreadable(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	dir := t.TempDir()
	state := writeTestFile(t, dir, "state.json", "null")
	cfg := writeTestFile(t, dir, "hot.yaml", hotConfig(state))

	p := startPresage(t, "run", "-config", cfg, "-speed", "600")
	select {
	case <-p.done:
	case <-time.After(startTimeout):
		t.Fatal("run did not stop on an unreadable state file")
	}
	if want := "presage run: state file " + state + ": holds null, not a state (start with -state-reset to start afresh)"; p.err == nil || !strings.Contains(p.stderr.String(), want) {
		t.Fatalf("run: %v, stderr %q; want exit status 1 and %q", p.err, p.stderr.String(), want)
	}

	p = startPresage(t, "run", "-config", cfg, "-speed", "600", "-state-reset")
	p.waitFor(t, &p.stderr, startedLine, startTimeout)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`level=WARN msg="-state-reset: starting with nothing engaged on purpose`), waitTimeout)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`action=async-queue op=engage`), waitTimeout)
	p.signal(t, syscall.SIGTERM)
	if b, err := os.ReadFile(state + ".reset"); err != nil || string(b) != "null" {
		t.Errorf("the old state file kept aside: %q, %v", b, err)
	}
	if b, err := os.ReadFile(state); err != nil || !strings.Contains(string(b), `"version": 2`) {
		t.Errorf("the new state file: %q, %v", b, err)
	}
}

func TestCheckState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	cfg := writeTestFile(t, dir, "hot.yaml", hotConfig(state))
	for _, tt := range []struct {
		name, content string
		code          int
		want          []string // in stdout or stderr
	}{
		{"no engagement", `{"version": 2, "services": {"checkout": {"engaged": []}}}`, 0,
			[]string{"state.json: ok (version 2, 1 services, 0 engaged actions)"}},
		{"renamed service", `{"version": 2, "services": {"shop": {"engaged": [{"action": "async-queue", "fingerprint": "x", "from": 0, "to": 1, "at": "2026-01-05T00:00:00Z"}]}}}`, 1,
			[]string{`state.json: services.shop.engaged[0] (async-queue): set aside (unknown_service): no service "shop" in the configuration`, "1 record(s) set aside"}},
		{"unversioned, migrated", `{"checkout": {"engaged": [{"step": 0, "from": 0, "to": 1, "at": "2026-01-05T00:00:00Z"}]}}`, 0,
			[]string{"note: services.checkout.engaged[0]: unversioned record of playbook index 0 migrated to action async-queue", "ok (version 1, 1 services, 1 engaged actions)"}},
		{"index out of range", `{"checkout": {"engaged": [{"step": 4, "from": 0, "to": 1, "at": "2026-01-05T00:00:00Z"}]}}`, 1,
			[]string{"set aside (unknown_action): index 4 is not in the playbook of 2 actions"}},
		{"not JSON", `{"checkout"`, 1, []string{"state file " + state + ": unexpected end of JSON input"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			writeTestFile(t, dir, "state.json", tt.content)
			r := cli(t, "check", "-config", cfg, "-state", state)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%v", r.code, tt.code, r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output lacks %q\n%v", w, r)
				}
			}
		})
	}
	if r := cli(t, "check", "-config", cfg, "-state", filepath.Join(dir, "missing.json")); r.code != 1 || !strings.Contains(r.stderr, "missing.json: no such file") {
		t.Errorf("check of a missing state file: %v", r)
	}
}
