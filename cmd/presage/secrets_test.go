package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/promtest"
)

// The planted secrets: a user and a password in the Prometheus URL's
// userinfo, and a token in its query and in a webhook URL's.
const (
	secretUser      = "promuser7"
	secretPassword  = "PASSW0RD-f3a9"
	secretPromToken = "TOKEN-prom-81c2"
	secretHookToken = "TOKEN-hook-5d07"
)

var secrets = []string{secretUser, secretPassword, secretPromToken, secretHookToken}

// noSecret fails the test when out, the output of what, holds a planted
// secret.
func noSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range secrets {
		if i := strings.Index(out, s); i >= 0 {
			t.Errorf("%s holds the secret %q: …%s…", what, s, out[max(0, i-120):min(len(out), i+len(s)+40)])
		}
	}
}

// secretURLs returns a Prometheus URL with the secrets in its userinfo and
// query, and a webhook URL with one in its query, both on loopback ports
// where nothing listens: every request fails, and its error quotes the URL.
func secretURLs(t *testing.T) (prom, hook string) {
	return fmt.Sprintf("http://%s:%s@%s/prom?token=%s", secretUser, secretPassword, promtest.FreeAddr(t), secretPromToken),
		fmt.Sprintf("http://%s/hook?token=%s&service=x", promtest.FreeAddr(t), secretHookToken)
}

// secretSimConfig is hotConfig's simulated service, acting at once, with a
// webhook action at hook.
func secretSimConfig(t *testing.T, dir, hook string) string {
	return writeTestFile(t, dir, "sim.yaml", fmt.Sprintf(`global:
  listen: ""
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
        actuator: {kind: webhook, webhook: {url: %q, timeout: 1s, retries: 1}}
        warmup: 0s
        cooldown: 0s
    sim:
      load:
        peak: 3
        daily: 0
        bursts: 0
        flash_crowds: 0
        duration: 1d
`, hook))
}

