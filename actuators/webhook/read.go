package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// Reading is a Webhook with a read URL, bound to one playbook action: it
// is also an actuators.Reader. The controller reads it only to check that
// the receiver still holds an engaged change (CheckOnly), off its step,
// never at every step: a slow receiver delays no step.
type Reading struct {
	*Webhook
	service, action string
}

var (
	_ actuators.Actuator = Reading{}
	_ actuators.Reader   = Reading{}
)

// Actuator returns w as the actuator of one playbook action: a Reading,
// which reads the knob, when w has a read URL (read_url), else w itself.
// service and action name the knob in the read's query.
func (w *Webhook) Actuator(service, action string) actuators.Actuator {
	if w.readURL == "" {
		return w
	}
	return Reading{Webhook: w, service: service, action: action}
}

// CheckOnly reports that the knob is read to check engaged changes, not
// at every step.
func (r Reading) CheckOnly() bool { return true }

// ReadValue is the JSON answer of a read URL: the value the receiver
// holds for the action, null when it holds none.
type ReadValue struct {
	Value *float64 `json:"value"`
}

// Current GETs the read URL with the query parameters service and action
// added, and returns the value of the answer ({"value": NUMBER}). An
// answer {"value": null} is an error wrapping actuators.ErrNoValue: the
// receiver has forgotten the value, or never had one. One attempt,
// bounded by the configured timeout and by ctx, with the credential of
// Apply; a status other than 200, a body that is not such an object or
// larger than 64 KiB, or a value that is not finite is an error.
func (r Reading) Current(ctx context.Context) (float64, error) {
	w := r.Webhook
	service, action := r.service, r.action
	u, err := url.Parse(w.readURL)
	if err != nil {
		return 0, fmt.Errorf("webhook: read_url: %w", config.RedactError(err))
	}
	q := u.Query()
	q.Set("service", service)
	q.Set("action", action)
	u.RawQuery = q.Encode()
	secret, err := w.credential()
	if err != nil {
		return 0, fmt.Errorf("webhook: read %s/%s: %w", service, action, err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("webhook: read: %w", config.RedactError(err))
	}
	req.Header.Set("Accept", "application/json")
	if secret != "" {
		req.Header.Set(w.authHeader, secret)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: read %s/%s: %w", service, action, config.RedactError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := snippet(resp.Body, secret)
		return 0, fmt.Errorf("webhook: read %s/%s: get %s: status %s%s", service, action, w.readRed, resp.Status, msg)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16+1))
	if err != nil {
		return 0, fmt.Errorf("webhook: read %s/%s: %w", service, action, config.RedactError(err))
	}
	if len(b) > 1<<16 {
		return 0, fmt.Errorf("webhook: read %s/%s: answer larger than 64 KiB", service, action)
	}
	var v ReadValue
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("webhook: read %s/%s: answer is not {\"value\": NUMBER}: %w", service, action, err)
	}
	switch {
	case v.Value == nil:
		return 0, fmt.Errorf("webhook: read %s/%s: %w", service, action, actuators.ErrNoValue)
	case math.IsNaN(*v.Value) || math.IsInf(*v.Value, 0):
		return 0, fmt.Errorf("webhook: read %s/%s: value %v is not finite", service, action, *v.Value)
	}
	return *v.Value, nil
}
