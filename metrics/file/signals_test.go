package file

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/metrics"
)

func TestParseSignals(t *testing.T) {
	rec, err := ParseSignals(strings.NewReader(exported), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if !rec.Start.Equal(t0) || rec.Step != time.Minute || rec.Len != 5 {
		t.Fatalf("grid %s %v × %d, want %s 1m × 5", rec.Start, rec.Step, rec.Len, t0)
	}
	if got := strings.Join(rec.Services, ","); got != "checkout,search" {
		t.Errorf("services %s", got)
	}
	nan := math.NaN()
	for _, tt := range []struct {
		service string
		sig     metrics.Signal
		want    []float64
	}{
		{"checkout", metrics.Latency, []float64{0.1, 0.12, 0.2, nan, 0.3}},
		{"checkout", metrics.Requests, []float64{50, nan, 70, nan, 80}},
		{"search", metrics.PoolLimit, []float64{30, nan, 30, nan, nan}},
	} {
		if got := rec.Values[tt.service][tt.sig]; !sameValues(got, tt.want) {
			t.Errorf("%s %s = %v, want %v", tt.service, tt.sig, got, tt.want)
		}
	}

	for _, tt := range []struct{ name, csv, want string }{
		{"no service column", "timestamp,latency\n2026-01-05T00:00:00Z,1\n", `x.csv:1: no "service" column`},
		{"no signal column", "timestamp,service\n2026-01-05T00:00:00Z,a\n", "x.csv:1: no signal column"},
		{"bad value", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,x\n", `x.csv:3: latency: value "x": not a number`},
		{"out of order", "timestamp,service,latency\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:00:00Z,a,1\n", "x.csv:3: service a: timestamp"},
		{"off the grid", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:02:00Z,a,1\n2026-01-05T00:02:30Z,b,1\n2026-01-05T00:03:30Z,b,1\n", "x.csv:5: timestamp 2026-01-05T00:02:30Z is not on the 1m0s grid"},
		{"one row", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n", "need two to find the step"},
		{"empty", "", "no data rows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignals(strings.NewReader(tt.csv), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
