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
	if !rec.Start.Equal(t0) || rec.Step != time.Minute || rec.Len != 5 {
		t.Fatalf("grid %s %v × %d, want %s 1m × 5", rec.Start, rec.Step, rec.Len, t0)
	}
	if got := strings.Join(rec.Services, ","); got != "checkout,search" {
		t.Errorf("services %s", got)
	}
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

	for _, tt := range signalsErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignals(strings.NewReader(tt.csv), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

var signalsErrorTests = []struct{ name, csv, want string }{
	{"no service column", "timestamp,latency\n2026-01-05T00:00:00Z,1\n", `x.csv:1: no "service" column`},
	{"no signal column", "timestamp,service\n2026-01-05T00:00:00Z,a\n", "x.csv:1: no signal column"},
	{"bad value", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,x\n", `x.csv:3: latency: value "x": not a number`},
	{"out of order", "timestamp,service,latency\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:00:00Z,a,1\n", "x.csv:3: service a: timestamp"},
	{"off the grid", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n2026-01-05T00:01:00Z,a,1\n2026-01-05T00:02:00Z,a,1\n2026-01-05T00:02:30Z,b,1\n2026-01-05T00:03:30Z,b,1\n", "x.csv:5: timestamp 2026-01-05T00:02:30Z is not on the 1m0s grid"},
	{"one row", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n", "need two to find the step"},
	{"empty", "", "no data rows"},
}

// TestWriteSignals pins the one signals format (both `presage export` and
// `presage replay -record` write it) and reads it back.
func TestWriteSignals(t *testing.T) {
	rec := &Recording{Start: t0, Step: 30 * time.Second, Len: 3, Services: []string{"checkout", "a,b"},
		Values: map[string]map[metrics.Signal][]float64{
			"checkout": {
				metrics.Latency:   {0.08416637524136444, math.NaN(), 0.1},
				metrics.Requests:  {42.25633004568213, 1e-7, math.Inf(1)},
				metrics.PoolInUse: {2, 0, 3},
				metrics.PoolLimit: {50, 50, 50},
			},
			"a,b": {metrics.Requests: {1, 2}}, // a short column and absent signals
		}}
	var b strings.Builder
	if err := WriteSignals(&b, rec); err != nil {
		t.Fatal(err)
	}
	want := `timestamp,service,latency,requests,pool_in_use,pool_limit
2026-01-05T00:00:00Z,checkout,0.08416637524136444,42.25633004568213,2,50
2026-01-05T00:00:00Z,"a,b",,1,,
2026-01-05T00:00:30Z,checkout,,1e-07,0,50
2026-01-05T00:00:30Z,"a,b",,2,,
2026-01-05T00:01:00Z,checkout,0.1,,3,50
2026-01-05T00:01:00Z,"a,b",,,,
`
	if b.String() != want {
		t.Fatalf("wrote\n%s\nwant\n%s", b.String(), want)
	}
	got, err := ParseSignals(strings.NewReader(b.String()), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	rec.Values["checkout"][metrics.Requests][2] = math.NaN() // Inf is no value
	rec.Values["a,b"][metrics.Requests] = []float64{1, 2, math.NaN()}
	sameRecording(t, rec, got)

	// Sub-second times keep their fraction.
	rec = &Recording{Start: t0.Add(500 * time.Millisecond), Step: 250 * time.Millisecond, Len: 2, Services: []string{"s"},
		Values: map[string]map[metrics.Signal][]float64{"s": {metrics.Latency: {1, 2}}}}
	b.Reset()
	if err := WriteSignals(&b, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\n2026-01-05T00:00:00.75Z,s,2,,,\n") {
		t.Errorf("wrote\n%s", b.String())
	}
	if got, err = ParseSignals(strings.NewReader(b.String()), "x.csv"); err != nil {
		t.Fatal(err)
	}
	sameRecording(t, rec, got)
}

// TestRecordingOf lays what `presage export` reads from Prometheus on its
// grid: a sample off the grid or outside it is left out, a missing one is
// NaN, and every signal is there.
func TestRecordingOf(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	hist := metrics.History{
		"checkout": {
			metrics.Requests: {{Time: at(0), Value: 10}, {Time: at(2), Value: 12}, {Time: at(5), Value: 99}},
			metrics.Latency:  {{Time: at(-1), Value: 9}, {Time: at(1).Add(time.Second), Value: 9}, {Time: at(1), Value: 0.2}},
		},
		"unread": {},
	}
	rec := RecordingOf(hist, []string{"checkout", "search"}, t0, at(3).Add(-time.Second), time.Minute)
	if !rec.Start.Equal(t0) || rec.Step != time.Minute || rec.Len != 3 || strings.Join(rec.Services, ",") != "checkout,search" {
		t.Fatalf("grid %v %v × %d %v", rec.Start, rec.Step, rec.Len, rec.Services)
	}
	for _, tt := range []struct {
		svc  string
		sig  metrics.Signal
		want []float64
	}{
		{"checkout", metrics.Requests, []float64{10, nan, 12}},
		{"checkout", metrics.Latency, []float64{nan, 0.2, nan}},
		{"checkout", metrics.PoolLimit, []float64{nan, nan, nan}},
		{"search", metrics.Requests, []float64{nan, nan, nan}},
	} {
		if got := rec.Values[tt.svc][tt.sig]; !sameValues(got, tt.want) {
			t.Errorf("%s %s = %v, want %v", tt.svc, tt.sig, got, tt.want)
		}
	}
}
