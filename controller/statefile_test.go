package controller

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

// cpuConfig is a service with two actions whose bounds differ (a queue
// 0..1 that engages up, a CPU factor 0.4..1 that engages down), in the
// order given: a reorder swaps them.
func cpuConfig(t testing.TB, reordered bool) *config.Config {
	t.Helper()
	queue := `      - {name: queue, actuator: {kind: sim, knob: queue}, warmup: 1m, cooldown: 2m, revert_after: 5m}`
	cpu := `      - {name: cpu, actuator: {kind: sim, knob: cpu_limit}, min: 0.4, max: 1, baseline: 1, engaged: 0.4, warmup: 1m, cooldown: 2m, revert_after: 5m}`
	first, second := queue, cpu
	if reordered {
		first, second = cpu, queue
	}
	c, err := config.Load([]byte(`
global: {interval: 1m, history: 1d}
services:
  - name: web
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident: {above: 0.5, consecutive: 3}
    forecast: {horizon: 10m, period: 0s, refit: "@hourly"}
    playbook:
`+first+"\n"+second+"\n"), "cpu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// engagedBoth is web's state with the queue (0 → 1) and the CPU factor
// (1 → 0.4) engaged, as a controller on cpuConfig(false) holds it.
func engagedBoth(at time.Time) map[string]policy.State {
	return map[string]policy.State{"web": {
		Engaged: []policy.Engagement{{Step: 0, From: 0, To: 1, At: at}, {Step: 1, From: 1, To: 0.4, At: at.Add(time.Minute)}},
		Changed: map[string]time.Time{"queue": at, "cpu": at.Add(time.Minute)},
	}}
}

func writeState(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t)
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	now := at.Add(time.Hour)
	want := map[string]policy.State{
		"web": {Engaged: []policy.Engagement{{Step: 0, From: 0, To: 1, At: at}, {Step: 1, From: 0, To: 3, At: at.Add(time.Minute)}},
			Changed: map[string]time.Time{"queue": at, "replicas": at.Add(time.Minute)}, ClearSince: at.Add(2 * time.Minute)},
	}
	for _, tt := range []struct {
		name    string
		path    string
		content *string // written first when set
		want    map[string]policy.State
		err     string
	}{
		{name: "no state file configured", path: ""},
		{name: "missing file", path: filepath.Join(dir, "missing.json")},
		{name: "corrupt file", path: filepath.Join(dir, "corrupt.json"), content: ptr("{"), err: "state file " + filepath.Join(dir, "corrupt.json") + ": "},
		{name: "null", path: filepath.Join(dir, "null.json"), content: ptr("null"), err: "null.json: holds null, not a state (start with -state-reset"},
		{name: "empty object", path: filepath.Join(dir, "empty.json"), content: ptr("{}\n"), err: "empty.json: holds {}: no version and no service"},
		{name: "empty file", path: filepath.Join(dir, "blank.json"), content: ptr(""), err: "blank.json: unexpected end of JSON input"},
		{name: "unknown version", path: filepath.Join(dir, "v3.json"), content: ptr(`{"version": 3, "services": {}}`), err: "v3.json: version 3 is not one this presage reads"},
		{name: "unknown field", path: filepath.Join(dir, "field.json"), content: ptr(`{"version": 2, "services": {}, "extra": 1}`), err: `field.json: json: unknown field "extra"`},
		{name: "a directory", path: dir, err: "state file: "},
		{name: "saved state", path: filepath.Join(dir, "state.json"), want: want},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != nil {
				if err := os.WriteFile(tt.path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.want != nil {
				if err := SaveState(tt.path, cfg, tt.want); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LoadState(tt.path, cfg, now, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("LoadState = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rejected) > 0 || len(got.Warnings) > 0 {
				t.Errorf("LoadState set aside %v, warned %q", got.Rejected, got.Warnings)
			}
			if g, w := fmt.Sprintf("%+v", got.State), fmt.Sprintf("%+v", tt.want); g != w {
				t.Errorf("LoadState = %s, want %s", g, w)
			}
		})
	}
	// The saved file is version 2, by action name, with fingerprints.
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"version": 2`, `"action": "replicas"`, `"fingerprint": "` + ActionFingerprint(cfg.Services[0].Playbook[1]) + `"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("state file lacks %s:\n%s", s, b)
		}
	}
	// SaveState leaves nothing but the state file behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "blank.json corrupt.json empty.json field.json null.json state.json v3.json"; got != want {
		t.Errorf("state directory holds %s, want %s", got, want)
	}
}

