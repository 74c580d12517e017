package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats/scalar"

	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/model/eval"
)

func TestReadForecastInput(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
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
		{name: "empty", in: "", err: "empty input"},
		{name: "bad header", in: "name,time,value\nx,1,2\n", err: "line 1: header"},
		{name: "no rows", in: "series,timestamp,value\n", err: "no rows"},
		{name: "bad value", in: "series,timestamp,value\nx,1,2\nx,2,abc\n", err: "line 3: value"},
		{name: "bad timestamp", in: "series,timestamp,value\nx,yesterday,2\n", err: "line 2: timestamp"},
		{name: "out of order", in: "series,timestamp,value\nx,2,1\nx,1,2\n", err: "line 3: series \"x\": timestamp 1 not after the one on line 2"},
		{name: "duplicate time", in: "series,timestamp,value\nx,2,1\nx,2,2\n", err: "line 3"},
		{name: "mixed timestamps", in: "series,timestamp,value\nx,1,1\nx,2026-01-05T00:00:00Z,2\n", err: "line 3: series \"x\" mixes"},
		{name: "off the step", in: "series,timestamp,value\nx,0,1\nx,2,1\nx,5,1\n", err: "line 4"},
		{name: "wrong field count", in: "series,timestamp,value\nx,1\n", err: "line 2"},
		{name: "empty name", in: "series,timestamp,value\n,1,2\n", err: "line 2: empty series name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readForecastInput(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
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
				want := tc.want[s.name]
				if len(s.values) != len(want) {
					t.Fatalf("series %s: %v, want %v", s.name, s.values, want)
				}
				for i := range want {
					if !(s.values[i] == want[i] || math.IsNaN(s.values[i]) && math.IsNaN(want[i])) {
						t.Fatalf("series %s: %v, want %v", s.name, s.values, want)
					}
				}
			}
		})
	}
}

func TestParsePeriods(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "0", want: nil},
		{in: "24", want: []int{24}},
		{in: "24,168", want: []int{24, 168}},
		{in: "1", want: nil},
		{in: "-3", err: true},
		{in: "a", err: true},
		{in: "2,3,4", err: true},
	} {
		got, err := parsePeriods(tc.in)
		if (err != nil) != tc.err || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parsePeriods(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// hourlyCSV writes series of hours with a daily cycle in the forecast
// input format.
func hourlyCSV(t *testing.T, dir string, names []string, hours int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("series,timestamp,value\n")
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for k, name := range names {
		for i := range hours {
			v := 100 + 10*float64(k) + 30*math.Sin(2*math.Pi*float64(i)/24) + float64(i%7)
			fmt.Fprintf(&b, "%s,%s,%g\n", name, start.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), v)
		}
	}
	return writeTestFile(t, dir, "in.csv", b.String())
}

func TestForecastCommand(t *testing.T) {
	dir := t.TempDir()
	in := hourlyCSV(t, dir, []string{"web", "db", "api"}, 24*14)
	out := filepath.Join(dir, "out.csv")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "auto, detected period", args: []string{"-horizon", "24"}},
		{name: "auto, two periods", args: []string{"-horizon", "24", "-period", "24,168", "-level", "0.9"}},
		{name: "holt-winters", args: []string{"-horizon", "5", "-model", "holt-winters", "-period", "24"}},
		{name: "one worker", args: []string{"-horizon", "3", "-workers", "1", "-model", "ar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"forecast", "-in", in, "-out", out}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			h, _ := strconv.Atoi(tc.args[1])
			if got := strings.Join(rows[0], ","); got != "series,step,forecast,lo,hi" {
				t.Fatalf("header %q", got)
			}
			if len(rows) != 1+3*h {
				t.Fatalf("%d rows, want %d", len(rows), 1+3*h)
			}
			for i, row := range rows[1:] {
				if want := []string{"web", "db", "api"}[i/h]; row[0] != want || row[1] != strconv.Itoa(i%h+1) {
					t.Fatalf("row %d = %v, want series %s step %d", i+1, row, want, i%h+1)
				}
				fc, _ := strconv.ParseFloat(row[2], 64)
				lo, _ := strconv.ParseFloat(row[3], 64)
				hi, _ := strconv.ParseFloat(row[4], 64)
				if !(lo <= fc+1e-9 && fc <= hi+1e-9) || math.IsNaN(fc) {
					t.Fatalf("row %v: want lo <= forecast <= hi", row)
				}
				// The series is a clean daily cycle: the forecast is close.
				k := []float64{0, 10, 20}[i/h]
				j := 24*14 + i%h
				want := 100 + k + 30*math.Sin(2*math.Pi*float64(j)/24) + float64(j%7)
				if !scalar.EqualWithinAbs(fc, want, 8) {
					t.Fatalf("row %v: forecast %.2f, want about %.2f", row, fc, want)
				}
			}
		})
	}
}

