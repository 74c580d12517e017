package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/promtest"
	"github.com/presage-dev/presage/metrics/file"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"now", now, true},
		{"-2h", now.Add(-2 * time.Hour), true},
		{"2h", now.Add(-2 * time.Hour), true},
		{"-7d", now.Add(-7 * 24 * time.Hour), true},
		{"-1h30m", now.Add(-90 * time.Minute), true},
		{"2026-01-05T00:00:00Z", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), true},
		{"2026-01-05T01:00:00+01:00", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"-", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTime(tt.in, now)
			if (err == nil) != tt.ok || tt.ok && !got.Equal(tt.want) {
				t.Errorf("parseTime(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := promConfig(t, dir, "p.yaml", "http://"+promtest.FreeAddr(t), time.Minute, promService{name: "a", peak: 1})
	out := filepath.Join(dir, "out.csv")
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no -from", []string{"-config", cfg, "-out", out}, 2, "-from and -out are required"},
		{"no -out", []string{"-config", cfg, "-from", "-1h"}, 2, "-from and -out are required"},
		{"bad -from", []string{"-config", cfg, "-from", "yesterday", "-out", out}, 2, "-from: want RFC 3339"},
		{"bad -to", []string{"-config", cfg, "-from", "-1h", "-to", "soon", "-out", out}, 2, "-to: want RFC 3339"},
		{"bad -step", []string{"-config", cfg, "-from", "-1h", "-step", "fast", "-out", out}, 2, `-step: invalid duration "fast"`},
		{"to before from", []string{"-config", cfg, "-from", "-1h", "-to", "-2h", "-out", out}, 1, "is before -from"},
		{"sim source", []string{"-config", examplePath, "-from", "-1h", "-out", out}, 1, `source kind "sim"`},
		{"unreachable", []string{"-config", cfg, "-from", "-1h", "-out", out}, 1, "connection"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, append([]string{"export"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%v", r.code, tt.code, tt.want, r)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the output file was written")
			}
		})
	}
}

