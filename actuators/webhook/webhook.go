package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// Defaults used by New.
const (
	// DefaultTimeout bounds one attempt when the configured timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultAuthHeader carries the credential when no header is configured.
	DefaultAuthHeader = "Authorization"
	// IdempotencyHeader carries the Action's idempotency key.
	IdempotencyHeader = "Idempotency-Key"
)

// Backoff before retry n (n ≥ 1) is a uniformly random duration in
// [0, min(backoffCap, backoffBase·2ⁿ⁻¹)): exponential backoff with full jitter.
const (
	defaultBackoffBase = 200 * time.Millisecond
	defaultBackoffCap  = 10 * time.Second
)

// ErrRejected is wrapped by the error Apply returns when the receiver answers
// with a status that retrying cannot fix (anything but 2xx and 5xx).
var ErrRejected = errors.New("webhook: rejected by receiver (permanent, not retried)")

var _ actuators.Actuator = (*Webhook)(nil)

// Webhook is an Actuator that POSTs each Action as JSON. It is safe for
// concurrent use.
type Webhook struct {
	url      string // as configured
	redacted string // for logs and errors: the URL with its secrets masked (config.Redact)
	readURL  string // read_url as configured; "" for none
	readRed  string // read_url redacted
	client   *http.Client
	timeout  time.Duration
	retries  int

	authHeader string
	authFile   string
	authEnv    string

	logger *slog.Logger

	// Backoff parameters and the jitter source; tests shorten them.
	backoffBase time.Duration
	backoffCap  time.Duration
	rand        func() float64 // uniform in [0, 1), safe for concurrent use
}

// New returns a Webhook for cfg. A zero cfg.Timeout means DefaultTimeout; a
// zero cfg.Retries means one attempt and no retry. The HTTP client is built
// by prometheus/common from cfg.TLSConfig, so certificates are verified
// unless insecure_skip_verify is set, and CA and client certificate files are
// re-read when they change. A nil logger discards.
func New(cfg config.Webhook, logger *slog.Logger) (*Webhook, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook: url: required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook: url: %w", config.RedactError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("webhook: url %q: must be an absolute http or https URL", config.Redact(cfg.URL))
	}
	timeout := time.Duration(cfg.Timeout)
	switch {
	case timeout < 0:
		return nil, fmt.Errorf("webhook: timeout %v: must not be negative", timeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	if cfg.ReadURL != "" {
		r, err := url.Parse(cfg.ReadURL)
		if err != nil {
			return nil, fmt.Errorf("webhook: read_url: %w", config.RedactError(err))
		}
		if r.Scheme != "http" && r.Scheme != "https" || r.Host == "" {
			return nil, fmt.Errorf("webhook: read_url %q: must be an absolute http or https URL", config.Redact(cfg.ReadURL))
		}
	}
	if cfg.Retries < 0 {
		return nil, fmt.Errorf("webhook: retries %d: must not be negative", cfg.Retries)
	}
	if cfg.AuthFile != "" && cfg.AuthEnv != "" {
		return nil, errors.New("webhook: auth_file and auth_env: at most one may be set")
	}
	header := cfg.AuthHeader
	switch {
	case header != "" && cfg.AuthFile == "" && cfg.AuthEnv == "":
		return nil, fmt.Errorf("webhook: auth_header %q: set without auth_file or auth_env", header)
	case header == "":
		header = DefaultAuthHeader
	case !validHeaderName(header):
		return nil, fmt.Errorf("webhook: auth_header %q: not a valid header name", header)
	}

	hc := commoncfg.HTTPClientConfig{
		TLSConfig:       cfg.TLSConfig,
		FollowRedirects: false,
		EnableHTTP2:     true,
	}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: tls_config: %w", err)
	}
	client, err := commoncfg.NewClientFromConfig(hc, "presage_webhook", commoncfg.WithUserAgent("presage"))
	if err != nil {
		return nil, fmt.Errorf("webhook: tls_config: %w", err)
	}

	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Webhook{
		url:         cfg.URL,
		redacted:    config.Redact(cfg.URL),
		readURL:     cfg.ReadURL,
		readRed:     config.Redact(cfg.ReadURL),
		client:      client,
		timeout:     timeout,
		retries:     cfg.Retries,
		authHeader:  header,
		authFile:    cfg.AuthFile,
		authEnv:     cfg.AuthEnv,
		logger:      logger,
		backoffBase: defaultBackoffBase,
		backoffCap:  defaultBackoffCap,
		rand:        rand.Float64,
	}, nil
}

// payload is the JSON body: the Action's fields plus the idempotency key.
type payload struct {
	actuators.Action
	IdempotencyKey string `json:"idempotency_key"`
}

