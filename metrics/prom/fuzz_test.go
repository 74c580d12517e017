package prom

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzResponse answers every query and range query with any status and
// body: Read and Range never panic, a body that is not an answer (JSON with
// data and no error status) reads no sample (garbage is never a zero), and
// no sample is NaN or infinite.
func FuzzResponse(f *testing.F) {
	f.Add(200, []byte(`{"status":"success","data":`+vector(now, map[string]string{"a": "1"})+`}`))
	f.Add(200, []byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"a"},"values":[[1,"2"]]}]}}`))
	f.Add(200, []byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`))
	f.Add(200, []byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}`))
	f.Add(422, []byte(`{"status":"error","errorType":"execution","error":"boom"}`))
	f.Add(503, []byte("<html>down</html>"))
	f.Add(200, []byte(`{"status":"success","data":null}`))
	var status atomic.Int64
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		w.Write(body.Load().([]byte))
	}))
	f.Cleanup(srv.Close)
	cfg := testConfig(f, srv.URL, "a", "b")
	cfg.Source.Prometheus.Retries = 0
	s, err := New(cfg, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, code int, b []byte) {
		if code < 200 || code > 599 || (code == 204 || code == 304) && len(b) > 0 {
			return
		}
		status.Store(int64(code))
		body.Store(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// What the API client takes for an answer: JSON with data and a
		// status that is not "error" (field names in any case, as
		// encoding/json matches them).
		var answer struct {
			Status string
			Data   json.RawMessage
		}
		success := json.Unmarshal(b, &answer) == nil && len(answer.Data) > 0 && answer.Status != "error"
		snap, _ := s.Read(ctx, now)
		for svc, sigs := range snap {
			for sig, smp := range sigs {
				if !success {
					t.Fatalf("%s %s = %v read from a body that is no success", svc, sig, smp.Value)
				}
				if math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
					t.Fatalf("%s %s = %v", svc, sig, smp.Value)
				}
			}
		}
		hist, _ := s.Range(ctx, []string{"a", "b"}, now.Add(-time.Hour), now, time.Minute)
		for svc, sigs := range hist {
			for sig, series := range sigs {
				for _, smp := range series {
					if !success && !smp.Missing() {
						t.Fatalf("%s %s: %v read from a body that is no success", svc, sig, smp.Value)
					}
				}
			}
		}
	})
}
