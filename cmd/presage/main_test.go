package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// examplePath is the example configuration, loaded by the tests so that
// they never go stale.
const examplePath = "../../config.example.yaml"

// binDir holds the presage binary the process tests build when PRESAGE_BIN
// is not set; it is made by TestMain and removed after the run.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "presage-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// presageBin returns the path of a presage binary: $PRESAGE_BIN (as
// scripts/test.sh builds it), else one built once per test run into a
// temporary directory.
func presageBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PRESAGE_BIN"); p != "" {
		return p
	}
	if testing.Short() {
		t.Skip("-short: not building the presage binary (set PRESAGE_BIN to use one)")
	}
	buildOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no PRESAGE_BIN and no go command to build one: %w", err)
			return
		}
		out := filepath.Join(binDir, "presage")
		cmd := exec.Command(gobin, "build", "-o", out, ".")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		builtBin = out
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// result is what one in-process run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs presage in-process with args.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// writeTestFile writes content to name in dir and returns its path.
func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleConfig returns config.example.yaml with every service's generated
// load cut to days days and global.listen set to listen. It edits the YAML
// tree rather than the text, so that it keeps working as the example's
// comments and values change.
func exampleConfig(t *testing.T, days int, listen string) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", examplePath, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: not one YAML mapping", examplePath)
	}
	root := doc.Content[0]
	set(t, mapping(t, root, "global"), "listen", listen)
	services := lookup(root, "services")
	if services == nil || services.Kind != yaml.SequenceNode || len(services.Content) == 0 {
		t.Fatalf("%s: no services", examplePath)
	}
	for _, s := range services.Content {
		set(t, mapping(t, mapping(t, s, "sim"), "load"), "duration", fmt.Sprintf("%dd", days))
	}
	var out strings.Builder
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// lookup returns the value of key in the mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapping returns the mapping under key in m, adding an empty one if key is
// missing.
func mapping(t *testing.T, m *yaml.Node, key string) *yaml.Node {
	t.Helper()
	if v := lookup(m, key); v != nil {
		if v.Kind != yaml.MappingNode {
			t.Fatalf("%s: %s is not a mapping", examplePath, key)
		}
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// set sets key in the mapping m to the string value.
func set(t *testing.T, m *yaml.Node, key, value string) {
	t.Helper()
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// hotConfig is one service whose load is three times what it can serve from
// the first step, so that the controller acts at once, with global.state_file
// set to stateFile and no server.
func hotConfig(stateFile string) string {
	return fmt.Sprintf(`global:
  listen: ""
  state_file: %q
services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
      requests: {sim: requests}
    incident:
      above: 0.5
      consecutive: 1
    playbook:
      - name: async-queue
        actuator: {kind: sim, knob: queue}
      - name: read-replicas
        actuator: {kind: sim, knob: replicas}
        max: 3
    sim:
      load:
        peak: 3
        daily: 0
        bursts: 0
        flash_crowds: 0
        duration: 1d
`, stateFile)
}

func TestUsage(t *testing.T) {
	commandLine := regexp.MustCompile(`(?m)^  (run|recommend|replay|sim|export|forecast|check|rbac|version) +\S`)
	for _, tt := range []struct {
		name       string
		args       []string
		code       int
		stdout     bool   // usage on stdout (else stderr)
		wantStderr string // also in stderr
	}{
		{name: "no arguments", args: nil, code: 2},
		{name: "help", args: []string{"help"}, code: 0, stdout: true},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: true},
		{name: "-help", args: []string{"-help"}, code: 0, stdout: true},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: true},
		{name: "unknown command", args: []string{"frobnicate", "-config", "x"}, code: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "flag before the command", args: []string{"-config", "x", "check"}, code: 2, wantStderr: `unknown command "-config"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%v", r.code, tt.code, r)
			}
			usage, other := r.stderr, r.stdout
			if tt.stdout {
				usage, other = r.stdout, r.stderr
			}
			if !strings.Contains(usage, "Usage:\n  presage <command> [flags]") {
				t.Errorf("no usage text where expected\n%v", r)
			}
			if got := len(commandLine.FindAllString(usage, -1)); got != len(commands) {
				t.Errorf("usage lists %d commands, want %d\n%v", got, len(commands), r)
			}
			if other != "" && tt.wantStderr == "" {
				t.Errorf("unexpected output on the other stream\n%v", r)
			}
			if tt.wantStderr != "" && !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr does not say %q\n%v", tt.wantStderr, r)
			}
		})
	}
}

func TestCommandHelp(t *testing.T) {
	// The flags each command's usage must document, as "  -flag".
	flags := map[string][]string{
		"run":       {"-config", "-log-level", "-speed", "-listen", "-policy"},
		"recommend": {"-config", "-log-level", "-speed", "-listen", "-json"},
		"replay":    {"-config", "-trace", "-policies", "-json", "-decisions", "-report"},
		"check":     {"-config"},
		"rbac":      {"-config", "-namespace", "-service-account", "-name", "-read-only"},
		"version":   nil,
	}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	for name := range flags {
		if !slices.Contains(names, name) {
			t.Errorf("no command %q", name)
		}
	}
	// Every command answers -help, including any added since this test.
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			for _, help := range []string{"-help", "-h", "--help"} {
				r := cli(t, name, help)
				if r.code != 0 {
					t.Errorf("%s: exit %d, want 0\n%v", help, r.code, r)
				}
				// The flag package writes -help's text to the FlagSet's
				// output; accept it on either stream.
				text := r.stdout + r.stderr
				if !strings.Contains(text, "Usage: presage "+name) {
					t.Errorf("%s: no usage line for %s\n%v", help, name, r)
				}
				for _, f := range flags[name] {
					if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `\b`).MatchString(text) {
						t.Errorf("%s: usage does not document %s\n%v", help, f, r)
					}
				}
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"run unknown flag", []string{"run", "-bogus"}, "flag provided but not defined: -bogus"},
		{"recommend unknown flag", []string{"recommend", "-bogus"}, "flag provided but not defined: -bogus"},
		{"replay unknown flag", []string{"replay", "-bogus"}, "flag provided but not defined: -bogus"},
		{"check unknown flag", []string{"check", "-bogus"}, "flag provided but not defined: -bogus"},
		{"version unknown flag", []string{"version", "-bogus"}, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"run", "-speed", "fast"}, `invalid value "fast" for flag -speed`},
		{"missing flag value", []string{"check", "-config"}, "flag needs an argument: -config"},
		{"stray argument", []string{"check", "-config", examplePath, "extra"}, `unexpected argument "extra"`},
		{"version argument", []string{"version", "extra"}, `unexpected argument "extra"`},
		{"run without -config", []string{"run"}, "-config is required"},
		{"recommend without -config", []string{"recommend"}, "-config is required"},
		{"replay without -config", []string{"replay"}, "-config is required"},
		{"check without -config", []string{"check"}, "-config is required"},
		{"rbac without -config", []string{"rbac"}, "-config is required"},
		{"rbac unknown flag", []string{"rbac", "-bogus"}, "flag provided but not defined: -bogus"},
		{"replay unknown policy", []string{"replay", "-config", examplePath, "-policies", "none,bogus"}, `-policies: policy: unknown mode "bogus"`},
		{"run unknown policy", []string{"run", "-config", examplePath, "-policy", "bogus"}, `-policy: policy: unknown mode "bogus"`},
		{"run clairvoyant", []string{"run", "-config", examplePath, "-policy", "clairvoyant"}, `-policy: clairvoyant needs the load ahead, which only presage replay has`},
		{"run oracle", []string{"run", "-config", examplePath, "-policy", "oracle"}, `-policy: oracle needs the load ahead, which only presage replay has`},
		{"replay empty policy list", []string{"replay", "-config", examplePath, "-policies", ""}, `-policies: policy: unknown mode ""`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\n%v", r.code, r)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q\n%v", tt.want, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty\n%v", r)
			}
		})
	}
}

// TestLoopErrors checks the run and recommend errors found before the loop
// starts: they end at once with exit 1 and say what is wrong.
func TestLoopErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeTestFile(t, dir, "hot.yaml", hotConfig(""))
	corrupt := writeTestFile(t, dir, "state.json", "{not json")
	withState := writeTestFile(t, dir, "state.yaml", hotConfig(corrupt))
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"zero speed", []string{"run", "-config", cfg, "-speed", "0"}, "-speed must be > 0, got 0"},
		{"negative speed", []string{"recommend", "-config", cfg, "-speed", "-2"}, "-speed must be > 0, got -2"},
		{"speed with a real source", []string{"run", "-config", "../../testdata/prometheus.good.yaml", "-speed", "600"}, "-speed needs source kind sim"},
		{"bad log level", []string{"run", "-config", cfg, "-log-level", "loud"}, "-log-level"},
		{"invalid config", []string{"run", "-config", "../../testdata/max_below_min.bad.yaml"}, "max_below_min.bad.yaml:11: services[0].playbook[0].max: "},
		{"missing config", []string{"recommend", "-config", filepath.Join(dir, "missing.yaml")}, "missing.yaml: no such file or directory"},
		{"corrupt state file", []string{"run", "-config", withState}, "state file " + corrupt + ": "},
		{"bad listen address", []string{"run", "-config", cfg, "-listen", "256.0.0.1:1"}, "listen: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%v", r.code, r)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q\n%v", tt.want, r)
			}
			if strings.Contains(r.stderr, "presage started") {
				t.Errorf("the loop started\n%v", r)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := cli(t, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and no stderr\n%v", r)
	}
	if want := "presage " + version + "\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if !strings.HasPrefix(r.stdout, "presage ") {
		t.Errorf("stdout = %q, want it to start with %q", r.stdout, "presage ")
	}
}
