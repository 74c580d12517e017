package file

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris, whatever the machine has
)

func paris(t testing.TB) Options {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Location: loc}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Europe/Paris leaves summer time at 03:00 CEST on 2026-10-25 (the clock
// goes back to 02:00 CET: 02:00–02:59 happens twice) and enters it at
// 02:00 CET on 2026-03-29 (the clock jumps to 03:00: 02:00–02:59 does not
// happen).

func TestLocalInstant(t *testing.T) {
	loc := paris(t).Location
	tests := []struct {
		name       string
		wall, prev string
		want       string
	}{
		{"plain winter", "2026-01-05T10:00:00Z", "", "2026-01-05T09:00:00Z"},
		{"plain summer", "2026-07-05T10:00:00Z", "", "2026-07-05T08:00:00Z"},
		{"overlap, first", "2026-10-25T02:30:00Z", "", "2026-10-25T00:30:00Z"},
		{"overlap, after a row before it", "2026-10-25T02:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z"},
		{"overlap, second", "2026-10-25T02:30:00Z", "2026-10-25T00:45:00Z", "2026-10-25T01:30:00Z"},
		{"overlap, second at its start", "2026-10-25T02:00:00Z", "2026-10-25T00:59:00Z", "2026-10-25T01:00:00Z"},
		{"overlap, both passed", "2026-10-25T02:30:00Z", "2026-10-25T01:45:00Z", "2026-10-25T00:30:00Z"},
		{"gap moves later by the hour", "2026-03-29T02:30:00Z", "", "2026-03-29T01:30:00Z"},
		{"gap start", "2026-03-29T02:00:00Z", "", "2026-03-29T01:00:00Z"},
		{"just before the gap", "2026-03-29T01:59:00Z", "", "2026-03-29T00:59:00Z"},
		{"just after the gap", "2026-03-29T03:00:00Z", "", "2026-03-29T01:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev time.Time
			if tt.prev != "" {
				prev = utc(tt.prev)
			}
			if got := localInstant(utc(tt.wall), loc, prev); !got.Equal(utc(tt.want)) {
				t.Errorf("localInstant(%s, Paris, %s) = %v, want %s", tt.wall, tt.prev, got.UTC(), tt.want)
			}
		})
	}
}

// fallBack is a trace stamped on Paris's wall clock every 30 minutes across
// the autumn change: 02:00 and 02:30 appear twice.
const fallBack = `timestamp,value
2026-10-25 01:00:00,1
2026-10-25 01:30:00,2
2026-10-25 02:00:00,3
2026-10-25 02:30:00,4
2026-10-25 02:00:00,5
2026-10-25 02:30:00,6
2026-10-25 03:00:00,7
`

// springForward is the same across the spring change: no 02:00 or 02:30.
const springForward = `timestamp,value
2026-03-29 01:00:00,1
2026-03-29 01:30:00,2
2026-03-29 03:00:00,3
2026-03-29 03:30:00,4
`

func TestTraceZone(t *testing.T) {
	o := paris(t)
	tests := []struct {
		name, in string
		o        Options
		start    string
		want     []float64
	}{
		{"fall back, repeated hour in row order", fallBack, o, "2026-10-24T23:00:00Z", []float64{1, 2, 3, 4, 5, 6, 7}},
		{"spring forward, no hole", springForward, o, "2026-03-29T00:00:00Z", []float64{1, 2, 3, 4}},
		{"a row in the gap moves later by the gap", "2026-03-29 01:00:00,1\n2026-03-29 01:30:00,2\n2026-03-29 02:30:00,3\n",
			o, "2026-03-29T00:00:00Z", []float64{1, 2, nan, 3}},
		{"offsets are honoured as written", "2026-10-25T02:30:00+02:00,1\n2026-10-25T02:00:00+01:00,2\n2026-10-25T01:30:00Z,3\n",
			o, "2026-10-25T00:30:00Z", []float64{1, 2, 3}},
		{"Unix seconds are instants", "1792886400,1\n1792888200,2\n", o, "2026-10-25T00:00:00Z", []float64{1, 2}},
		{"no zone: UTC", springForward, Options{}, "2026-03-29T01:00:00Z", []float64{1, 2, nan, nan, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.o.ParseTrace(strings.NewReader(tt.in), "trace.csv")
			if err != nil {
				t.Fatal(err)
			}
			if !g.Start.Equal(utc(tt.start)) || g.Step != 30*time.Minute || !sameValues(g.Values, tt.want) {
				t.Errorf("got start %v step %v values %v; want %s 30m %v", g.Start.UTC(), g.Step, g.Values, tt.start, tt.want)
			}
		})
	}
}

