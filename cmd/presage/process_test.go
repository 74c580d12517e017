package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/internal/testutil"
)

// Bounds on the waits of the process tests.
const (
	startTimeout = 20 * time.Second // until "presage started"
	waitTimeout  = 10 * time.Second // for output, a metric, the exit after a signal
)

// proc is a presage process started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.SyncBuffer
	done           chan struct{} // closed when the process has exited
	err            error         // cmd.Wait's; read after done
}

// startPresage starts the presage binary with args in a temporary working
// directory and kills it when the test ends, if it still runs.
func startPresage(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(presageBin(t), args...), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("presage %s\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// waitFor waits until re matches buf's content and returns the submatches;
// it fails the test if the process exits or the timeout passes first.
func (p *proc) waitFor(t *testing.T, buf *testutil.SyncBuffer, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		select {
		case <-p.done:
			if m := re.FindStringSubmatch(buf.String()); m != nil {
				return m
			}
			t.Fatalf("presage exited (%v) before its output matched %s", p.err, re)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no match for %s within %v", re, timeout)
		}
	}
}

var startedLine = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="presage started" `)

// signal sends sig and waits for the process to exit; it fails unless the
// exit is a clean one (status 0) within waitTimeout.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		t.Fatalf("still running %v after %v", waitTimeout, sig)
	}
	if p.err != nil {
		t.Fatalf("after %v: %v, want exit status 0", sig, p.err)
	}
	stderr := p.stderr.String()
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="presage stopped"$`).MatchString(stderr) {
		t.Errorf("after %v: no \"presage stopped\" in the log", sig)
	}
	if i, j := strings.Index(stderr, "presage started"), strings.LastIndex(stderr, "presage stopped"); i < 0 || j < i {
		t.Errorf("after %v: \"presage stopped\" is not logged after \"presage started\"", sig)
	}
	for _, bad := range []string{"level=ERROR", "step failed", "panic:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("the log holds %q", bad)
		}
	}
}

// jsonLine is the part of a recommend -json line the tests read.
type jsonLine struct {
	Time                        time.Time
	Service, Action, Op, Reason string
	From, To, Risk              float64
}