func TestForecastCommandErrors(t *testing.T) {
	dir := t.TempDir()
	good := hourlyCSV(t, dir, []string{"a"}, 100)
	bad := writeTestFile(t, dir, "bad.csv", "series,timestamp,value\na,1,2\na,2,x\n")
	short := writeTestFile(t, dir, "short.csv", "series,timestamp,value\na,1,2\nb,1,2\nb,2,3\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{name: "no input", args: []string{"-horizon", "3"}, code: 2, want: "-in is required"},
		{name: "no horizon", args: []string{"-in", good}, code: 2, want: "-horizon must be ≥ 1"},
		{name: "bad level", args: []string{"-in", good, "-horizon", "3", "-level", "1"}, code: 2, want: "-level"},
		{name: "bad model", args: []string{"-in", good, "-horizon", "3", "-model", "arima"}, code: 2, want: `unknown model "arima"`},
		{name: "bad period", args: []string{"-in", good, "-horizon", "3", "-period", "x"}, code: 2, want: "-period"},
		{name: "bad row", args: []string{"-in", bad, "-horizon", "3"}, code: 1, want: "line 3: value"},
		{name: "missing file", args: []string{"-in", filepath.Join(dir, "nope.csv"), "-horizon", "3"}, code: 1, want: "nope.csv"},
		{name: "series too short", args: []string{"-in", short, "-horizon", "3"}, code: 1, want: `series "a"`},
		{name: "bad eval models", args: []string{"-eval", "-models", "x"}, code: 2, want: "-models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"forecast"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q in stderr\n%v", r.code, tc.code, tc.want, r)
			}
		})
	}
}

func TestForecastEvalWithoutData(t *testing.T) {
	t.Setenv("PRESAGE_DATA", "")
	r := cli(t, "forecast", "-eval", "-data", filepath.Join(t.TempDir(), "none"))
	if r.code != 0 || !strings.Contains(r.stderr, "skipped") {
		t.Errorf("want exit 0 and a skip message\n%v", r)
	}
}

// TestForecastEval runs the harness on the shared data when it is there.
func TestForecastEval(t *testing.T) {
	if os.Getenv("PRESAGE_DATA") == "" {
		t.Skip("skipping: PRESAGE_DATA is not set (the shared data folder, ../shared/data)")
	}
	if testing.Short() {
		t.Skip("-short: the evaluation takes a while")
	}
	r := cli(t, "forecast", "-eval", "-models", "seasonal-naive,auto")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	for _, want := range []string{"M4 Hourly, last 48", "rolling origin", "NASA-HTTP", "naive2", "auto"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q\n%s", want, r.stdout)
		}
	}
	t.Log(r.stdout)
}

// BenchmarkForecastM4Hourly forecasts all 414 M4 Hourly series 48 hours
// ahead in auto mode with 500 paths each, on every core: what presage
// forecast does after reading its input.
func BenchmarkForecastM4Hourly(b *testing.B) {
	dir, err := eval.DataDir("")
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	m4, err := eval.LoadM4Hourly(dir)
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	series := make([]inputSeries, len(m4))
	for i, s := range m4 {
		series[i] = inputSeries{name: s.ID, values: s.Values}
	}
	base := model.Settings{Model: model.NameAuto, Horizon: 48, Seed: 1}
	for b.Loop() {
		if _, err := forecastAll(context.Background(), series, base, []int{24, 168}, 48, 0.8, 500, runtime.GOMAXPROCS(0)); err != nil {
			b.Fatal(err)
		}
	}
}
