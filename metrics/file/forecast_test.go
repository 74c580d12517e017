package file

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseForecastInput(t *testing.T) {
	for _, tc := range forecastInputTests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForecastInput(strings.NewReader(tc.in), "in.csv")
			if tc.err != "" {
				var pe *ParseError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &pe) || pe.File != "in.csv" {
					t.Fatalf("error %v, want a ParseError of in.csv containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d series, want %d", len(got), len(tc.want))
			}
			for _, s := range got {
				want := tc.want[s.Name]
				if len(s.Values) != len(want) {
					t.Fatalf("series %s: %v, want %v", s.Name, s.Values, want)
				}
				for i := range want {
					if !(s.Values[i] == want[i] || math.IsNaN(s.Values[i]) && math.IsNaN(want[i])) {
						t.Fatalf("series %s: %v, want %v", s.Name, s.Values, want)
					}
				}
			}
		})
	}
}

func TestWriteForecasts(t *testing.T) {
	fcs := []Forecast{
		{Series: "web", Values: []float64{1.5, 0.1}, Lo: []float64{1, math.NaN()}, Hi: []float64{2, math.Inf(1)}},
		{Series: "a,b", Values: []float64{-3}, Lo: []float64{-4}, Hi: []float64{1e-300}},
	}
	var b strings.Builder
	if err := WriteForecasts(&b, fcs); err != nil {
		t.Fatal(err)
	}
	want := "series,step,forecast,lo,hi\nweb,1,1.5,1,2\nweb,2,0.1,NaN,+Inf\n\"a,b\",1,-3,-4,1e-300\n"
	if b.String() != want {
		t.Fatalf("wrote\n%s\nwant\n%s", b.String(), want)
	}
	got, err := ParseForecasts(strings.NewReader(b.String()), "out.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fcs) {
		t.Fatalf("read %d forecasts, want %d", len(got), len(fcs))
	}
	for i := range fcs {
		if got[i].Series != fcs[i].Series || !sameValues(got[i].Values, fcs[i].Values) ||
			!sameValues(got[i].Lo, fcs[i].Lo) || !sameValues(got[i].Hi, fcs[i].Hi) {
			t.Errorf("read %+v, want %+v", got[i], fcs[i])
		}
	}
}

func TestParseForecastsErrors(t *testing.T) {
	for _, tc := range forecastErrorTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseForecasts(strings.NewReader(tc.in), "out.csv")
			var pe *ParseError
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.As(err, &pe) {
				t.Errorf("error %v, want a ParseError starting %q", err, tc.want)
			}
		})
	}
}

func TestWriteForecastInput(t *testing.T) {
	in := []Series{{Name: " x", Values: []float64{1, math.NaN(), -2.5}}, {Name: "y", Values: []float64{math.NaN()}}}
	var b strings.Builder
	if err := WriteForecastInput(&b, in); err != nil {
		t.Fatal(err)
	}
	if want := "series,timestamp,value\n\" x\",0,1\n\" x\",1,\n\" x\",2,-2.5\ny,0,\n"; b.String() != want {
		t.Fatalf("wrote %q, want %q", b.String(), want)
	}
	got, err := ParseForecastInput(strings.NewReader(b.String()), "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if got[i].Name != in[i].Name || !sameValues(got[i].Values, in[i].Values) {
			t.Errorf("read %+v, want %+v", got[i], in[i])
		}
	}
}

