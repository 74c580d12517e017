package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// TestReadURL reads a knob from a real receiver's read URL: the query names
// the service and action, the credential goes as Apply's does, and each
// answer maps to a value or an error.
func TestReadURL(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    float64
		wantErr string
		noValue bool
	}{
		{name: "value", status: 200, body: `{"value": 3}`, want: 3},
		{name: "zero is a value", status: 200, body: `{"value": 0}`, want: 0},
		{name: "null: the receiver holds none", status: 200, body: `{"value": null}`, noValue: true},
		{name: "no value field", status: 200, body: `{}`, noValue: true},
		{name: "not JSON", status: 200, body: `three`, wantErr: "not {\"value\": NUMBER}"},
		{name: "a string", status: 200, body: `{"value": "3"}`, wantErr: "not {\"value\": NUMBER}"},
		{name: "server error", status: 500, body: `down`, wantErr: "status 500"},
		{name: "not found", status: 404, body: ``, wantErr: "status 404"},
		{name: "too large", status: 200, body: `{"value": 3, "pad": "` + strings.Repeat("x", 1<<16) + `"}`, wantErr: "larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/read" || r.URL.Query().Get("service") != "checkout" ||
					r.URL.Query().Get("action") != "replicas" || r.URL.Query().Get("tenant") != "a" || r.Header.Get("X-Token") != "s3cret" {
					t.Errorf("request %s %s, token %q", r.Method, r.URL, r.Header.Get("X-Token"))
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			t.Setenv("READ_TOKEN", "s3cret")
			w, err := New(config.Webhook{URL: srv.URL, ReadURL: srv.URL + "/read?tenant=a", Timeout: config.Duration(5 * time.Second),
				AuthHeader: "X-Token", AuthEnv: "READ_TOKEN"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := w.Actuator("checkout", "replicas").(actuators.Reader)
			if !ok {
				t.Fatal("a webhook with a read URL is not a Reader")
			}
			got, err := r.Current(t.Context())
			switch {
			case tt.noValue:
				if !errors.Is(err, actuators.ErrNoValue) {
					t.Errorf("Current: %v, want ErrNoValue", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Current: %v, want an error with %q", err, tt.wantErr)
				}
			case err != nil || got != tt.want:
				t.Errorf("Current = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	w, err := New(config.Webhook{URL: "http://127.0.0.1:1/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Actuator("checkout", "replicas").(actuators.Reader); ok {
		t.Error("a webhook without a read URL is a Reader")
	}
	if _, err := New(config.Webhook{URL: "http://127.0.0.1:1/", ReadURL: "/read"}, nil); err == nil {
		t.Error("a relative read URL is accepted")
	}
}
