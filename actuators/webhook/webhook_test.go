package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/testutil"
)

var testAction = actuators.Action{
	Service: "checkout",
	Action:  "replicas",
	Op:      actuators.Engage,
	From:    1,
	To:      3,
	Reason:  "Escalate",
	Risk:    0.75,
	At:      time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
}

// newTestWebhook returns a Webhook for cfg with fast backoff, a fixed jitter
// and a logger that writes every level to the returned buffer.
func newTestWebhook(t *testing.T, cfg config.Webhook) (*Webhook, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := New(cfg, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w.backoffBase = time.Millisecond
	w.backoffCap = 4 * time.Millisecond
	w.rand = func() float64 { return 0.5 }
	return w, logs
}

// received is one request a receiver saw.
type received struct {
	header http.Header
	body   []byte
}

// receiver answers request i with statuses[i] (the last one repeats) and
// records every request.
type receiver struct {
	statuses []int
	respond  func(http.ResponseWriter, *http.Request) // optional, writes the body

	mu   sync.Mutex
	reqs []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: body})
	rc.mu.Unlock()
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status = rc.statuses[min(n, len(rc.statuses)-1)]
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	if rc.respond != nil {
		rc.respond(w, r)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

func TestApplyStatuses(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		retries      int
		wantRequests int
		wantErr      bool
		wantRejected bool
	}{
		{name: "200", statuses: []int{200}, retries: 3, wantRequests: 1},
		{name: "204", statuses: []int{204}, retries: 3, wantRequests: 1},
		{name: "500 500 200 is retried", statuses: []int{500, 500, 200}, retries: 3, wantRequests: 3},
		{name: "503 until retries run out", statuses: []int{503}, retries: 2, wantRequests: 3, wantErr: true},
		{name: "500 with no retries", statuses: []int{500}, retries: 0, wantRequests: 1, wantErr: true},
		{name: "400 is permanent", statuses: []int{400, 200}, retries: 3, wantRequests: 1, wantErr: true, wantRejected: true},
		{name: "404 is permanent", statuses: []int{404, 200}, retries: 3, wantRequests: 1, wantErr: true, wantRejected: true},
		{name: "redirect is not followed", statuses: []int{307, 200}, retries: 3, wantRequests: 1, wantErr: true, wantRejected: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{statuses: tt.statuses}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			w, _ := newTestWebhook(t, config.Webhook{URL: srv.URL, Retries: tt.retries})

			err := w.Apply(t.Context(), testAction)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply: err %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrRejected); got != tt.wantRejected {
				t.Errorf("errors.Is(%v, ErrRejected) = %v, want %v", err, got, tt.wantRejected)
			}
			if tt.wantRejected && !strings.Contains(err.Error(), "permanent") {
				t.Errorf("error %q does not say permanent", err)
			}
			reqs := rc.requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("receiver saw %d requests, want %d", len(reqs), tt.wantRequests)
			}
			want := IdempotencyKey(testAction)
			for i, r := range reqs {
				if got := r.header.Get(IdempotencyHeader); got != want {
					t.Errorf("request %d: %s %q, want %q", i, IdempotencyHeader, got, want)
				}
				if !bytes.Equal(r.body, reqs[0].body) {
					t.Errorf("request %d: body %s differs from the first %s", i, r.body, reqs[0].body)
				}
			}
		})
	}
}

func TestApplyBody(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, _ := newTestWebhook(t, config.Webhook{URL: srv.URL})
	a := testAction
	a.At = time.Date(2026, 1, 5, 11, 0, 0, 0, time.FixedZone("CET", 3600)) // same instant as testAction.At
	if err := w.Apply(t.Context(), a); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}

	var fields map[string]any
	if err := json.Unmarshal(r.body, &fields); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	key := IdempotencyKey(testAction)
	want := map[string]any{
		"service":         "checkout",
		"action":          "replicas",
		"op":              "engage",
		"from":            1.0,
		"to":              3.0,
		"reason":          "Escalate",
		"risk":            0.75,
		"at":              "2026-01-05T11:00:00+01:00",
		"idempotency_key": key,
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("body %q = %v (%T), want %v", k, fields[k], fields[k], v)
		}
	}
	for k := range fields {
		if _, ok := want[k]; !ok {
			t.Errorf("body has unexpected field %q", k)
		}
	}
	if got := r.header.Get(IdempotencyHeader); got != key {
		t.Errorf("%s header %q, want the body's key %q", IdempotencyHeader, got, key)
	}

	// An Action JSON cannot carry is an error, and nothing is sent.
	bad := testAction
	bad.Risk = math.NaN()
	if err := w.Apply(t.Context(), bad); err == nil {
		t.Error("Apply of a NaN risk: no error")
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver saw %d requests, want still 1", n)
	}
}

