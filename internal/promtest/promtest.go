package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/internal/testutil"
)

// The queries a deployment over `presage sim serve` uses (rates over 5s:
// the tests scrape every second).
const (
	SimLatencyQuery   = `histogram_quantile(0.99, sum by (service, le) (rate(presage_sim_request_duration_seconds_bucket[5s])))`
	SimRequestsQuery  = `sum by (service) (rate(presage_sim_requests_total[5s]))`
	SimPoolInUseQuery = `sum by (service) (presage_sim_pool_in_use)`
	SimPoolLimitQuery = `sum by (service) (presage_sim_pool_limit)`
)

// StartTimeout bounds the wait for Prometheus to be ready, and for its
// first scrape of every target.
const StartTimeout = 30 * time.Second

// Binary returns the path of the prometheus binary ($PROMETHEUS_BIN, else
// `prometheus` on the PATH), skipping the test when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	return lookPath(t, "PROMETHEUS_BIN", "prometheus")
}

// Promtool returns the path of promtool ($PROMTOOL_BIN, else `promtool` on
// the PATH), skipping the test when there is none.
func Promtool(t testing.TB) string {
	t.Helper()
	return lookPath(t, "PROMTOOL_BIN", "promtool")
}

func lookPath(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s binary (set $%s or install Debian's prometheus package: apt-get install prometheus; scripts/test.sh does): %v", name, env, err)
	}
	return p
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Options configures Start.
type Options struct {
	// Targets are the host:port of the targets scraped at /metrics, in one
	// job "sim".
	Targets []string
	// ScrapeInterval is the scrape and evaluation interval. Default 1s.
	ScrapeInterval time.Duration
	// OpenMetrics, when set, is history imported into the storage with
	// `promtool tsdb create-blocks-from openmetrics` before Prometheus
	// starts (it must end with "# EOF").
	OpenMetrics []byte
	// Addr is the listen address; default a free loopback port.
	Addr string
	// WaitScrape makes Start wait until every target has been scraped
	// successfully. Default false.
	WaitScrape bool
}

// Server is a running (or stopped) Prometheus.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234".
	URL  string
	Addr string
	// API is a client of its HTTP API.
	API v1.API

	t       testing.TB
	bin     string
	dir     string
	cfgPath string
	opts    Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs testutil.SyncBuffer
}

// Start starts Prometheus and waits until it is ready (and, with
// Options.WaitScrape, has scraped every target). It is killed when the
// test ends; its log is printed if the test failed.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary(t)
	if o.ScrapeInterval <= 0 {
		o.ScrapeInterval = time.Second
	}
	if o.Addr == "" {
		o.Addr = FreeAddr(t)
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, opts: o, Addr: o.Addr, URL: "http://" + o.Addr}
	if err := os.MkdirAll(s.dataDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if len(o.OpenMetrics) > 0 {
		Backfill(t, o.OpenMetrics, s.dataDir())
	}
	s.cfgPath = filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(s.cfgPath, []byte(s.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.API = v1.NewAPI(client)
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("prometheus log (%s):\n%s", s.Addr, s.logs.String())
		}
	})
	s.Restart()
	return s
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *Server) config() string {
	var b strings.Builder
	iv := model.Duration(s.opts.ScrapeInterval)
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", iv, iv, iv)
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: sim\n    static_configs:\n      - targets: [")
	for i, tg := range s.opts.Targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", tg)
	}
	b.WriteString("]\n")
	return b.String()
}

// Restart starts the server again, on the same address and storage, after
// Kill (Start calls it first), and waits as Start does.
func (s *Server) Restart() {
	t := s.t
	t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		t.Fatal("promtest: Restart of a running server")
	}
	cmd := exec.Command(s.bin,
		"--config.file="+s.cfgPath,
		"--storage.tsdb.path="+s.dataDir(),
		"--storage.tsdb.retention.time=30d",
		"--web.listen-address="+s.Addr,
		// Debian's defaults point these at /etc/prometheus.
		"--web.console.templates="+s.dir,
		"--web.console.libraries="+s.dir,
		"--log.level=info",
	)
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		t.Fatalf("promtest: start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(StartTimeout)
	for !s.ready() {
		select {
		case <-done:
			t.Fatalf("promtest: prometheus exited before it was ready:\n%s", s.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: prometheus not ready within %v:\n%s", StartTimeout, s.logs.String())
		}
	}
	if s.opts.WaitScrape {
		s.WaitScraped()
	}
}

func (s *Server) ready() bool {
	resp, err := http.Get(s.URL + "/-/ready")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitScraped waits until every target has been scraped successfully.
func (s *Server) WaitScraped() {
	s.t.Helper()
	s.WaitFor(fmt.Sprintf("count(up{job=%q} == 1) >= %d", "sim", len(s.opts.Targets)), StartTimeout)
}

// WaitFor waits until the instant query expr returns a non-empty result,
// and returns it; it fails the test after timeout.
func (s *Server) WaitFor(expr string, timeout time.Duration) model.Vector {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, _, _, err := s.API.Query(ctx, expr, time.Now())
		cancel()
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) > 0 {
			return vec
		}
		last = err
		if time.Now().After(deadline) {
			s.t.Fatalf("promtest: %q returned nothing within %v (last error: %v)", expr, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it
// to exit. It does nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Backfill writes text (OpenMetrics ending with "# EOF") into TSDB blocks
// in dir with promtool, as an operator backfills history.
func Backfill(t testing.TB, text []byte, dir string) {
	t.Helper()
	tool := Promtool(t)
	in := filepath.Join(t.TempDir(), "history.om")
	if err := os.WriteFile(in, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", in, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}
