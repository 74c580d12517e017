package file

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/testutil"
	"github.com/presage-dev/presage/metrics"
)

// sameValues reports whether a and b are equal, NaN equal to NaN.
func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func TestParseTrace(t *testing.T) {
	tests := traceTests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseTrace(strings.NewReader(tt.in), "trace.csv")
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Start.Equal(tt.start) || tr.Step != tt.step || !sameValues(tr.Values, tt.want) {
				t.Errorf("got start %v step %v values %v; want %v %v %v", tr.Start, tr.Step, tr.Values, tt.start, tt.step, tt.want)
			}
		})
	}
}

func TestParseTraceErrors(t *testing.T) {
	tests := traceErrorTests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tt.in), "trace.csv")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want one starting %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "trace.csv" {
				t.Errorf("error %v is not a *ParseError for trace.csv", err)
			}
		})
	}
	_, err := ParseTrace(strings.NewReader(""), "x.csv")
	if !errors.Is(err, ErrNoRows) {
		t.Errorf("empty: %v is not ErrNoRows", err)
	}
}

func TestReadTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.csv")
	if err := os.WriteFile(path, []byte("t,v\n0,1\n60,2\nbad,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTrace(path); err == nil || !strings.HasPrefix(err.Error(), path+":4: ") {
		t.Errorf("error %v, want one starting %s:4:", err, path)
	}
	if _, err := ReadTrace(filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadTraceNASA reads the real NASA-HTTP trace from $PRESAGE_DATA.
func TestReadTraceNASA(t *testing.T) {
	tr, err := ReadTrace(testutil.NASAMinutes(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(1995, 7, 1, 0, 0, 0, 0, time.UTC) // the file's local times, read as UTC
	end := time.Date(1995, 9, 1, 0, 1, 0, 0, time.UTC)
	if !tr.Start.Equal(start) || tr.Step != time.Minute || !tr.End().Equal(end) {
		t.Errorf("start %v step %v end %v; want %v 1m %v", tr.Start, tr.Step, tr.End(), start, end)
	}
	var rows, missing int
	var peak float64
	for _, v := range tr.Values {
		if math.IsNaN(v) {
			missing++
			continue
		}
		rows++
		peak = max(peak, v)
	}
	if rows != 84334 || peak != 405 {
		t.Errorf("%d rows, peak %v; want 84334 and 405", rows, peak)
	}
	// The hole: no rows from 07-28 13:33 to 07-31 23:59.
	holeStart := time.Date(1995, 7, 28, 13, 33, 0, 0, time.UTC)
	holeEnd := time.Date(1995, 8, 1, 0, 0, 0, 0, time.UTC)
	if want := int(holeEnd.Sub(holeStart) / time.Minute); missing != want {
		t.Errorf("%d missing minutes, want %d (the hole)", missing, want)
	}
	for _, ts := range []time.Time{holeStart, holeEnd.Add(-time.Minute)} {
		if v := tr.At(ts); !math.IsNaN(v) {
			t.Errorf("At(%v) = %v in the hole, want NaN", ts, v)
		}
	}
	if v := tr.At(holeStart.Add(-time.Minute)); math.IsNaN(v) {
		t.Error("the minute before the hole is missing")
	}
	// The hurricane outage is present as zeros.
	if v := tr.At(time.Date(1995, 8, 2, 12, 0, 0, 0, time.UTC)); v != 0 {
		t.Errorf("outage minute = %v, want 0", v)
	}
}

var traceTests = []struct {
	name  string
	in    string
	start time.Time
	step  time.Duration
	want  []float64
}{
	{"header, RFC 3339",
		"timestamp,value\n2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,2\n",
		t0, time.Minute, []float64{1, 2}},
	{"no header, RFC 3339 with offset",
		"2026-01-05T02:00:00+02:00,1.5\n2026-01-05T02:05:00+02:00,2.5\n",
		t0, 5 * time.Minute, []float64{1.5, 2.5}},
	{"space layout, header with spaces",
		"timestamp_edt, requests\n2026-01-05 00:00:00, 42\n2026-01-05 00:01:00, 61\n",
		t0, time.Minute, []float64{42, 61}},
	{"unix seconds",
		"1767571200,3\n1767571260,4\n1767571320,5\n",
		t0, time.Minute, []float64{3, 4, 5}},
	{"unix seconds with header and fractions",
		"ts,v\n1767571200.0,3\n1767571230.0,4\n",
		t0, 30 * time.Second, []float64{3, 4}},
	{"gap filled with NaN, step is the most common difference",
		"2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,2\n2026-01-05T00:04:00Z,5\n2026-01-05T00:05:00Z,6\n",
		t0, time.Minute, []float64{1, 2, nan, nan, 5, 6}},
	{"empty value and NaN are missing",
		"2026-01-05T00:00:00Z,\n2026-01-05T00:01:00Z,NaN\n2026-01-05T00:02:00Z,0\n",
		t0, time.Minute, []float64{nan, nan, 0}},
	{"comments and blank lines",
		"# a load\n\ntimestamp,value\n2026-01-05T00:00:00Z,1\n\n# more\n2026-01-05T00:01:00Z,2\n",
		t0, time.Minute, []float64{1, 2}},
	{"CRLF",
		"timestamp,value\r\n2026-01-05T00:00:00Z,1\r\n2026-01-05T00:01:00Z,2\r\n",
		t0, time.Minute, []float64{1, 2}},
}

var traceErrorTests = []struct {
	name string
	in   string
	want string
}{
	{"empty file", "", "trace.csv: file: no data rows"},
	{"header only", "timestamp,value\n", "trace.csv: file: no data rows"},
	{"one row", "2026-01-05T00:00:00Z,1\n", "trace.csv:1: only one data row"},
	{"bad value names the line",
		"timestamp,value\n2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,lots\n",
		`trace.csv:3: value "lots": not a number`},
	{"bad timestamp names the line",
		"2026-01-05T00:00:00Z,1\nyesterday,2\n",
		`trace.csv:2: timestamp "yesterday": want RFC 3339`},
	{"bad first row that is not a header",
		"2026-01-05T00:00:00Z,x\n2026-01-05T00:01:00Z,2\n",
		`trace.csv:1: value "x"`},
	{"negative value", "2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,-2\n", "trace.csv:2: value \"-2\": want a finite number ≥ 0"},
	{"infinite value", "2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,Inf\n", "trace.csv:2: value \"Inf\""},
	{"out of order",
		"t,v\n2026-01-05T00:00:00Z,1\n2026-01-05T00:02:00Z,2\n2026-01-05T00:01:00Z,3\n",
		"trace.csv:4: timestamp 2026-01-05T00:01:00Z out of order: not after 2026-01-05T00:02:00Z on line 3"},
	{"duplicate",
		"2026-01-05T00:00:00Z,1\n2026-01-05T00:00:00Z,2\n",
		"trace.csv:2: timestamp 2026-01-05T00:00:00Z duplicate"},
	{"off the grid",
		"2026-01-05T00:00:00Z,1\n2026-01-05T00:01:00Z,2\n2026-01-05T00:02:00Z,2\n2026-01-05T00:02:30Z,2\n",
		"trace.csv:4: timestamp 2026-01-05T00:02:30Z is not on the 1m0s grid"},
	{"three fields", "2026-01-05T00:00:00Z,1,2\n", "trace.csv:1: want 2 fields (timestamp,value), got 3"},
	{"one field", "t,v\n2026-01-05T00:00:00Z\n", "trace.csv:2: want 2 fields"},
	{"bad quoting", "t,v\n\"2026-01-05T00:00:00Z,1\n", "trace.csv:"},
	{"too long", "0,1\n60,1\n6000000000,1\n", "trace.csv:3: trace spans more than"},
	{"before year 0", "-62167219201,1\n0,1\n", `trace.csv:1: timestamp "-62167219201": want a time within years 0000–9999 UTC`},
	{"after year 9999", "9999-12-31T23:00:00-02:00,1\n", `trace.csv:1: timestamp "9999-12-31T23:00:00-02:00": want a time within years 0000–9999 UTC`},
	{"more than a Duration", "1000-01-01T00:00:00Z,1\n1400-01-01T00:00:00Z,2\n1800-01-01T00:00:00Z,3\n", "trace.csv:3: trace spans more than 292 years"},
}

// nan and t0 are shorthands of the test tables.
var (
	nan = math.NaN()
	t0  = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
)

func TestWriteTrace(t *testing.T) {
	g := &metrics.Grid{Start: time.Date(2026, 1, 5, 2, 0, 0, 0, time.FixedZone("", 2*3600)), Step: 90 * time.Second,
		Values: []float64{1.5, nan, 0, 1.0 / 3}}
	var b strings.Builder
	if err := WriteTrace(&b, g); err != nil {
		t.Fatal(err)
	}
	want := "timestamp,value\n2026-01-05T00:00:00Z,1.5\n2026-01-05T00:01:30Z,\n2026-01-05T00:03:00Z,0\n2026-01-05T00:04:30Z,0.3333333333333333\n"
	if b.String() != want {
		t.Fatalf("wrote %q, want %q", b.String(), want)
	}
	got, err := ParseTrace(strings.NewReader(b.String()), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	sameGrid(t, g, got)
}