// TestURLSecretsRedacted: a token in the URL's query and a password in its
// userinfo appear in no log line and no error, whether the receiver is
// down (net/http's error quotes the URL) or rejects the action.
func TestURLSecretsRedacted(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	rejects := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer rejects.Close()
	for name, base := range map[string]string{"down": down.URL, "rejects": rejects.URL} {
		t.Run(name, func(t *testing.T) {
			u := strings.Replace(base, "http://", "http://hookuser:PW-7f1c@", 1) + "/hook?service=a&token=TOKEN-9b2e"
			w, logs := newTestWebhook(t, config.Webhook{URL: u, Retries: 1})
			err := w.Apply(t.Context(), testAction)
			if err == nil {
				t.Fatal("Apply: no error")
			}
			for _, secret := range []string{"hookuser", "PW-7f1c", "TOKEN-9b2e"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("%q in the error or the log:\n%v\n%s", secret, err, logs)
				}
			}
			if !strings.Contains(logs.String(), "/hook?service=a&token=xxxxx") {
				t.Errorf("the log does not name the redacted URL:\n%s", logs)
			}
		})
	}
}

func TestApplyServerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connection refused

	w, logs := newTestWebhook(t, config.Webhook{URL: url, Retries: 2})
	err := w.Apply(t.Context(), testAction)
	if err == nil {
		t.Fatal("Apply to a closed port: no error")
	}
	if errors.Is(err, ErrRejected) {
		t.Errorf("connection error %v wraps ErrRejected", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %q does not say 3 attempts", err)
	}
	if n := strings.Count(logs.String(), `msg="webhook attempt"`); n != 3 {
		t.Errorf("logged %d attempts, want 3:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 3 {
		t.Errorf("logged %d warnings, want 3 (two retries, one giving up):\n%s", n, logs)
	}
}

// slowHandler answers only once the client has gone away or stop is closed.
func slowHandler(rc *receiver, stop <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the whole body lets the server notice the client hang up.
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
}

func TestApplyTimeout(t *testing.T) {
	tests := []struct {
		name         string
		timeout      time.Duration // per attempt
		ctxTimeout   time.Duration // the caller's
		retries      int
		wantRequests int
	}{
		{name: "attempt timeout, retried", timeout: 50 * time.Millisecond, ctxTimeout: time.Minute, retries: 1, wantRequests: 2},
		{name: "caller's deadline bounds a long attempt timeout", timeout: time.Minute, ctxTimeout: 100 * time.Millisecond, retries: 3, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{}
			stop := make(chan struct{})
			srv := httptest.NewServer(slowHandler(rc, stop))
			defer srv.Close()
			defer close(stop)
			w, _ := newTestWebhook(t, config.Webhook{URL: srv.URL, Timeout: model.Duration(tt.timeout), Retries: tt.retries})

			ctx, cancel := context.WithTimeout(t.Context(), tt.ctxTimeout)
			defer cancel()
			start := time.Now()
			err := w.Apply(ctx, testAction)
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Apply: err %v, want context.DeadlineExceeded", err)
			}
			if elapsed > 5*time.Second {
				t.Errorf("Apply took %v", elapsed)
			}
			if n := len(rc.requests()); n != tt.wantRequests {
				t.Errorf("receiver saw %d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestApplyCancelledDuringBackoff(t *testing.T) {
	rc := &receiver{statuses: []int{500}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, logs := newTestWebhook(t, config.Webhook{URL: srv.URL, Retries: 3})
	w.backoffBase, w.backoffCap = time.Hour, time.Hour // the wait would be 30m

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Apply(ctx, testAction) }()
	// Apply logs "retrying" just before it starts to wait.
	for !strings.Contains(logs.String(), "retrying") {
		select {
		case err := <-done:
			t.Fatalf("Apply returned %v before waiting to retry", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Apply: err %v, want context.Canceled", err)
		}
		if !strings.Contains(err.Error(), "500") {
			t.Errorf("error %q does not report the last attempt's status", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply did not return after its ctx was cancelled")
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver saw %d requests, want 1", n)
	}
}

func TestApplyTLS(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		tls     commoncfg.TLSConfig
		wantErr bool
	}{
		{name: "default refuses a self-signed certificate", wantErr: true},
		{name: "ca_file", tls: commoncfg.TLSConfig{CAFile: caFile}},
		{name: "insecure_skip_verify", tls: commoncfg.TLSConfig{InsecureSkipVerify: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rc.requests())
			w, logs := newTestWebhook(t, config.Webhook{URL: srv.URL, Retries: 2, TLSConfig: tt.tls})
			err := w.Apply(t.Context(), testAction)
			got := len(rc.requests()) - before
			if tt.wantErr {
				var verr *tls.CertificateVerificationError
				if !errors.As(err, &verr) {
					t.Fatalf("Apply: err %v, want a certificate verification error", err)
				}
				if !strings.Contains(err.Error(), "permanent") {
					t.Errorf("error %q does not say permanent", err)
				}
				if n := strings.Count(logs.String(), `msg="webhook attempt"`); n != 1 {
					t.Errorf("made %d attempts, want 1: an untrusted certificate is not retried", n)
				}
				if got != 0 {
					t.Errorf("receiver saw %d requests, want 0", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got != 1 {
				t.Errorf("receiver saw %d requests, want 1", got)
			}
		})
	}
}

func TestApplyAuth(t *testing.T) {
	const (
		secret  = "Bearer s3cr3t-first"
		rotated = "Bearer s3cr3t-rotated"
		envVar  = "PRESAGE_TEST_WEBHOOK_TOKEN"
	)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")

	tests := []struct {
		name   string
		cfg    config.Webhook
		header string // where the receiver looks
		set    func(t *testing.T, v string)
	}{
		{
			name:   "file, default header",
			cfg:    config.Webhook{AuthFile: tokenFile},
			header: "Authorization",
			set: func(t *testing.T, v string) {
				if err := os.WriteFile(tokenFile, []byte("  "+v+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "file, custom header",
			cfg:    config.Webhook{AuthFile: tokenFile, AuthHeader: "X-Api-Key"},
			header: "X-Api-Key",
			set: func(t *testing.T, v string) {
				if err := os.WriteFile(tokenFile, []byte(v+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "env",
			cfg:    config.Webhook{AuthEnv: envVar},
			header: "Authorization",
			set:    func(t *testing.T, v string) { t.Setenv(envVar, v) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The receiver answers 500, then 200, then 400 with the
			// credential echoed in the body.
			rc := &receiver{statuses: []int{500, 200, 400}, respond: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "you sent "+r.Header.Get(tt.header))
			}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cfg := tt.cfg
			cfg.URL = srv.URL
			cfg.Retries = 3
			w, logs := newTestWebhook(t, cfg)

			tt.set(t, secret)
			if err := w.Apply(t.Context(), testAction); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.set(t, rotated) // rotation: read on the next Apply
			err := w.Apply(t.Context(), testAction)
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("Apply: err %v, want ErrRejected", err)
			}

			var got []string
			for _, r := range rc.requests() {
				got = append(got, r.header.Get(tt.header))
			}
			want := []string{secret, secret, rotated}
			if !slices.Equal(got, want) {
				t.Errorf("receiver saw %s %q, want %q", tt.header, got, want)
			}
			for _, s := range []string{"s3cr3t", secret, rotated} {
				if strings.Contains(logs.String(), s) {
					t.Errorf("logs contain the credential %q:\n%s", s, logs)
				}
				if strings.Contains(err.Error(), s) {
					t.Errorf("error contains the credential %q: %v", s, err)
				}
			}
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("error %q does not show the echoed body redacted", err)
			}
		})
	}
}

func TestApplyAuthMissing(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad")
	if err := os.WriteFile(badFile, []byte("Bearer a\nb"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PRESAGE_TEST_WEBHOOK_EMPTY", "")

	tests := []struct {
		name string
		cfg  config.Webhook
		want string
	}{
		{name: "file missing", cfg: config.Webhook{AuthFile: filepath.Join(dir, "nope")}, want: "no such file"},
		{name: "file empty", cfg: config.Webhook{AuthFile: empty}, want: "empty"},
		{name: "file with a newline inside", cfg: config.Webhook{AuthFile: badFile}, want: "control character"},
		{name: "env unset", cfg: config.Webhook{AuthEnv: "PRESAGE_TEST_WEBHOOK_EMPTY"}, want: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cfg := tt.cfg
			cfg.URL = srv.URL
			cfg.Retries = 3
			w, _ := newTestWebhook(t, cfg)
			err := w.Apply(t.Context(), testAction)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply: err %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error %q contains the credential", err)
			}
			if n := len(rc.requests()); n != 0 {
				t.Errorf("receiver saw %d requests, want 0", n)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Webhook
		wantErr string // "" for success
	}{
		{name: "minimal", cfg: config.Webhook{URL: "http://127.0.0.1:1/hook"}},
		{name: "https with auth", cfg: config.Webhook{URL: "https://example.com/hook", AuthEnv: "X", AuthHeader: "X-Token"}},
		{name: "no url", cfg: config.Webhook{}, wantErr: "url: required"},
		{name: "relative url", cfg: config.Webhook{URL: "/hook"}, wantErr: "absolute http or https"},
		{name: "other scheme", cfg: config.Webhook{URL: "ftp://example.com"}, wantErr: "absolute http or https"},
		{name: "negative timeout", cfg: config.Webhook{URL: "http://h", Timeout: model.Duration(-time.Second)}, wantErr: "timeout"},
		{name: "negative retries", cfg: config.Webhook{URL: "http://h", Retries: -1}, wantErr: "retries"},
		{name: "file and env", cfg: config.Webhook{URL: "http://h", AuthFile: "f", AuthEnv: "E"}, wantErr: "at most one"},
		{name: "header without credential", cfg: config.Webhook{URL: "http://h", AuthHeader: "X-Token"}, wantErr: "without auth_file or auth_env"},
		{name: "bad header name", cfg: config.Webhook{URL: "http://h", AuthEnv: "E", AuthHeader: "X Token"}, wantErr: "not a valid header name"},
		{name: "missing ca_file", cfg: config.Webhook{URL: "https://h", TLSConfig: commoncfg.TLSConfig{CAFile: "/nonexistent/ca.pem"}}, wantErr: "tls_config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.cfg, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if w.timeout != DefaultTimeout {
					t.Errorf("timeout %v, want the default %v", w.timeout, DefaultTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: err %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "webhook: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	// The key is part of the wire protocol: it must not change.
	// It is the hex SHA-256 of
	// "18:presage.webhook.v18:checkout8:replicas6:engage1:320:2026-01-05T10:00:00Z".
	const golden = "3a9360e0d66c6852faabafca22582f212efd13f714db046b3bfc1fd9ff291897"
	if got := IdempotencyKey(testAction); got != golden {
		t.Errorf("IdempotencyKey(testAction) = %s, want %s", got, golden)
	}

	with := func(f func(*actuators.Action)) actuators.Action {
		a := testAction
		f(&a)
		return a
	}
	tests := []struct {
		name string
		a    actuators.Action
		same bool
	}{
		{name: "identical", a: testAction, same: true},
		{name: "other from", a: with(func(a *actuators.Action) { a.From = 2 }), same: true},
		{name: "other reason", a: with(func(a *actuators.Action) { a.Reason = "Reactive" }), same: true},
		{name: "other risk", a: with(func(a *actuators.Action) { a.Risk = 0.9 }), same: true},
		{name: "same instant, other zone", a: with(func(a *actuators.Action) { a.At = a.At.In(time.FixedZone("X", -5*3600)) }), same: true},
		{name: "other service", a: with(func(a *actuators.Action) { a.Service = "search" }), same: false},
		{name: "other action", a: with(func(a *actuators.Action) { a.Action = "queue" }), same: false},
		{name: "other op", a: with(func(a *actuators.Action) { a.Op = actuators.Revert }), same: false},
		{name: "other to", a: with(func(a *actuators.Action) { a.To = 4 }), same: false},
		{name: "other at", a: with(func(a *actuators.Action) { a.At = a.At.Add(time.Nanosecond) }), same: false},
		{name: "fields shifted across the boundary", a: with(func(a *actuators.Action) { a.Service, a.Action = "checkoutr", "eplicas" }), same: false},
	}
	want := IdempotencyKey(testAction)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IdempotencyKey(tt.a); (got == want) != tt.same {
				t.Errorf("key %s vs %s: same = %v, want %v", got, want, got == want, tt.same)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name string
		rand float64
		n    int
		want time.Duration
	}{
		{name: "no jitter draw", rand: 0, n: 1, want: 0},
		{name: "first retry", rand: 0.5, n: 1, want: 100 * time.Millisecond},
		{name: "doubles", rand: 0.5, n: 3, want: 400 * time.Millisecond},
		{name: "capped", rand: 0.5, n: 10, want: 5 * time.Second},
		{name: "capped far out", rand: 0.5, n: 1000, want: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Webhook{backoffBase: 200 * time.Millisecond, backoffCap: 10 * time.Second, rand: func() float64 { return tt.rand }}
			if got := w.backoff(tt.n); got != tt.want {
				t.Errorf("backoff(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}