// rejected returns the reasons of the rejections, in order.
func rejected(l LoadedState) string {
	var out []string
	for _, r := range l.Rejected {
		out = append(out, r.Reason)
	}
	return strings.Join(out, " ")
}

// TestStateFileIndexOutOfRange: an unversioned file whose playbook index
// is past the playbook used to panic at every step; it is set aside, and
// the controller steps.
func TestStateFileIndexOutOfRange(t *testing.T) {
	cfg := loadConfig(t)
	path := writeState(t, `{"web": {"engaged": [{"step": 0, "from": 0, "to": 1, "at": "2026-01-05T00:00:00Z"},
		{"step": 7, "from": 0, "to": 1, "at": "2026-01-05T00:01:00Z"}]}}`)
	l, err := LoadState(path, cfg, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := rejected(l); got != RejectUnknownAction {
		t.Fatalf("rejected %q, want unknown_action: %v", got, l.Rejected)
	}
	if l.Version != 1 || l.State["web"].Level() != 1 || len(l.Warnings) != 1 {
		t.Fatalf("loaded version %d, %+v, warnings %q; want version 1, the queue migrated with a warning", l.Version, l.State, l.Warnings)
	}
	reg := prometheus.NewRegistry()
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: cfg, Source: &script{lat: repeat(0.1, 20), load: repeat(10, 20)}, Mode: policy.Reactive,
		Registerer: reg, Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}, State: l.State, StateRejected: l.Rejected})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
	}
	if got := rec.Records(); len(got) != 1 || got[0].Action != "queue" || got[0].Op != actuators.Revert || got[0].To != 0 {
		t.Errorf("the controller did %+v, want the queue reverted to 0", got)
	}
	if got := testutil.ToFloat64(ctl.tel.stateRejected.WithLabelValues(RejectUnknownAction)); got != 1 {
		t.Errorf("presage_state_records_rejected_total{reason=unknown_action} = %v, want 1", got)
	}

	// A state handed to New directly with an index out of range is an
	// error, not a panic.
	_, err = New(Options{Config: cfg, Source: &script{}, Actuators: map[string][]actuators.Actuator{"web": {rec, rec}},
		State: map[string]policy.State{"web": {Engaged: []policy.Engagement{{Step: 7}}}}})
	if err == nil || !strings.Contains(err.Error(), "playbook index 7") {
		t.Errorf("New with step 7 = %v, want an error naming index 7", err)
	}
}

