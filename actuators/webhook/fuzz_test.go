package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// FuzzResponse answers Apply with any status and body: Apply never panics,
// succeeds exactly on a 2xx status, and an error quotes at most the start
// of the body.
func FuzzResponse(f *testing.F) {
	f.Add(200, []byte(`{"ok":true}`))
	f.Add(204, []byte(nil))
	f.Add(409, []byte("conflict"))
	f.Add(500, []byte("\xff\xfe not utf-8"))
	f.Add(302, []byte("<html>moved</html>"))
	var status atomic.Int64
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		w.Write(body.Load().([]byte))
	}))
	f.Cleanup(srv.Close)
	w, err := New(config.Webhook{URL: srv.URL, Retries: 0, Timeout: config.Duration(2 * time.Second)}, nil)
	if err != nil {
		f.Fatal(err)
	}
	a := actuators.Action{Service: "checkout", Action: "queue", Op: actuators.Engage, From: 0, To: 1, Reason: "Escalate", At: time.Unix(0, 0)}
	f.Fuzz(func(t *testing.T, code int, b []byte) {
		if code < 200 || code > 599 || code == 204 && len(b) > 0 || code == 304 && len(b) > 0 {
			return // net/http writes no body for these, or refuses the status
		}
		status.Store(int64(code))
		body.Store(b)
		err := w.Apply(context.Background(), a)
		ok := code >= 200 && code < 300
		if ok != (err == nil) {
			t.Fatalf("status %d: error %v", code, err)
		}
		if err != nil && len(err.Error()) > 2048 {
			t.Fatalf("error of %d bytes: the body is not cut short", len(err.Error()))
		}
	})
}