var forecastInputTests = []struct {
	name string
	in   string
	want map[string][]float64
	err  string // in the error, "" for none
}{
	{
		name: "integer index with a gap and interleaved series",
		in:   "series,timestamp,value\na,0,1\nb,10,5\na,1,2\nb,12,7\na,3,4\n",
		want: map[string][]float64{"a": {1, 2, nan, 4}, "b": {5, 7}},
	},
	{
		name: "rfc 3339 and missing values",
		in:   "series,timestamp,value\nx,2026-01-05T00:00:00Z,1\nx,2026-01-05T00:05:00Z,\nx,2026-01-05T00:10:00Z,NaN\nx,2026-01-05T00:20:00Z,4\n",
		want: map[string][]float64{"x": {1, nan, nan, nan, 4}},
	},
	{name: "one row", in: "series,timestamp,value\nx,7,3\n", want: map[string][]float64{"x": {3}}},
	{name: "empty", in: "", err: "in.csv: want the header series,timestamp,value: file: no data rows"},
	{name: "bad header", in: "name,time,value\nx,1,2\n", err: "in.csv:1: header"},
	{name: "no rows", in: "series,timestamp,value\n", err: "in.csv: file: no data rows"},
	{name: "bad value", in: "series,timestamp,value\nx,1,2\nx,2,abc\n", err: `in.csv:3: value "abc" is not a number`},
	{name: "bad timestamp", in: "series,timestamp,value\nx,yesterday,2\n", err: "in.csv:2: timestamp"},
	{name: "out of order", in: "series,timestamp,value\nx,2,1\nx,1,2\n", err: "in.csv:3: series \"x\": timestamp 1 not after the one on line 2"},
	{name: "duplicate time", in: "series,timestamp,value\nx,2,1\nx,2,2\n", err: "in.csv:3: series \"x\": timestamp 2 not after"},
	{name: "mixed timestamps", in: "series,timestamp,value\nx,1,1\nx,2026-01-05T00:00:00Z,2\n", err: "in.csv:3: series \"x\" mixes"},
	{name: "off the step", in: "series,timestamp,value\nx,0,1\nx,2,1\nx,5,1\n", err: "in.csv:4: series \"x\": timestamp off the regular step"},
	{name: "wrong field count", in: "series,timestamp,value\nx,1\n", err: "in.csv:2: wrong number of fields"},
	{name: "empty name", in: "series,timestamp,value\n,1,2\n", err: "in.csv:2: empty series name"},
	{name: "byte order mark and case in the header", in: "\ufeffSeries, Timestamp ,VALUE\nx,0,1\nx,1,-2\n", want: map[string][]float64{"x": {1, -2}}},
	{name: "infinite is missing", in: "series,timestamp,value\nx,0,Inf\nx,1,2\n", want: map[string][]float64{"x": {nan, 2}}},
	{name: "integers too far apart", in: "series,timestamp,value\nx,-9000000000000000000,1\nx,9000000000000000000,2\n", err: "in.csv:3: series \"x\": timestamp too far"},
	{name: "too long", in: "series,timestamp,value\nx,0,1\nx,1,1\nx,20000000,1\n", err: "in.csv:4: series \"x\" spans 20000001 steps"},
	{name: "time out of range", in: "series,timestamp,value\nx,3000-01-01T00:00:00Z,1\n", err: "in.csv:2: timestamp \"3000-01-01T00:00:00Z\": want a time within years 1678–2262"},
}

var forecastErrorTests = []struct{ name, in, want string }{
	{"empty", "", "out.csv: want the header series,step,forecast,lo,hi: file: no data rows"},
	{"header only", h, "out.csv: file: no data rows"},
	{"bad header", "series,step,value,lo,hi\n", "out.csv:1: header"},
	{"step not from 1", h + "a,2,1,1,1\n", `out.csv:2: series "a": step "2", want 1`},
	{"step skipped", h + "a,1,1,1,1\na,3,1,1,1\n", `out.csv:3: series "a": step "3", want 2`},
	{"rows apart", h + "a,1,1,1,1\nb,1,1,1,1\na,2,1,1,1\n", `out.csv:4: series "a": its rows are not together`},
	{"bad number", h + "a,1,1,x,1\n", `out.csv:2: lo: value "x" is not a number`},
	{"empty name", h + ",1,1,1,1\n", "out.csv:2: empty series name"},
	{"field count", h + "a,1,1\n", "out.csv:2: wrong number of fields"},
}

// h is the header of a forecast output.
const h = "series,step,forecast,lo,hi\n"