// checkJSONLines checks that every line of stdout is a recommendation as
// JSON with the keys service, action, op and reason, and returns them.
func checkJSONLines(t *testing.T, stdout string) []jsonLine {
	t.Helper()
	var out []jsonLine
	for l := range strings.Lines(stdout) {
		var keys map[string]any
		if err := json.Unmarshal([]byte(l), &keys); err != nil {
			t.Errorf("stdout line %q: %v", l, err)
			continue
		}
		for _, k := range []string{"service", "action", "op", "reason"} {
			if s, ok := keys[k].(string); !ok || s == "" {
				t.Errorf("stdout line %q: %q is %v, want a string", l, k, keys[k])
			}
		}
		var r jsonLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Errorf("stdout line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

func TestStopOnSignal(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	dir := t.TempDir()
	example := writeTestFile(t, dir, "example.yaml", exampleConfig(t, 2, ""))
	hot := writeTestFile(t, dir, "hot.yaml", hotConfig(""))
	firstJSON := regexp.MustCompile(`(?m)^\{.*\}\n`)
	firstRow := regexp.MustCompile(`(?m)^TIME +SERVICE +ACTION +OP +FROM +TO +REASON +RISK\b.*\n\S+ +checkout +async-queue +engage +.*\n`)
	for _, tt := range []struct {
		name string
		args []string
		sig  syscall.Signal
		// output to wait for before the signal: nil waits for nothing
		// beyond the start
		await *regexp.Regexp
		json  bool // stdout is JSON lines
	}{
		{name: "run SIGTERM", args: []string{"run", "-config", example, "-speed", "600", "-listen", "127.0.0.1:0"}, sig: syscall.SIGTERM},
		{name: "run SIGINT", args: []string{"run", "-config", hot, "-speed", "600", "-policy", "reactive"}, sig: syscall.SIGINT},
		{name: "recommend -json SIGINT", args: []string{"recommend", "-config", hot, "-speed", "600", "-json"}, sig: syscall.SIGINT, await: firstJSON, json: true},
		{name: "recommend -json example SIGINT", args: []string{"recommend", "-config", example, "-speed", "600", "-json"}, sig: syscall.SIGINT, json: true},
		{name: "recommend table SIGTERM", args: []string{"recommend", "-config", hot, "-speed", "600"}, sig: syscall.SIGTERM, await: firstRow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPresage(t, tt.args...)
			p.waitFor(t, &p.stderr, startedLine, startTimeout)
			if tt.await != nil {
				p.waitFor(t, &p.stdout, tt.await, waitTimeout)
			} else {
				time.Sleep(300 * time.Millisecond) // a few steps at speed 600
			}
			p.signal(t, tt.sig)

			stdout := p.stdout.String()
			switch {
			case tt.args[0] == "run" && stdout != "":
				t.Errorf("run printed on stdout: %q", stdout)
			case tt.json:
				lines := checkJSONLines(t, stdout)
				if tt.await != nil && len(lines) == 0 {
					t.Fatal("no recommendation")
				}
				for _, l := range lines {
					if l.Op != "engage" && l.Op != "revert" {
						t.Errorf("op %q, want engage or revert", l.Op)
					}
				}
				if tt.await != nil {
					// The hot service breaches at once: the cheapest action
					// comes first, from its baseline to its maximum.
					if got, want := lines[0], (jsonLine{Service: "checkout", Action: "async-queue", Op: "engage", From: 0, To: 1}); got.Service != want.Service ||
						got.Action != want.Action || got.Op != want.Op || got.From != want.From || got.To != want.To {
						t.Errorf("first recommendation %+v, want %+v", got, want)
					}
				}
			}
			if tt.args[0] == "recommend" && !strings.Contains(p.stderr.String(), "dry_run=true") {
				t.Error(`recommend's start line does not say dry_run=true`)
			}
		})
	}
}

func TestRunServesMetrics(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	cfg := writeTestFile(t, t.TempDir(), "example.yaml", exampleConfig(t, 2, ""))
	p := startPresage(t, "run", "-config", cfg, "-speed", "600", "-listen", "127.0.0.1:0")
	m := p.waitFor(t, &p.stderr, regexp.MustCompile(`msg="serving /metrics, /healthz and /readyz" addr=(127\.0\.0\.1:\d+)`), startTimeout)
	base := "http://" + m[1]
	p.waitFor(t, &p.stderr, startedLine, startTimeout)

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	// poll GETs path until ok holds of the answer, within waitTimeout.
	poll := func(path string, ok func(code int, body string) bool) (int, string) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			code, body, err := get(path)
			if err == nil && ok(code, body) {
				return code, body
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %d, %v after %v:\n%s", path, code, err, waitTimeout, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	for _, tt := range []struct {
		name string
		path string
		code int
		want []string // in the body
	}{
		{name: "healthz", path: "/healthz", code: 200, want: []string{"ok"}},
		{name: "readyz", path: "/readyz", code: 200, want: []string{"ready"}},
		{name: "metrics", path: "/metrics", code: 200, want: []string{
			"# TYPE presage_breach_risk gauge",
			`presage_breach_risk{service="checkout"} `,
			`presage_breach_risk{service="search"} `,
			`presage_signal_value{service="checkout",signal="latency"} `,
			"go_goroutines ",
		}},
		{name: "not found", path: "/nope", code: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := poll(tt.path, func(code int, body string) bool {
				if code != tt.code {
					return false
				}
				for _, w := range tt.want {
					if !strings.Contains(body, w) {
						return false
					}
				}
				return true
			})
			if code != tt.code {
				t.Errorf("GET %s = %d, want %d", tt.path, code, tt.code)
			}
			_ = body
		})
	}

	p.signal(t, syscall.SIGTERM)
	if _, _, err := get("/healthz"); err == nil {
		t.Error("the server still answers after presage stopped")
	}
}

// TestStateFile checks that run persists what it engaged in the state file
// and that recommend, a dry run, writes none.
func TestStateFile(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	for _, tt := range []struct {
		name    string
		command string
		written bool
	}{
		{"run writes it", "run", true},
		{"recommend does not", "recommend", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			state := filepath.Join(dir, "state.json")
			cfg := writeTestFile(t, dir, "hot.yaml", hotConfig(state))
			p := startPresage(t, tt.command, "-config", cfg, "-speed", "600")
			p.waitFor(t, &p.stderr, startedLine, startTimeout)
			// The hot service engages its whole playbook within a few steps.
			p.waitFor(t, &p.stderr, regexp.MustCompile(`action=read-replicas op=engage`), waitTimeout)
			p.signal(t, syscall.SIGTERM)

			c, err := config.LoadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			l, err := controller.LoadState(state, c, time.Now(), nil)
			if err != nil {
				t.Fatal(err)
			}
			st := l.State
			if !tt.written {
				if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s wrote the state file: %v", tt.command, err)
				}
				return
			}
			if got := st["checkout"].Level(); got != 2 {
				t.Errorf("state file: checkout has %d actions engaged, want 2\n%+v", got, st)
			}
		})
	}
}