// Apply POSTs a to the receiver, retrying transient failures. Each attempt
// is bounded by the configured timeout and by ctx; Apply returns as soon as
// ctx is done, also while it waits to retry. An error from a status that
// retrying cannot fix wraps ErrRejected.
func (w *Webhook) Apply(ctx context.Context, a actuators.Action) error {
	what := fmt.Sprintf("%s %s/%s", a.Op, a.Service, a.Action)
	key := IdempotencyKey(a)
	body, err := json.Marshal(payload{Action: a, IdempotencyKey: key})
	if err != nil {
		return fmt.Errorf("webhook: %s: encode: %w", what, err)
	}
	secret, err := w.credential()
	if err != nil {
		return fmt.Errorf("webhook: %s: %w", what, err)
	}

	log := w.logger.With(
		"service", a.Service, "action", a.Action, "op", a.Op, "to", a.To,
		"url", w.redacted, "idempotency_key", key)
	attempts := w.retries + 1
	for n := 1; ; n++ {
		log.Debug("webhook attempt", "attempt", n, "attempts", attempts)
		retry, err := w.attempt(ctx, body, key, secret)
		if err == nil {
			log.Debug("webhook applied", "attempt", n)
			return nil
		}
		if ctx.Err() != nil {
			log.Warn("webhook attempt cancelled", "attempt", n, "err", err)
			return fmt.Errorf("webhook: %s: attempt %d: %w", what, n, err)
		}
		if !retry {
			log.Warn("webhook rejected, not retrying", "attempt", n, "err", err)
			return fmt.Errorf("webhook: %s: %w", what, err)
		}
		if n == attempts {
			log.Warn("webhook attempt failed, giving up", "attempt", n, "err", err)
			return fmt.Errorf("webhook: %s: %d attempts failed, last: %w", what, attempts, err)
		}
		d := w.backoff(n)
		log.Warn("webhook attempt failed, retrying", "attempt", n, "retry_in", d, "err", err)
		if werr := wait(ctx, d); werr != nil {
			return fmt.Errorf("webhook: %s: waiting to retry: %w; last attempt: %w", what, werr, err)
		}
	}
}

// attempt makes one POST and says whether a failure is worth retrying.
func (w *Webhook) attempt(ctx context.Context, body []byte, key, secret string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("new request: %w", config.RedactError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyHeader, key)
	if secret != "" {
		req.Header.Set(w.authHeader, secret)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		err = config.RedactError(err) // net/http's error quotes the URL, token and all
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return false, fmt.Errorf("%w (permanent, not retried)", err)
		}
		return true, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return false, nil
	}
	msg := snippet(resp.Body, secret)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	serr := fmt.Errorf("post %s: status %s%s", w.redacted, resp.Status, msg)
	if resp.StatusCode >= 500 {
		return true, serr
	}
	return false, fmt.Errorf("%w: %w", serr, ErrRejected)
}

// snippet returns the start of a response body for an error message, with
// the credential masked in case the receiver echoes it.
func snippet(r io.Reader, secret string) string {
	b, _ := io.ReadAll(io.LimitReader(r, 256))
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if s == "" {
		return ""
	}
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return fmt.Sprintf(": %q", s)
}

// credential reads the header value afresh, so that a rotated secret is
// used from the next Apply on. Errors name the source, never the value.
func (w *Webhook) credential() (string, error) {
	var v, src string
	switch {
	case w.authFile != "":
		src = fmt.Sprintf("auth_file %q", w.authFile)
		b, err := os.ReadFile(w.authFile)
		if err != nil {
			return "", fmt.Errorf("auth_file: %w", err)
		}
		v = strings.TrimSpace(string(b))
	case w.authEnv != "":
		src = fmt.Sprintf("auth_env %q", w.authEnv)
		v = strings.TrimSpace(os.Getenv(w.authEnv))
	default:
		return "", nil
	}
	if v == "" {
		return "", fmt.Errorf("%s: empty", src)
	}
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return "", fmt.Errorf("%s: contains a control character", src)
		}
	}
	return v, nil
}

// backoff returns the wait before retry n ≥ 1.
func (w *Webhook) backoff(n int) time.Duration {
	d := w.backoffBase
	for i := 1; i < n && d < w.backoffCap; i++ {
		d *= 2
	}
	d = min(d, w.backoffCap)
	return time.Duration(w.rand() * float64(d))
}

// wait waits for d or until ctx is done, whichever is first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// IdempotencyKey returns the key that identifies a: the hex SHA-256 of its
// service, action, op, to and at (the instant, whatever its location). Two
// Actions that differ only in from, reason or risk have the same key; the
// key of an Action never changes between versions of presage.
func IdempotencyKey(a actuators.Action) string {
	h := sha256.New()
	for _, f := range []string{
		"presage.webhook.v1",
		a.Service,
		a.Action,
		string(a.Op),
		strconv.FormatFloat(a.To, 'g', -1, 64),
		a.At.UTC().Format(time.RFC3339Nano),
	} {
		// Length-prefixed, so that no two field lists hash alike.
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
