package file

import (
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/metrics"
)

// The fuzz targets read arbitrary input with each reader: it must not
// panic, what it accepts must keep the format's promises, and writing
// what it read and reading that again must give the same values. The
// seeds are the test tables' inputs.

// maxRoundTrip bounds the cells a fuzz target writes back.
const maxRoundTrip = 100_000

func FuzzParseTrace(f *testing.F) {
	for _, tt := range traceTests {
		f.Add(tt.in)
	}
	for _, tt := range traceErrorTests {
		f.Add(tt.in)
	}
	f.Add(exported)
	f.Fuzz(func(t *testing.T, in string) {
		g, err := ParseTrace(strings.NewReader(in), "f.csv")
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkGrid(t, g)
		traceRoundTrip(t, g)
	})
}

// traceRoundTrip checks that a grid a reader accepted is written as a
// trace and read back to the same values (up to maxRoundTrip steps).
func traceRoundTrip(t *testing.T, g *metrics.Grid) {
	t.Helper()
	if len(g.Values) > maxRoundTrip {
		return
	}
	var b strings.Builder
	if err := WriteTrace(&b, g); err != nil {
		t.Fatal(err)
	}
	again, err := ParseTrace(strings.NewReader(b.String()), "f.csv")
	if err != nil {
		t.Fatalf("reading back %q: %v", b.String(), err)
	}
	sameGrid(t, g, again)
}

// FuzzParseTraceZone reads a trace with its timestamps without a zone in
// Europe/Paris, where hours repeat and vanish.
func FuzzParseTraceZone(f *testing.F) {
	o := paris(f)
	for _, in := range []string{fallBack, springForward, fallBack + "2026-10-25 02:00:00,8\n"} {
		f.Add(in)
	}
	for _, tt := range traceTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		g, err := o.ParseTrace(strings.NewReader(in), "f.csv")
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkGrid(t, g)
		traceRoundTrip(t, g)
	})
}

func FuzzParseSignalsTrace(f *testing.F) {
	for _, tt := range signalsTraceTests {
		f.Add(exported, tt.service)
	}
	for _, tt := range signalsTraceErrorTests {
		f.Add(tt.in, tt.service)
	}
	f.Fuzz(func(t *testing.T, in, service string) {
		g, err := ParseSignalsTrace(strings.NewReader(in), "f.csv", service)
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkGrid(t, g)
		traceRoundTrip(t, g)
	})
}

func FuzzParseSignals(f *testing.F) {
	f.Add(exported)
	for _, tt := range signalsErrorTests {
		f.Add(tt.csv)
	}
	for _, tt := range signalsTraceErrorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rec, err := ParseSignals(strings.NewReader(in), "f.csv")
		if err != nil {
			checkParseError(t, err)
			return
		}
		if rec.Step <= 0 || rec.Len < 1 || rec.Len > maxSteps || len(rec.Services) == 0 {
			t.Fatalf("grid %v × %d, services %q", rec.Step, rec.Len, rec.Services)
		}
		for _, svc := range rec.Services {
			if svc == "" || len(rec.Values[svc]) == 0 {
				t.Fatalf("service %q with signals %v", svc, rec.Values[svc])
			}
			for sig, vs := range rec.Values[svc] {
				if len(vs) != rec.Len {
					t.Fatalf("%s %s: %d values, want %d", svc, sig, len(vs), rec.Len)
				}
				checkValues(t, vs)
			}
		}
		if rec.Len*len(rec.Services) > maxRoundTrip {
			return
		}
		var b strings.Builder
		if err := WriteSignals(&b, rec); err != nil {
			t.Fatal(err)
		}
		again, err := ParseSignals(strings.NewReader(b.String()), "f.csv")
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		sameRecording(t, rec, again)
	})
}

func FuzzParseForecastInput(f *testing.F) {
	for _, tc := range forecastInputTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		series, err := ParseForecastInput(strings.NewReader(in), "f.csv")
		if err != nil {
			checkParseError(t, err)
			return
		}
		n := 0
		for _, s := range series {
			if s.Name == "" || len(s.Values) == 0 || len(s.Values) > maxSteps {
				t.Fatalf("series %q of %d values", s.Name, len(s.Values))
			}
			for _, v := range s.Values {
				if math.IsInf(v, 0) {
					t.Fatalf("series %q: %v", s.Name, s.Values)
				}
			}
			n += len(s.Values)
		}
		if n > maxRoundTrip {
			return
		}
		var b strings.Builder
		if err := WriteForecastInput(&b, series); err != nil {
			t.Fatal(err)
		}
		again, err := ParseForecastInput(strings.NewReader(b.String()), "f.csv")
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		if len(again) != len(series) {
			t.Fatalf("read back %d series, want %d", len(again), len(series))
		}
		for i := range series {
			if again[i].Name != series[i].Name || !sameValues(again[i].Values, series[i].Values) {
				t.Fatalf("read back %q %v, want %q %v", again[i].Name, again[i].Values, series[i].Name, series[i].Values)
			}
		}
	})
}