// TestNoSecretInOutput plants a password and tokens in the Prometheus and
// webhook URLs and greps every output for them: the log of run and
// recommend (Prometheus down, a webhook that cannot be reached), /readyz
// (terse and verbose), /metrics, the live page /ui, check's errors,
// export's error, and the replay's JSON, report, decisions and table.
func TestNoSecretInOutput(t *testing.T) {
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	t.Parallel()
	dir := t.TempDir()
	promURL, hookURL := secretURLs(t)
	promCfg := promConfig(t, dir, "prom.yaml", promURL, time.Second, promService{name: "checkout", peak: 1, webhook: hookURL})
	simCfg := secretSimConfig(t, dir, hookURL)

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	failedRead := regexp.MustCompile(`msg="source read failed"`)

	t.Run("run and recommend against Prometheus down", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range []string{"run", "recommend"} {
			for _, verbose := range []bool{false, true} {
				args := []string{"-log-level", "debug", fmt.Sprintf("-web.verbose-ready=%t", verbose)}
				p, base := startLoop(t, cmd, promCfg, args...)
				p.waitFor(t, &p.stderr, failedRead, waitTimeout)
				what := fmt.Sprintf("%s -web.verbose-ready=%t", cmd, verbose)
				code, body := get(base + "/readyz")
				if code != http.StatusServiceUnavailable {
					t.Errorf("%s: /readyz %d %q, want 503", what, code, body)
				}
				if want := "not ready\n"; !verbose && body != want {
					t.Errorf("%s: /readyz says %q, want %q only", what, body, want)
				}
				if want := "not ready: the source has never been read: the last read could not connect\n"; verbose && body != want {
					t.Errorf("%s: /readyz says %q, want %q", what, body, want)
				}
				noSecret(t, what+": /readyz", body)
				_, body = get(base + "/metrics")
				noSecret(t, what+": /metrics", body)
				stop(t, p)
				noSecret(t, what+": the log", p.stderr.String())
				noSecret(t, what+": stdout", p.stdout.String())
			}
		}
	})

	t.Run("run with a webhook that cannot be reached", func(t *testing.T) {
		t.Parallel()
		p := startPresage(t, "run", "-config", simCfg, "-speed", "600", "-log-level", "debug")
		p.waitFor(t, &p.stderr, regexp.MustCompile(`msg="webhook attempt failed, giving up".*err=`), startTimeout)
		stop(t, p)
		noSecret(t, "run: the log", p.stderr.String())
		noSecret(t, "run: stdout", p.stdout.String())
	})

	t.Run("the live page of run with a webhook that cannot be reached", func(t *testing.T) {
		t.Parallel()
		p, base := startLoop(t, "run", simCfg, "-speed", "600")
		get(base + "/ui/service/checkout") // the page is open from now on
		p.waitFor(t, &p.stderr, regexp.MustCompile(`msg="webhook attempt failed, giving up"`), startTimeout)
		time.Sleep(time.Second)
		shown := false
		for _, path := range []string{"/ui", "/ui/service/checkout"} {
			code, body := get(base + path)
			if code != http.StatusOK {
				t.Errorf("GET %s: %d", path, code)
			}
			noSecret(t, "run: "+path, body)
			shown = shown || strings.Contains(body, "failed: ")
		}
		if !shown {
			t.Error("the live page shows no failed action: the redaction of its error is not tested")
		}
		stop(t, p)
	})

	t.Run("check", func(t *testing.T) {
		t.Parallel()
		// Each URL is wrong and next to another error; a duration holds a
		// URL (a scalar error, reported alone, before the others).
		bad := writeTestFile(t, dir, "bad.yaml", fmt.Sprintf(`source:
  kind: prometheus
  prometheus:
    url: %q
services:
  - name: checkout
    signals:
      latency: {query: up}
    incident: {above: 0.5}
    playbook:
      - name: async-queue
        actuator: {kind: webhook, webhook: {url: %q}}
        min: 2
        max: 1
`, strings.Replace(promURL, "http://", "ftp://", 1), strings.Replace(hookURL, "/hook", ":port/hook", 1)))
		r := cli(t, "check", "-config", bad)
		for _, want := range []string{"source.prometheus.url: invalid URL", "webhook.url: invalid URL", "playbook[0].max"} {
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("check did not report %q:\n%v", want, r)
			}
		}
		noSecret(t, "check", r.stdout+r.stderr)
		scalar := writeTestFile(t, dir, "scalar.yaml", fmt.Sprintf("source:\n  kind: prometheus\n  prometheus:\n    url: %q\n    timeout: %q\n", promURL, hookURL))
		r = cli(t, "check", "-config", scalar)
		if r.code != 1 || !strings.Contains(r.stderr, "source.prometheus.timeout: invalid duration") {
			t.Errorf("check did not report the URL in a duration:\n%v", r)
		}
		noSecret(t, "check", r.stdout+r.stderr)
	})

	t.Run("export", func(t *testing.T) {
		t.Parallel()
		r := cli(t, "export", "-config", promCfg, "-from", "-1h", "-out", filepath.Join(t.TempDir(), "out.csv"), "-log-level", "debug")
		if r.code != 1 || !strings.Contains(r.stderr, "connection") {
			t.Errorf("export did not fail on the unreachable Prometheus:\n%v", r)
		}
		noSecret(t, "export", r.stdout+r.stderr)
	})

	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		js, rep, dec := filepath.Join(out, "r.json"), filepath.Join(out, "r.html"), filepath.Join(out, "r.dec")
		r := cli(t, "replay", "-config", simCfg, "-json", js, "-report", rep, "-decisions", dec)
		if r.code != 0 {
			t.Fatalf("replay: %v", r)
		}
		noSecret(t, "replay's table and log", r.stdout+r.stderr)
		for _, f := range []string{js, rep, dec} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			noSecret(t, "replay's "+filepath.Base(f), string(b))
		}
	})
}