// TestStateFileReorder: after the playbook is reordered, a restart
// reverts each action to its own value, never to another's.
func TestStateFileReorder(t *testing.T) {
	at := t0.Add(-time.Hour)
	var v2 bytes.Buffer
	if err := EncodeState(&v2, cpuConfig(t, false), engagedBoth(at)); err != nil {
		t.Fatal(err)
	}
	reordered := cpuConfig(t, true)
	l, err := DecodeState(v2.Bytes(), reordered, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Rejected) > 0 || len(l.Warnings) > 0 {
		t.Fatalf("set aside %v, warned %q", l.Rejected, l.Warnings)
	}
	want := policy.State{
		Engaged: []policy.Engagement{{Step: 0, From: 1, To: 0.4, At: at.Add(time.Minute)}, {Step: 1, From: 0, To: 1, At: at}},
		Changed: map[string]time.Time{"queue": at, "cpu": at.Add(time.Minute)},
	}
	if g, w := fmt.Sprintf("%+v", l.State["web"]), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("restored %s, want %s", g, w)
	}
	// The restarted controller reverts the queue to 0 and the CPU factor
	// to 1.
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: reordered, Source: &script{lat: repeat(0.1, 40), load: repeat(10, 40)}, Mode: policy.Reactive,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}, State: l.State})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
	}
	var got []string
	for _, a := range rec.Records() {
		got = append(got, fmt.Sprintf("%s %s %g→%g", a.Op, a.Action, a.From, a.To))
	}
	if g, w := strings.Join(got, ", "), "revert queue 1→0, revert cpu 0.4→1"; g != w {
		t.Errorf("after the reorder the controller did %s, want %s", g, w)
	}

	// The unversioned file of the same state, by index, cannot be mapped
	// onto the reordered playbook: index 0 (queue 0 → 1) is out of the CPU
	// factor's bounds, index 1 (cpu 1 → 0.4) goes down where the queue
	// engages up. Both are set aside; nothing is applied blindly.
	v1 := `{"web": {"engaged": [{"step": 0, "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"},
		{"step": 1, "from": 1, "to": 0.4, "at": "2026-01-04T23:01:00Z"}], "changed": {"queue": "2026-01-04T23:00:00Z"}}}`
	l, err = DecodeState([]byte(v1), reordered, t0)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := rejected(l), "out_of_bounds direction"; g != w {
		t.Errorf("unversioned file on the reordered playbook: rejected %q, want %q: %v", g, w, l.Rejected)
	}
	if l.State["web"].Level() != 0 {
		t.Errorf("restored %+v, want nothing engaged", l.State["web"])
	}
	// On the playbook it was written for, it migrates whole, with warnings.
	l, err = DecodeState([]byte(v1), cpuConfig(t, false), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Rejected) > 0 || len(l.Warnings) != 2 || l.State["web"].Level() != 2 {
		t.Errorf("unversioned file on its playbook: rejected %v, warnings %q, state %+v; want both migrated with a warning each", l.Rejected, l.Warnings, l.State)
	}

	// A fingerprint that no longer matches (the queue became a webhook) is
	// set aside.
	moved := cpuConfig(t, false)
	moved.Services[0].Playbook[0].Actuator = config.Actuator{Kind: config.ActuatorWebhook, Webhook: config.Webhook{URL: "http://localhost/queue"}}
	l, err = DecodeState(v2.Bytes(), moved, t0)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := rejected(l), "fingerprint"; g != w {
		t.Errorf("after the queue became a webhook: rejected %q, want %q", g, w)
	}
	// The CPU factor is still engaged, the queue below it with no change.
	if st := l.State["web"]; st.Level() != 2 || !st.Engaged[0].NoChange || st.Engaged[1].To != 0.4 || len(l.Warnings) != 1 {
		t.Errorf("restored %+v, warnings %q; want the queue held with no change below the CPU factor", st, l.Warnings)
	}
}