func FuzzParseForecasts(f *testing.F) {
	for _, tc := range forecastErrorTests {
		f.Add(tc.in)
	}
	f.Add(h + "web,1,1.5,1,2\nweb,2,0.1,NaN,+Inf\n\"a,b\",1,-3,-4,1e-300\n")
	f.Fuzz(func(t *testing.T, in string) {
		fcs, err := ParseForecasts(strings.NewReader(in), "f.csv")
		if err != nil {
			checkParseError(t, err)
			return
		}
		for _, fc := range fcs {
			if fc.Series == "" || len(fc.Values) == 0 || len(fc.Lo) != len(fc.Values) || len(fc.Hi) != len(fc.Values) {
				t.Fatalf("forecast %+v", fc)
			}
		}
		var b strings.Builder
		if err := WriteForecasts(&b, fcs); err != nil {
			t.Fatal(err)
		}
		again, err := ParseForecasts(strings.NewReader(b.String()), "f.csv")
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		if len(again) != len(fcs) {
			t.Fatalf("read back %d forecasts, want %d", len(again), len(fcs))
		}
		for i, fc := range fcs {
			a := again[i]
			if a.Series != fc.Series || !sameValues(a.Values, fc.Values) || !sameValues(a.Lo, fc.Lo) || !sameValues(a.Hi, fc.Hi) {
				t.Fatalf("read back %+v, want %+v", a, fc)
			}
		}
	})
}

// checkParseError fails unless err is a *ParseError of f.csv.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	pe, ok := err.(*ParseError)
	if !ok || pe.File != "f.csv" || pe.Line < 0 || !strings.HasPrefix(err.Error(), "f.csv") {
		t.Fatalf("error %v (%T) is not a ParseError of f.csv", err, err)
	}
}

// checkGrid fails unless g keeps a trace's promises: a step, two steps or
// more within the limit, within years 0000–9999, values ≥ 0 or NaN.
func checkGrid(t *testing.T, g *metrics.Grid) {
	t.Helper()
	if g.Step <= 0 || len(g.Values) < 2 || len(g.Values) > maxSteps {
		t.Fatalf("grid of step %v and %d values", g.Step, len(g.Values))
	}
	if g.Start.Before(minTime) || g.End().Add(-g.Step).After(maxTime) {
		t.Fatalf("grid from %v to %v", g.Start, g.End())
	}
	checkValues(t, g.Values)
}

// checkValues fails unless every value is ≥ 0 or NaN.
func checkValues(t *testing.T, vs []float64) {
	t.Helper()
	for i, v := range vs {
		if !(v >= 0 && !math.IsInf(v, 0) || math.IsNaN(v)) {
			t.Fatalf("value %d is %v", i, v)
		}
	}
}

// sameGrid fails unless a and b are the same grid, NaN equal to NaN.
func sameGrid(t *testing.T, a, b *metrics.Grid) {
	t.Helper()
	if !a.Start.Equal(b.Start) || a.Step != b.Step || !sameValues(a.Values, b.Values) {
		t.Fatalf("read back %v %v %v, want %v %v %v", b.Start, b.Step, b.Values, a.Start, a.Step, a.Values)
	}
}

// sameRecording fails unless b has a's grid, services and values (a
// signal a lacks is all NaN in b).
func sameRecording(t *testing.T, a, b *Recording) {
	t.Helper()
	if !a.Start.Equal(b.Start) || a.Step != b.Step || a.Len != b.Len || strings.Join(a.Services, "\x00") != strings.Join(b.Services, "\x00") {
		t.Fatalf("read back %v %v × %d %q, want %v %v × %d %q", b.Start, b.Step, b.Len, b.Services, a.Start, a.Step, a.Len, a.Services)
	}
	for _, svc := range a.Services {
		for _, sig := range metrics.Signals {
			want, ok := a.Values[svc][sig]
			if !ok {
				want = nans(a.Len)
			}
			if got := b.Values[svc][sig]; !sameValues(got, want) {
				t.Fatalf("%s %s: read back %v, want %v", svc, sig, got, want)
			}
		}
	}
}
