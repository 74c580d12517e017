package file

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const exported = `timestamp,service,latency,requests,pool_in_use,pool_limit
2026-01-05T00:00:00Z,checkout,0.1,50,5,50
2026-01-05T00:00:00Z,search,0.05,20,2,30
2026-01-05T00:01:00Z,checkout,0.12,,5,50
2026-01-05T00:01:00Z,search,,,,
2026-01-05T00:02:00Z,checkout,0.2,70,9,50
2026-01-05T00:02:00Z,search,0.06,25,3,30
2026-01-05T00:04:00Z,checkout,0.3,80,12,50
`

func TestParseSignalsTrace(t *testing.T) {
	for _, tt := range signalsTraceTests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseSignalsTrace(strings.NewReader(exported), "x.csv", tt.service)
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Start.Equal(t0) || tr.Step != time.Minute || !sameValues(tr.Values, tt.want) {
				t.Errorf("got %s %v %v, want %s 1m %v", tr.Start, tr.Step, tr.Values, t0, tt.want)
			}
		})
	}

	// ParseTrace recognises the file: replay -trace reads it as a load.
	tr, err := ParseTrace(strings.NewReader(exported), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !sameValues(tr.Values, []float64{50, nan, 70, nan, 80}) {
		t.Errorf("ParseTrace of an exported file: %v, want the first service's requests", tr.Values)
	}
	// A plain trace still parses as before.
	if tr, err := ParseTrace(strings.NewReader("timestamp,value\n2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,2\n"), "p.csv"); err != nil || len(tr.Values) != 2 {
		t.Errorf("plain trace: %v, %v", tr, err)
	}
}

func TestParseSignalsTraceErrors(t *testing.T) {
	for _, tt := range signalsTraceErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignalsTrace(strings.NewReader(tt.in), "x.csv", tt.service)
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) || pe.Line != tt.line {
				t.Errorf("error %v, want a ParseError at line %d with %q", err, tt.line, tt.want)
			}
		})
	}
	if _, err := ParseSignalsTrace(strings.NewReader(exported), "x.csv", "nope"); !errors.Is(err, ErrNoRows) {
		t.Errorf("unknown service: %v, want ErrNoRows", err)
	}
}

var signalsTraceTests = []struct {
	name, service string
	want          []float64
}{
	{"first service", "", []float64{50, nan, 70, nan, 80}},
	{"named service", "checkout", []float64{50, nan, 70, nan, 80}},
	{"another service", "search", []float64{20, nan, 25}},
}

var signalsTraceErrorTests = []struct {
	name, in, service, want string
	line                    int
}{
	{"unknown service", exported, "nope", `no rows for service "nope"`, 0},
	{"no requests column", "timestamp,service,latency\n2026-01-05T00:00:00Z,a,1\n", "", `no "requests" column`, 1},
	{"bad value", "timestamp,service,latency,requests\n2026-01-05T00:00:00Z,a,1,-3\n2026-01-05T00:01:00Z,a,1,2\n", "", `value "-3"`, 2},
	{"bad time", "timestamp,service,latency,requests\nyesterday,a,1,3\n", "", `timestamp "yesterday"`, 2},
	{"out of order", "timestamp,service,latency,requests\n2026-01-05T00:01:00Z,a,1,3\n2026-01-05T00:00:00Z,a,1,3\n", "", "not after", 3},
	{"one row", "timestamp,service,latency,requests\n2026-01-05T00:01:00Z,a,1,3\n", "", "only one data row", 2},
	{"short row", "timestamp,service,latency,requests\n2026-01-05T00:01:00Z,a\n", "", "want 4 fields, got 2", 2},
}