// TestStateFileSetsAside: every record that does not fit the
// configuration is set aside with its reason, the others restored.
func TestStateFileSetsAside(t *testing.T) {
	cfg := cpuConfig(t, false)
	fp := func(i int) string { return ActionFingerprint(cfg.Services[0].Playbook[i]) }
	for _, tt := range []struct {
		name, content string
		rejected      string
		level         int
	}{
		{"renamed service", `{"version": 2, "services": {"old-web": {"engaged": [{"action": "queue", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"}]}}}`,
			"unknown_service", 0},
		{"unknown service with nothing engaged", `{"version": 2, "services": {"old-web": {"engaged": []}}}`, "unknown_service", 0},
		{"unknown action", `{"version": 2, "services": {"web": {"engaged": [{"action": "queues", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"}], "changed": {"queues": "2026-01-04T23:00:00Z"}}}}`,
			"unknown_action unknown_action", 0},
		{"out of bounds", `{"version": 2, "services": {"web": {"engaged": [{"action": "queue", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"},
			{"action": "cpu", "fingerprint": "` + fp(1) + `", "from": 1, "to": 0, "at": "2026-01-04T23:00:00Z"}]}}}`, "out_of_bounds", 1},
		{"duplicate", `{"version": 2, "services": {"web": {"engaged": [{"action": "queue", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"},
			{"action": "queue", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"}],
			"prewarmed": [{"action": "queue", "fingerprint": "` + fp(0) + `", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"}]}}}`, "duplicate duplicate", 1},
		{"no fingerprint", `{"version": 2, "services": {"web": {"engaged": [{"action": "queue", "from": 0, "to": 1, "at": "2026-01-04T23:00:00Z"}]}}}`, "fingerprint", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := DecodeState([]byte(tt.content), cfg, t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := rejected(l); got != tt.rejected {
				t.Errorf("rejected %q, want %q: %v", got, tt.rejected, l.Rejected)
			}
			if got := l.State["web"].Level(); got != tt.level {
				t.Errorf("restored level %d, want %d", got, tt.level)
			}
			for _, r := range l.Rejected {
				if !strings.Contains(r.String(), "set aside ("+r.Reason+")") {
					t.Errorf("rejection reads %q", r)
				}
			}
		})
	}
}

