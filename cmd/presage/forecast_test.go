package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats/scalar"
)

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
		{name: "bad row", args: []string{"-in", bad, "-horizon", "3"}, code: 1, want: "bad.csv:3: value"},
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
