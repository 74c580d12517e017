package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// problem is one line check must print for a bad file: its line, YAML path
// and a part of its message. A zero line or an empty path means the problem
// has none (the file is not YAML, or has no document).
type problem struct {
	line int
	path string
	msg  string
}

// badFiles maps testdata/*.bad.yaml files to problems check must report
// among others, in this order (config/config_test.go checks the complete
// lists against config.LoadFile).
var badFiles = map[string][]problem{
	"empty.bad.yaml":     {{0, "", "empty configuration"}},
	"malformed.bad.yaml": {{4, "", "did not find expected ',' or ']'"}},
	"multi_doc.bad.yaml": {{7, "", "more than one YAML document"}},
	"wrong_type.bad.yaml": {
		{8, "services[0].incident.above", "cannot unmarshal !!seq into float64"},
		{9, "services[0].incident.consecutive", "cannot unmarshal !!str `three` into int"},
		{11, "services[0].forecast.paths", "1.5 is not an integer"},
	},
	"unknown_field.bad.yaml": {
		{2, "global.intervall", `unknown field "intervall"`},
		{11, "services[0].playbook[0].warm_up", `unknown field "warm_up"`},
	},
	"duplicate_key.bad.yaml":       {{7, "services[0].name", `"name" already defined at line 2`}},
	"bad_cron.bad.yaml":            {{8, "services[0].forecast.refit", `invalid cron expression "61 * * * *"`}},
	"negative_duration.bad.yaml":   {{12, "services[0].playbook[0].cooldown", `invalid duration "-5m"`}},
	"clear_above_trigger.bad.yaml": {{9, "services[0].forecast.clear", "0.7 must be <= trigger (0.5)"}},
	"unknown_actuator.bad.yaml":    {{10, "services[0].playbook[0].actuator.kind", `unknown actuator "k8s"`}},
	"kube_actuator.bad.yaml": {
		{2, "kubernetes.leader_election.lease_duration", "must be > renew_deadline"},
		{17, "services[0].playbook[0].actuator.kube.namespace", `invalid namespace "Shop"`},
		{23, "services[0].playbook[0].max", "must be a whole number"},
		{31, "services[0].playbook[1].actuator.kube.key", "only for target flag"},
		{27, "services[0].playbook[1].actuator.kube.selector", "required for target cpu_limits"},
		{30, "services[0].playbook[1].actuator.kube.floor", "invalid CPU quantity"},
		{36, "services[0].playbook[2].actuator.kube.target", `unknown target "feature"`},
	},
	"duplicate_names.bad.yaml": {
		{10, "services[0].playbook[1].name", `duplicate action name "async-queue"`},
		{12, "services[1].name", `duplicate service name "checkout"`},
	},
	"missing_latency.bad.yaml": {{3, "services[0].signals.latency", "required"}},
	"max_below_min.bad.yaml":   {{11, "services[0].playbook[0].max", "1 must be >= min (2)"}},
	"no_services.bad.yaml":     {{1, "services", "at least one service is required"}},
	"sim_signals.bad.yaml": {
		{4, "services[0].signals.latency.query", "only for source kind prometheus"},
		{5, "services[0].signals.pool_in_use.sim", `unknown simulator signal "pool_used"`},
		{10, "services[0].playbook[0].actuator.knob", "required for actuator kind sim"},
		{12, "services[0].playbook[0].actuator.webhook", "only for actuator kind webhook"},
		{14, "services[0].playbook[1].actuator.knob", `unknown knob "cpu"`},
	},
	"prometheus.bad.yaml": {
		{4, "source.prometheus.url", `invalid URL "ftp://prometheus"`},
		{3, "source.prometheus", "at most one of basic_auth, oauth2 & authorization"},
	},
	"schedules.bad.yaml": {
		{11, "schedules[0].cron", `invalid cron expression "30 25 * * *"`},
		{22, "schedules[2].services[1]", `unknown service "search"`},
		{25, "schedules[2].actions.async-queue", `service "checkout" has no playbook action "async-queue"`},
		{29, "schedules[3].timezone", `unknown time zone "Mars/Olympus"`},
		{25, "schedules[2].actions.read-replicas", `overlaps prewarm "sale" (schedules[1]`},
		{33, "schedules[4].at", `would block prewarm "sale"`},
	},
	"many.bad.yaml": {
		{4, "global.history", "1m must be >= 2 × global.interval (2m)"},
		{5, "global.listen", `invalid address "9797"`},
		{6, "source.prometheus.url", "required for source kind prometheus"},
		{11, "services[0].signals.latency.sim", "only for source kind sim"},
		{12, "services[0].signals.requests.sim", "only for source kind sim"},
		{14, "services[0].incident.above", "0 must be > 0"},
		{17, "services[0].forecast.model", `unknown model "arima"`},
		{18, "services[0].forecast.horizon", "30s must be >= global.interval (1m)"},
		{19, "services[0].forecast.period", "1m30s must be a multiple of global.interval (1m)"},
		{20, "services[0].forecast.trigger", "1.5 must be within (0, 1]"},
		{23, "services[0].playbook[0].name", "required"},
		{25, "services[0].playbook[0].actuator.knob", "only for actuator kind sim"},
		{27, "services[0].playbook[0].actuator.webhook.url", `invalid URL "/relative"`},
		{29, "services[0].playbook[0].actuator.webhook.auth_env", "only one of auth_file and auth_env"},
		{30, "services[0].playbook[0].baseline", "2 must be within [min, max] ([0, 1])"},
		{35, "services[0].playbook[1].engaged", "0.5 equals baseline"},
		{34, "services[0].playbook[1].max", "2 must be <= 1 for knob cpu_limit"},
		{38, "services[0].sim.plant.app_capacity", "-1 must be > 0"},
		{39, "services[0].sim.plant.neighbour_cpu", "1 must be within [0, 1)"},
		{40, "services[0].sim.plant.read_fraction", "1.5 must be within [0, 1]"},
		{42, "services[0].sim.load.start", `invalid RFC 3339 time "yesterday"`},
		{43, "services[0].sim.load.daily", "2 must be within [0, 1]"},
		{44, "services[0].sim.load.flash_crowds", "-1 must be >= 0"},
		{45, "services[1].name", "required"},
		{51, "services[1].forecast.signal", `"requests" needs signals.requests`},
	},
}