func TestTraceZoneErrors(t *testing.T) {
	o := paris(t)
	tests := []struct {
		name, in string
		o        Options
		want     string
	}{
		// Without the zone, the repeated hour goes back in time.
		{"fall back in UTC", fallBack, Options{}, "trace.csv:6: timestamp 2026-10-25 02:00:00 out of order"},
		// An hour can repeat once, not twice.
		{"a third 02:00", fallBack + "2026-10-25 02:00:00,8\n", o, "trace.csv:9: timestamp 2026-10-25 02:00:00 out of order"},
		// A row in the gap lands on the row after the gap.
		{"gap onto a row", "2026-03-29 01:00:00,1\n2026-03-29 02:00:00,2\n2026-03-29 03:00:00,3\n", o,
			"trace.csv:3: timestamp 2026-03-29 03:00:00 duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.ParseTrace(strings.NewReader(tt.in), "trace.csv")
			var pe *ParseError
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError starting %q", err, tt.want)
			}
		})
	}
}

func TestSignalsZone(t *testing.T) {
	o := paris(t)
	// Two services interleaved, each across the autumn change: the repeated
	// hour is told apart by each service's own rows.
	in := `timestamp,service,latency,requests
2026-10-25 02:00:00,a,0.1,1
2026-10-25 02:00:00,b,0.2,10
2026-10-25 02:30:00,a,0.1,2
2026-10-25 02:30:00,b,0.2,20
2026-10-25 02:00:00,a,0.1,3
2026-10-25 02:00:00,b,0.2,30
2026-10-25 02:30:00,a,0.1,4
2026-10-25 02:30:00,b,0.2,40
`
	rec, err := o.ParseSignals(strings.NewReader(in), "signals.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Start.Equal(utc("2026-10-25T00:00:00Z")) || rec.Step != 30*time.Minute || rec.Len != 4 {
		t.Fatalf("got start %v step %v len %d; want 2026-10-25T00:00:00Z 30m 4", rec.Start.UTC(), rec.Step, rec.Len)
	}
	if got := rec.Values["b"]["requests"]; !sameValues(got, []float64{10, 20, 30, 40}) {
		t.Errorf("b's requests %v, want [10 20 30 40]", got)
	}
	if _, err := ParseSignals(strings.NewReader(in), "signals.csv"); err == nil || !strings.HasPrefix(err.Error(), "signals.csv:6: service a: timestamp") {
		t.Errorf("in UTC: error %v, want one at signals.csv:6", err)
	}

	g, err := o.ParseSignalsTrace(strings.NewReader(in), "signals.csv", "b")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Start.Equal(utc("2026-10-25T00:00:00Z")) || !sameValues(g.Values, []float64{10, 20, 30, 40}) {
		t.Errorf("signals trace: start %v values %v", g.Start.UTC(), g.Values)
	}
	// ParseTrace hands a signals file to ParseSignalsTrace with its options.
	if g, err := o.ParseTrace(strings.NewReader(in), "signals.csv"); err != nil || !sameValues(g.Values, []float64{1, 2, 3, 4}) {
		t.Errorf("ParseTrace of a signals file: %v, %v", g, err)
	}
}

func TestForecastInputZone(t *testing.T) {
	o := paris(t)
	in := `series,timestamp,value
x,2026-10-25 01:30:00,1
y,2026-03-29 01:30:00,10
x,2026-10-25 02:30:00,2
y,2026-03-29 03:30:00,20
x,2026-10-25 02:30:00,3
x,2026-10-25T03:30:00+01:00,4
`
	got, err := o.ParseForecastInput(strings.NewReader(in), "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !sameValues(got[0].Values, []float64{1, 2, 3, 4}) || !sameValues(got[1].Values, []float64{10, 20}) {
		t.Errorf("got %v; want x [1 2 3 4] and y [10 20]", got)
	}
	if _, err := ParseForecastInput(strings.NewReader(in), "in.csv"); err == nil || !strings.HasPrefix(err.Error(), "in.csv:6: ") {
		t.Errorf("in UTC: error %v, want one at in.csv:6", err)
	}
}