// TestExportAndReplay backfills two hours of two services into a real
// Prometheus, exports them with `presage export`, checks the CSV (a NaN and
// a long gap are empty cells, never zeros) and replays the exported load.
func TestExportAndReplay(t *testing.T) {
	t.Parallel()
	const step = time.Minute
	end := time.Now().Truncate(step).Add(-step)
	start := end.Add(-2 * time.Hour)
	load := func(ts time.Time) float64 { return 50 + 40*math.Sin(float64(ts.Sub(start))/float64(time.Hour)) }
	nanAt := start.Add(30 * time.Minute)
	gapFrom, gapTo := start.Add(60*time.Minute), start.Add(80*time.Minute) // search has no samples
	var om strings.Builder
	for _, m := range []struct {
		name  string
		value func(svc string, ts time.Time) float64
	}{
		{"exp_latency", func(svc string, ts time.Time) float64 { return load(ts) / 200 }},
		{"exp_requests", func(svc string, ts time.Time) float64 {
			if svc == "checkout" && ts.Equal(nanAt) {
				return math.NaN()
			}
			return load(ts)
		}},
		{"exp_pool_in_use", func(svc string, ts time.Time) float64 { return math.Round(load(ts) / 4) }},
		{"exp_pool_limit", func(svc string, ts time.Time) float64 { return 50 }},
	} {
		fmt.Fprintf(&om, "# TYPE %s gauge\n", m.name)
		for _, svc := range []string{"checkout", "search"} {
			for ts := start; !ts.After(end); ts = ts.Add(step) {
				if svc == "search" && !ts.Before(gapFrom) && ts.Before(gapTo) {
					continue
				}
				fmt.Fprintf(&om, "%s{service=%q} %s %d\n", m.name, svc, strconv.FormatFloat(m.value(svc, ts), 'g', -1, 64), ts.Unix())
			}
		}
	}
	om.WriteString("# EOF\n")
	prom := promtest.Start(t, promtest.Options{OpenMetrics: []byte(om.String())})

	dir := t.TempDir()
	cfg := writeTestFile(t, dir, "presage.yaml", fmt.Sprintf(`global: {interval: 1m, listen: ""}
source:
  kind: prometheus
  prometheus: {url: %q}
services:
`, prom.URL)+serviceYAML("checkout")+serviceYAML("search"))
	out := filepath.Join(dir, "exported.csv")
	r := cli(t, "export", "-config", cfg, "-from", start.Format(time.RFC3339), "-to", end.Format(time.RFC3339), "-out", out)
	if r.code != 0 {
		t.Fatalf("export: %v", r)
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
	if got, want := strings.Join(rows[0], ","), "timestamp,service,latency,requests,pool_in_use,pool_limit"; got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	points := int(end.Sub(start)/step) + 1
	if got, want := len(rows)-1, 2*points; got != want {
		t.Fatalf("%d rows, want %d (a row per service and minute)", got, want)
	}
	for i, row := range rows[1:] {
		ts, err := time.Parse(time.RFC3339, row[0])
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		svc := row[1]
		if want := []string{"checkout", "search"}[i%2]; svc != want || !ts.Equal(start.Add(time.Duration(i/2)*step)) {
			t.Fatalf("row %d is %s %s, want %s %s", i+1, row[0], svc, want, start.Add(time.Duration(i/2)*step).Format(time.RFC3339))
		}
		req := row[3]
		inGap := svc == "search" && !ts.Before(gapFrom) && ts.Before(gapTo)
		switch {
		case svc == "checkout" && ts.Equal(nanAt):
			if req != "" || row[2] == "" {
				t.Errorf("row %d (%s %s, requests NaN): %v, want the requests cell empty, the others not", i+1, row[0], svc, row[2:])
			}
		case inGap && ts.Before(gapFrom.Add(5*time.Minute)):
			// Prometheus 2.42 ignores lookback_delta and fills the first 5
			// minutes of a gap with the last value (a newer one does not).
		case inGap:
			if strings.Join(row[2:], "") != "" {
				t.Errorf("row %d (%s %s, no samples): %v, want empty cells", i+1, row[0], svc, row[2:])
			}
		default:
			if v, err := strconv.ParseFloat(req, 64); err != nil || math.Abs(v-load(ts)) > 1e-9 {
				t.Errorf("row %d (%s %s): requests %q, want %v", i+1, row[0], svc, req, load(ts))
			}
			if row[5] != "50" {
				t.Errorf("row %d: pool_limit %q, want 50", i+1, row[5])
			}
		}
	}

	// The exported load reads as a trace, and replays.
	tr, err := file.ReadTrace(out)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Start.Equal(start) || tr.Step != step || len(tr.Values) != points || !math.IsNaN(tr.At(nanAt)) {
		t.Errorf("trace from the export: %s %v %d values (NaN at %s: %v), want %s 1m %d with NaN there",
			tr.Start, tr.Step, len(tr.Values), nanAt, tr.At(nanAt), start, points)
	}
	rep := cli(t, "replay", "-config", "../../testdata/replay.short.yaml", "-trace", out, "-policies", "none,reactive")
	if rep.code != 0 || !strings.Contains(rep.stdout, "reactive") {
		t.Errorf("replay of the exported load: %v", rep)
	}
}

func serviceYAML(name string) string {
	return fmt.Sprintf(`  - name: %s
    signals:
      latency: {query: "sum by (service) (exp_latency)"}
      requests: {query: "sum by (service) (exp_requests)"}
      pool_in_use: {query: "sum by (service) (exp_pool_in_use)"}
      pool_limit: {query: "sum by (service) (exp_pool_limit)"}
    incident: {above: 0.5}
`, name)
}

// TestWarmStartFromPrometheus backfills two hours of history with promtool
// before Prometheus starts and runs `presage recommend` against it: the
// first step loads the history through Range and fits a model on it,
// instead of waiting two hours.
func TestWarmStartFromPrometheus(t *testing.T) {
	if testing.Short() && os.Getenv("PRESAGE_BIN") == "" {
		t.Skip("-short")
	}
	t.Parallel()
	const step = time.Minute
	end := time.Now().Truncate(step)
	start := end.Add(-2 * time.Hour)
	var om strings.Builder
	for _, name := range []string{"exp_latency", "exp_requests", "exp_pool_in_use", "exp_pool_limit"} {
		fmt.Fprintf(&om, "# TYPE %s gauge\n", name)
		for ts := start; ts.Before(end); ts = ts.Add(step) {
			v := 50 + 20*math.Sin(float64(ts.Sub(start))/float64(20*time.Minute))
			if name == "exp_latency" {
				v /= 500
			}
			fmt.Fprintf(&om, "%s{service=\"checkout\"} %g %d\n", name, v, ts.Unix())
		}
	}
	om.WriteString("# EOF\n")
	prom := promtest.Start(t, promtest.Options{OpenMetrics: []byte(om.String())})
	cfg := writeTestFile(t, t.TempDir(), "presage.yaml", fmt.Sprintf(`global: {interval: 1m, history: 2h, listen: ""}
source:
  kind: prometheus
  prometheus: {url: %q}
`, prom.URL)+"services:\n"+serviceYAML("checkout")+"    forecast: {period: 0, horizon: 10m}\n")
	p, base := startLoop(t, "recommend", cfg, "-json")
	m := p.waitFor(t, &p.stderr, regexp.MustCompile(`msg="warm start: history loaded" service=checkout samples=(\d+)`), waitTimeout)
	if n, _ := strconv.Atoi(m[1]); n < 110 || n > 121 {
		t.Errorf("warm start loaded %d samples, want the two hours backfilled (about 120)", n)
	}
	eventually(t, waitTimeout, "a model fitted on the first step", func() bool {
		v, _ := metric(base+"/metrics", "presage_model_refits_total", "service", "checkout", "result", "ok")
		return v >= 1
	})
	if v, _ := metric(base+"/metrics", "presage_decisions_total", "service", "checkout"); v != 1 {
		t.Errorf("%v decisions, want the first step's only (interval 1m)", v)
	}
	stop(t, p)
}