// TestStateFileFutureTimes: times more than an interval in the future (a
// clock stepped back, or step times of a run under -speed) are clamped to
// now, so the cooldowns and revert timers run and the engaged action is
// reverted.
func TestStateFileFutureTimes(t *testing.T) {
	cfg := loadConfig(t)
	future := t0.Add(3 * time.Hour).Format(time.RFC3339)
	for _, tt := range []struct{ name, content string }{
		{"version 2", `{"version": 2, "services": {"web": {"engaged": [{"action": "queue", "fingerprint": "` + ActionFingerprint(cfg.Services[0].Playbook[0]) +
			`", "from": 0, "to": 1, "at": "` + future + `"}], "changed": {"queue": "` + future + `"}, "clear_since": "` + future + `"}}}`},
		{"unversioned", `{"web": {"engaged": [{"step": 0, "from": 0, "to": 1, "at": "` + future + `"}], "changed": {"queue": "` + future + `"}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LoadState(writeState(t, tt.content), cfg, t0, nil)
			if err != nil {
				t.Fatal(err)
			}
			st := l.State["web"]
			if st.Engaged[0].At != t0 || st.Changed["queue"] != t0 || st.ClearSince.After(t0) {
				t.Fatalf("restored %+v, want every time clamped to %s", st, t0)
			}
			clamped := 0
			for _, w := range l.Warnings {
				if strings.Contains(w, "clamped to now") {
					clamped++
				}
			}
			if clamped < 2 {
				t.Errorf("warnings %q, want one per clamped time", l.Warnings)
			}
			rec := actuators.NewRecorder(nil)
			ctl, err := New(Options{Config: cfg, Source: &script{lat: repeat(0.1, 30), load: repeat(10, 30)}, Mode: policy.Reactive,
				Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}, State: l.State})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 30 {
				ctl.Step(context.Background(), t0.Add(time.Duration(i)*time.Minute))
			}
			if got := rec.Records(); len(got) != 1 || got[0].Op != actuators.Revert {
				t.Errorf("after a restart with future times the controller did %+v, want the queue reverted", got)
			}
		})
	}
}

// TestStateTimesAreWallClock: under Speed, Run maps the saved wall-clock
// times onto its step clock (the step clock ran on at Speed while presage
// was stopped) and saves wall-clock times.
func TestStateTimesAreWallClock(t *testing.T) {
	epoch := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: loadConfig(t), Source: &script{}, Speed: 600,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}},
		State: map[string]policy.State{"web": {
			Engaged: []policy.Engagement{{Step: 0, From: 0, To: 1, At: epoch.Add(-10 * time.Second)}},
			Changed: map[string]time.Time{"queue": epoch.Add(-10 * time.Second)},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ctl.startClock(epoch)
	st := ctl.State()["web"]
	if want := epoch.Add(-100 * time.Minute); !st.Engaged[0].At.Equal(want) || !st.Changed["queue"].Equal(want) || !st.ClearSince.IsZero() {
		t.Errorf("in step time: %+v, want the times at %s (10 s × 600 before the start), ClearSince zero", st, want)
	}
	saved := ctl.savedState()["web"]
	if want := epoch.Add(-10 * time.Second); !saved.Engaged[0].At.Equal(want) || !saved.Changed["queue"].Equal(want) {
		t.Errorf("saved %+v, want wall-clock %s", saved, want)
	}
	if got := ctl.wallTime(epoch.Add(time.Hour)); !got.Equal(epoch.Add(6 * time.Second)) {
		t.Errorf("an hour of step time after the start is %s on the wall clock, want 6 s after it", got)
	}
	if got := ctl.stepTime(time.Time{}.Add(time.Hour)); got.After(epoch) {
		t.Errorf("a time far in the past maps to %s", got)
	}
}

// FuzzLoadState: whatever the file holds, the loader returns an error or
// a state the controller can run: every engagement's action in the
// playbook, within its bounds, once, the stack in playbook order, no time
// beyond an interval ahead; and saving it loads back the same.
func FuzzLoadState(f *testing.F) {
	cfg := cpuConfig(f, false)
	var v2 bytes.Buffer
	if err := EncodeState(&v2, cfg, engagedBoth(t0)); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{v2.String(), "null", "{}", "[]", `{"version": 2}`, `{"version": 2, "services": null}`,
		`{"web": {"engaged": [{"step": 0, "from": 0, "to": 1, "at": "2026-01-05T00:00:00Z"}, {"step": 7}]}}`,
		`{"web": {"engaged": [{"step": 1, "from": 1, "to": 0.4}], "prewarmed": [{"step": 0, "from": 0, "to": 1}], "changed": {"x": "2099-01-01T00:00:00Z"}}}`,
		`{"version": 2, "services": {"web": {"engaged": [{"action": "cpu", "fingerprint": "` + ActionFingerprint(cfg.Services[0].Playbook[1]) + `", "from": 1, "to": 0.4, "at": "9999-01-01T00:00:00Z"}]}, "x": {}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeState(b, cfg, t0)
		if err != nil {
			return
		}
		check := func(st policy.State) {
			seen := map[int]bool{}
			for k, e := range append(append([]policy.Engagement(nil), st.Engaged...), st.Prewarmed...) {
				if e.Step < 0 || e.Step >= 2 || seen[e.Step] {
					t.Fatalf("engagement %d of step %d in %+v", k, e.Step, st)
				}
				seen[e.Step] = true
				a := cfg.Services[0].Playbook[e.Step]
				if !within(e.From, a) || !within(e.To, a) {
					t.Fatalf("engagement %+v out of %s's bounds", e, a.Name)
				}
				if e.At.After(t0.Add(time.Minute)) {
					t.Fatalf("engagement %+v in the future", e)
				}
			}
			for k, e := range st.Engaged {
				if e.Step != k {
					t.Fatalf("stack %+v not in playbook order", st.Engaged)
				}
			}
		}
		for name, st := range l.State {
			if name != "web" {
				t.Fatalf("restored unknown service %q", name)
			}
			check(st)
		}
		rec := actuators.NewRecorder(nil)
		if _, err := New(Options{Config: cfg, Source: &script{}, State: l.State,
			Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}}); err != nil {
			t.Fatalf("New refused the loaded state: %v", err)
		}
		var out bytes.Buffer
		if err := EncodeState(&out, cfg, l.State); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeState(out.Bytes(), cfg, t0)
		if err != nil || len(again.Rejected) > 0 {
			t.Fatalf("saved state does not load back: %v %v\n%s", err, again.Rejected, out.Bytes())
		}
		if g, w := fmt.Sprintf("%v", again.State), fmt.Sprintf("%v", l.State); g != w {
			t.Fatalf("saved and loaded back: %s, want %s", g, w)
		}
	})
}

func ptr[T any](v T) *T { return &v }