func TestCheckGood(t *testing.T) {
	good, err := filepath.Glob("../../testdata/*.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append([]string{examplePath}, good...) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := cli(t, "check", "-config", file)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\n%v", r.code, r)
			}
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `: ok \(\d+ services, source \w+\)\n$`).MatchString(r.stdout) {
				t.Errorf("stdout does not say %q\n%v", file+": ok", r)
			}
			if r.stderr != "" {
				t.Errorf("stderr not empty\n%v", r)
			}
		})
	}
}

// TestCheckBad runs check on every testdata/*.bad.yaml: each fails with
// exit 1, one problem a line starting with the file name, then their count;
// the files badFiles lists report at least its problems, at their lines and
// YAML paths; the others have a line and a YAML path on every problem.
func TestCheckBad(t *testing.T) {
	files, err := filepath.Glob("../../testdata/*.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no ../../testdata/*.bad.yaml")
	}
	for name := range badFiles {
		if !slices.Contains(files, filepath.Join("../../testdata", name)) {
			t.Errorf("badFiles lists %s, which is not in ../../testdata", name)
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := cli(t, "check", "-config", file)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%v", r.code, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty\n%v", r)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) < 2 {
				t.Fatalf("want at least one problem and a count\n%v", r)
			}
			problems, count := lines[:len(lines)-1], lines[len(lines)-1]
			if want := fmt.Sprintf("%d problem(s)", len(problems)); count != want {
				t.Errorf("last line %q, want %q\n%v", count, want, r)
			}
			for _, l := range problems {
				if !strings.HasPrefix(l, file+":") {
					t.Errorf("problem %q does not start with the file name %s", l, file)
				}
			}

			want, known := badFiles[filepath.Base(file)]
			if !known {
				// A new bad file: every problem must at least have a line
				// and a YAML path.
				line := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:\d+: [\w.\[\]]+: \S`)
				for _, l := range problems {
					if !line.MatchString(l) {
						t.Errorf("problem %q has no line and YAML path", l)
					}
				}
				return
			}
			// Each expected problem is printed, in order; the config
			// package's tests hold the complete lists.
			next := 0
			for _, w := range want {
				prefix := file
				if w.line > 0 {
					prefix += fmt.Sprintf(":%d", w.line)
				}
				prefix += ": "
				if w.path != "" {
					prefix += w.path + ": "
				}
				found := false
				for next < len(problems) && !found {
					got := problems[next]
					found = strings.HasPrefix(got, prefix) && strings.Contains(got[len(prefix):], w.msg)
					next++
				}
				if !found {
					t.Errorf("no problem %s…%s… (in order)\n%v", prefix, w.msg, r)
					break
				}
			}
			// The brief's shape, on every file whose problems have lines.
			if want[0].line > 0 && !regexp.MustCompile(`\.bad\.yaml:\d+: `).MatchString(r.stderr) {
				t.Errorf("stderr has no file:line\n%v", r)
			}
		})
	}
}

func TestCheckMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	r := cli(t, "check", "-config", missing)
	if r.code != 1 {
		t.Errorf("exit %d, want 1\n%v", r.code, r)
	}
	if !strings.Contains(r.stderr, "open "+missing+": no such file or directory") {
		t.Errorf("stderr does not say the file is missing\n%v", r)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty\n%v", r)
	}
}

// TestCheckNotesWhatRunRefuses checks that a configuration the other
// commands take but `presage run` refuses (an action of kind sim with a
// Prometheus source) passes check with a note that names its file, line
// and YAML path, and that run refuses it with the same words.
func TestCheckNotesWhatRunRefuses(t *testing.T) {
	file := writeTestFile(t, t.TempDir(), "sim-action.yaml", `global: {interval: 1m}
source:
  kind: prometheus
  prometheus: {url: "http://127.0.0.1:1"}
services:
  - name: checkout
    signals:
      latency: {query: "x"}
    incident: {above: 0.5}
    playbook:
      - name: replicas
        actuator: {kind: sim, knob: replicas}
        max: 3
`)
	note := file + ":12: services[0].playbook[0].actuator.kind: presage run cannot apply sim: it needs source kind sim"
	r := cli(t, "check", "-config", file)
	if r.code != 0 || !strings.Contains(r.stdout, "note: "+note) {
		t.Errorf("check: exit %d, want 0 and the note %q\n%v", r.code, note, r)
	}
	r = cli(t, "run", "-config", file)
	if r.code == 0 || !strings.Contains(r.stderr, note) {
		t.Errorf("run: exit %d, want it to refuse with %q\n%v", r.code, note, r)
	}
}
