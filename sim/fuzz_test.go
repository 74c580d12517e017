package sim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzServeAction posts any body to sim serve's /actions: the handler
// never panics, answers 200 only to an action it applied or had applied,
// and leaves every knob of the plant within its range.
func FuzzServeAction(f *testing.F) {
	f.Add([]byte(`{"service":"checkout","action":"queue","op":"engage","from":0,"to":1}`))
	f.Add([]byte(`{"service":"checkout","action":"replicas","op":"engage","from":0,"to":3,"idempotency_key":"k"}`))
	f.Add([]byte(`{"service":"checkout","action":"queue","op":"revert","from":1,"to":0}`))
	f.Add([]byte(`{"service":"nope","action":"queue"}`))
	f.Add([]byte(`{"service":"checkout","action":"queue","to":1e309}`))
	f.Add([]byte(`{"service":"checkout","action":"queue","to":-5}`))
	f.Add([]byte(`not json`))
	srv, err := NewServer(serveConfig(f, "2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,1\n"), ServeOptions{})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.ServeHandler()
	plant := srv.Plant("checkout")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/actions", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code < 400 {
			t.Fatalf("status %d", rec.Code)
		}
		for _, knob := range Knobs {
			v, err := plant.Get(knob)
			if err != nil {
				t.Fatal(err)
			}
			if v != v || v < 0 {
				t.Fatalf("knob %s = %v after %q", knob, v, body)
			}
		}
	})
}
