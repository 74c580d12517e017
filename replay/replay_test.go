package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/internal/testutil"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadTestConfig(t testing.TB, name string) *config.Config {
	t.Helper()
	cfg, err := config.LoadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func replay(t testing.TB, cfg *config.Config, modes ...policy.Mode) *Report {
	t.Helper()
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Policies: modes, Detail: true})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestDetailKeepsScores: a replay that keeps only the records with actions
// (the default) scores and logs exactly what one that keeps every record
// does, and refuses to draw the report.
func TestDetailKeepsScores(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Sim.Load.Duration = config.Duration(2 * 24 * time.Hour)
	}
	var reps [2]*Report
	var logs [2]bytes.Buffer
	for i, detail := range []bool{false, true} {
		rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteDecisions(&logs[i]); err != nil {
			t.Fatal(err)
		}
		reps[i] = rep
	}
	if logs[0].Len() == 0 || !bytes.Equal(logs[0].Bytes(), logs[1].Bytes()) {
		t.Errorf("decision logs differ without and with detail:\n%s\n---\n%s", logs[0].String(), logs[1].String())
	}
	if !reflect.DeepEqual(reps[0].Policies, reps[1].Policies) {
		t.Errorf("scores differ without and with detail:\n%+v\n%+v", reps[0].Policies, reps[1].Policies)
	}
	for k, r := range reps[0].Runs {
		if r.Policy == policy.None {
			continue
		}
		d := r.Decisions.Service(cfg.Services[0].Name)
		if d.Len() == 0 || d.Len() != reps[1].Runs[k].Decisions.Service(cfg.Services[0].Name).Len() || d.Records() != nil {
			t.Errorf("%s without detail: %d levels, records %v", r.Policy, d.Len(), d.Records() != nil)
		}
	}
	if err := reps[0].WriteHTML(io.Discard); err == nil {
		t.Error("WriteHTML without detail: no error")
	}
}

// TestGoldenDecisions compares the decision log of a short replay with
// testdata/golden/replay.decisions; -update rewrites it.
func TestGoldenDecisions(t *testing.T) {
	rep, err := Replay(context.Background(), ReplayOptions{Config: loadTestConfig(t, "testdata/replay.short.yaml"), FullPaths: os.Getenv("FULLPATHS") != ""})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := rep.WriteDecisions(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "testdata", "golden", "replay.decisions")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./sim -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("decision log differs from %s (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", golden, got.String(), want)
	}
	if !strings.Contains(got.String(), " predictive checkout Escalate engage ") {
		t.Errorf("the golden replay has no predictive escalation")
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	a, _ := json.Marshal(replay(t, cfg))
	b, _ := json.Marshal(replay(t, cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("two replays of the same input differ")
	}
}

func TestReplayPolicyOrderAndBaseline(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	rep := replay(t, cfg, policy.Predictive, policy.Reactive)
	if len(rep.Policies) != 2 || rep.Policies[0].Name != "predictive" || rep.Policies[1].Name != "reactive" {
		t.Fatalf("policies = %+v", rep.Policies)
	}
	// The 'none' run is the counterfactual even when not asked for.
	if rep.Policies[0].NoneIncidents == 0 {
		t.Error("no 'none' incidents to measure lead time against")
	}
	if rep.Policies[0].LeadTimeMinutes.Median == nil {
		t.Error("predictive has no lead time")
	}
}

// TestExampleReplay is the README's claim: on the example config,
// predictive has fewer incidents than reactive, and reactive fewer breach
// minutes than none, at comparable cost.
func TestExampleReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of replay; skipped with -short")
	}
	rep := replay(t, loadTestConfig(t, "config.example.yaml"))
	by := byPolicy(t, rep, "")
	reactive, predictive := by["reactive"], by["predictive"]
	if predictive.Cost.Total > 1.25*reactive.Cost.Total {
		t.Errorf("predictive cost %.0f is more than 1.25× reactive's %.0f", predictive.Cost.Total, reactive.Cost.Total)
	}
}

func TestReplayTraceOverride(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := &metrics.Grid{Start: start, Step: time.Minute, Values: make([]float64, 600)}
	for i := range tr.Values {
		tr.Values[i] = float64(i % 100)
	}
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: tr, Policies: []policy.Mode{policy.None}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Start.Equal(start) || rep.End.Sub(rep.Start) != 600*time.Minute {
		t.Errorf("replay spans %s..%s, want the trace's 10 hours from %s", rep.Start, rep.End, start)
	}
	steps := rep.Runs[0].Steps["checkout"]
	var peak float64
	for _, s := range steps {
		peak = max(peak, s.Load)
	}
	// Scaled so that the 0.99-quantile of 0..99 (98.01) is sim.load.peak
	// (1.4) × capacity min(130, 90).
	if want := 99 * 1.4 * 90 / 98.01; peak < want-1e-9 || peak > want+1e-9 {
		t.Errorf("trace peak %.3f, want %.3f", peak, want)
	}
}

// TestWorkersKeepDecisions steps the services one after the other and on
// several goroutines: the decisions are the same.
func TestWorkersKeepDecisions(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Sim.Load.Duration = config.Duration(2 * 24 * time.Hour)
	}
	var logs [2]bytes.Buffer
	for i, workers := range []int{1, 3} {
		rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteDecisions(&logs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if logs[0].Len() == 0 || !bytes.Equal(logs[0].Bytes(), logs[1].Bytes()) {
		t.Errorf("decisions differ with 1 and 3 workers:\n%s\n---\n%s", logs[0].String(), logs[1].String())
	}
}

// TestServiceReplayStandsAlone: a service's replay is the same whether it
// is replayed with the others of its file or alone, first or last: its
// random streams hash its name, not its place.
func TestServiceReplayStandsAlone(t *testing.T) {
	cfg := loadTestConfig(t, "config.example.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Sim.Load.Duration = config.Duration(2 * 24 * time.Hour)
	}
	if len(cfg.Services) < 2 {
		t.Fatalf("%d services: the test needs two", len(cfg.Services))
	}
	decisions := func(c *config.Config, name string) string {
		rep := replay(t, c)
		var b bytes.Buffer
		for _, r := range rep.Runs {
			for _, rec := range r.Decisions.Records(name) {
				fmt.Fprintf(&b, "%s %s %s %.6f %.6f %d\n", r.Policy, rec.Time.Format(time.RFC3339), rec.Reason, rec.Risk, rec.Latency, rec.Level)
			}
			fmt.Fprintf(&b, "%s cost %+v\n", r.Policy, r.Cost[name])
		}
		return b.String()
	}
	name := cfg.Services[0].Name
	all := decisions(cfg, name)
	alone := *cfg
	alone.Services = cfg.Services[:1]
	reversed := *cfg
	reversed.Services = slices.Clone(cfg.Services)
	slices.Reverse(reversed.Services)
	if got := decisions(&alone, name); got != all {
		t.Errorf("%s alone replays otherwise than with the others", name)
	}
	if got := decisions(&reversed, name); got != all {
		t.Errorf("%s last replays otherwise than first", name)
	}
}

// TestReplayCanceled: a replay whose context is canceled stops and says
// so.
func TestReplayCanceled(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Replay(ctx, ReplayOptions{Config: cfg}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay on a canceled context: %v, want context.Canceled", err)
	}
}

// TestClairvoyantForecastsTheLoad: the clairvoyant run's forecast at the
// horizon is, at every step, the load its plant then sees (its median, and
// its band has no width), and it scores like any other policy.
func TestClairvoyantForecastsTheLoad(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	rep := replay(t, cfg, policy.Predictive, policy.Clairvoyant)
	if len(rep.Policies) != 2 || rep.Policies[1].Name != "clairvoyant" {
		t.Fatalf("policies %+v, want predictive and clairvoyant", rep.Policies)
	}
	s := cfg.Services[0]
	h := rep.service(s.Name).Horizon
	run := rep.Runs[1]
	steps, recs := run.Steps[s.Name], run.Decisions.Records(s.Name)
	checked := 0
	for i, r := range recs {
		if i+h >= len(steps) || math.IsNaN(r.Forecast[1]) {
			continue
		}
		want := steps[i+h].Signals.Requests
		if r.Forecast[1] != want || r.Forecast[0] != want || r.Forecast[2] != want {
			t.Fatalf("step %d: forecast at the horizon %v, want the load %v then, with no band", i, r.Forecast, want)
		}
		checked++
	}
	if checked < len(recs)/2 {
		t.Fatalf("%d of %d steps had a forecast", checked, len(recs))
	}
	c := rep.Policies[1]
	t.Logf("predictive: %d incidents, cost %.0f; clairvoyant: %d, %.0f", rep.Policies[0].Incidents, rep.Policies[0].Cost.Total, c.Incidents, c.Cost.Total)
	if c.Engagements == 0 || c.Precision == nil {
		t.Errorf("clairvoyant: %d engagements, precision %v", c.Engagements, c.Precision)
	}
}

// TestClairvoyantNeedsTheLoad: a service that forecasts its latency (which
// the policies change) has no load ahead to know; the replay says so.
func TestClairvoyantNeedsTheLoad(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	cfg.Services[0].Forecast.Signal = config.SignalLatency
	_, err := Replay(context.Background(), ReplayOptions{Config: cfg, Policies: []policy.Mode{policy.Clairvoyant}})
	if err == nil || !strings.Contains(err.Error(), "clairvoyant needs forecast.signal requests") {
		t.Fatalf("clairvoyant over a latency forecast: %v", err)
	}
}

// TestImminentOff: with forecast.imminent off the predictive policy
// engages on no incident under way; with engage (the default) it does, on
// the same replay.
func TestImminentOff(t *testing.T) {
	count := func(c *config.Config) int {
		rep := replay(t, c, policy.Predictive)
		n := 0
		for _, r := range rep.Policies[0].PrecisionByReason {
			if r.Reason == policy.Imminent {
				n += r.Engagements
			}
		}
		return n
	}
	cfg := loadTestConfig(t, "config.example.yaml")
	if n := count(cfg); n == 0 {
		t.Fatal("no Imminent engagement with the default: the test shows nothing")
	}
	for i := range cfg.Services {
		cfg.Services[i].Forecast.Imminent = config.ImminentOff
	}
	if n := count(cfg); n != 0 {
		t.Errorf("%d Imminent engagements with forecast.imminent off", n)
	}
}

// TestScreeningKeepsDecisions compares the screened sample paths with the
// full draw at every step: the same incidents, about the same actions (the
// random draws differ, so the decisions may differ by a step here and
// there).
func TestScreeningKeepsDecisions(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	var got [2]PolicyResult
	for i, full := range []bool{false, true} {
		rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, FullPaths: full, Policies: []policy.Mode{policy.Predictive}})
		if err != nil {
			t.Fatal(err)
		}
		got[i] = rep.Policies[0]
	}
	s, f := got[0], got[1]
	if s.Incidents != f.Incidents || s.Actions < f.Actions-2 || s.Actions > f.Actions+2 || math.Abs(s.Cost.Total-f.Cost.Total) > 0.05*f.Cost.Total {
		t.Errorf("screened: %d incidents, %d actions, cost %.0f; full draw: %d, %d, %.0f", s.Incidents, s.Actions, s.Cost.Total, f.Incidents, f.Actions, f.Cost.Total)
	}
}

// nasaTrace returns the NASA-HTTP trace from $PRESAGE_DATA, skipping the
// test when it is not there.
func nasaTrace(t *testing.T) *metrics.Grid {
	t.Helper()
	tr, err := file.ReadTrace(testutil.NASAMinutes(t))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestNASAReplay replays the NASA-HTTP trace through the example's
// services. Scaled at its 99th percentile, the daily peaks press on
// capacity: over the two months, checkout's 'none' run has incidents on
// most days, where scaling the maximum (one spike) to the same peak leaves
// them to a few. Over the first week, the policies keep their order.
func TestNASAReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("two months of replay; skipped with -short")
	}
	full := nasaTrace(t)
	cfg := loadTestConfig(t, "config.example.yaml")

	// noneDays returns the days with rows on which checkout's 'none' run
	// has an incident, and the days with rows.
	noneDays := func(cfg *config.Config) (int, int) {
		rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: full, Policies: []policy.Mode{policy.None}})
		if err != nil {
			t.Fatal(err)
		}
		s := rep.Config.Services[0]
		steps := rep.none.Steps[s.Name]
		days, rows := map[int]bool{}, map[int]bool{}
		for i, r := range steps {
			if !math.IsNaN(r.Load) {
				rows[i/(24*60)] = true
			}
		}
		for _, in := range model.Incidents(latencies(steps), controller.IncidentPattern(rep.service(s.Name))) {
			days[in.Start/(24*60)] = true
		}
		return len(days), len(rows)
	}
	byMax := *cfg
	byMax.Services = slices.Clone(cfg.Services)
	for i := range byMax.Services {
		byMax.Services[i].Sim.Load.PeakQuantile = 1
	}
	q99, n := noneDays(cfg)
	top, _ := noneDays(&byMax)
	t.Logf("days with an incident of checkout's 'none' run, of %d: %d scaled at the 99th percentile, %d at the maximum", n, q99, top)
	if q99 < n/2 || top > n/4 {
		t.Errorf("checkout's 'none' run has incidents on %d of %d days scaled at the 99th percentile and %d at the maximum; want more than half, and at most a quarter", q99, n, top)
	}

	week := &metrics.Grid{Start: full.Start, Step: full.Step, Values: full.Values[:7*24*60]}
	rep, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: week})
	if err != nil {
		t.Fatal(err)
	}
	byPolicy(t, rep, "first week: ")
}

// byPolicy logs each policy's scores, prefixed by label, checks that the
// forecasting policies have fewer incidents than reactive and reactive
// fewer breach minutes than none, and returns the scores by policy name.
func byPolicy(t *testing.T, rep *Report, label string) map[string]PolicyResult {
	t.Helper()
	by := map[string]PolicyResult{}
	for _, p := range rep.Policies {
		by[p.Name] = p
		t.Logf("%s%-10s incidents %3d breach %5.0f min actions %3d cost %6.0f", label, p.Name, p.Incidents, p.BreachMinutes, p.Actions, p.Cost.Total)
	}
	none, reactive, predictive := by["none"], by["reactive"], by["predictive"]
	// The reactive policy acts once an incident has started: it shortens
	// episodes (fewer breach minutes) but prevents none, and its
	// half-mitigated episodes can even count more incidents than none's
	// (the latency dips under the threshold for longer than
	// incident.resolve_after and comes back). The forecasting policies
	// prevent incidents: fewer than reactive's.
	if !(predictive.Incidents < reactive.Incidents) {
		t.Errorf("incidents: predictive %d, reactive %d; want predictive < reactive", predictive.Incidents, reactive.Incidents)
	}
	if plan, ok := by["plan"]; ok && !(plan.Incidents < reactive.Incidents) {
		t.Errorf("incidents: plan %d, reactive %d; want plan < reactive", plan.Incidents, reactive.Incidents)
	}
	if !(reactive.BreachMinutes < none.BreachMinutes) {
		t.Errorf("breach minutes: reactive %.0f, none %.0f; want reactive < none", reactive.BreachMinutes, none.BreachMinutes)
	}
	return by
}

// TestPrecisionByReason: the engagements split by reason add up to the
// policy's engagements and its precision, and the table shows the split.
func TestPrecisionByReason(t *testing.T) {
	rep := replay(t, loadTestConfig(t, "testdata/replay.short.yaml"))
	for _, p := range rep.Policies {
		var n, ok int
		for i, rp := range p.PrecisionByReason {
			if i > 0 && slices.Index(policy.Reasons, rp.Reason) <= slices.Index(policy.Reasons, p.PrecisionByReason[i-1].Reason) {
				t.Errorf("%s: reasons out of order: %v", p.Name, p.PrecisionByReason)
			}
			if rp.Engagements == 0 || rp.Justified > rp.Engagements || rp.Precision != float64(rp.Justified)/float64(rp.Engagements) {
				t.Errorf("%s: %+v", p.Name, rp)
			}
			n, ok = n+rp.Engagements, ok+rp.Justified
		}
		switch {
		case p.Precision == nil:
			if n != 0 {
				t.Errorf("%s: no precision but %d engagements by reason", p.Name, n)
			}
		case n != p.Engagements || float64(ok)/float64(n) != *p.Precision:
			t.Errorf("%s: by reason %d/%d, overall %d engagements, precision %v", p.Name, ok, n, p.Engagements, *p.Precision)
		}
	}
	pred := rep.Policies[slices.IndexFunc(rep.Policies, func(p PolicyResult) bool { return p.Name == "predictive" })]
	if len(pred.PrecisionByReason) == 0 {
		t.Fatal("predictive: no precision by reason")
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "precision by engagement reason:\n") ||
		!strings.Contains(table.String(), "  predictive: "+string(pred.PrecisionByReason[0].Reason)+" ") {
		t.Errorf("table without the precision by reason:\n%s", table.String())
	}
}

// TestReplayTraceShorterThanInterval: a trace on a 1 ns step spans less
// than one interval; the replay is an error, not a replay of nothing.
func TestReplayTraceShorterThanInterval(t *testing.T) {
	cfg := loadTestConfig(t, "testdata/replay.short.yaml")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := &metrics.Grid{Start: start, Step: time.Nanosecond, Values: []float64{1, 2, 3}}
	_, err := Replay(context.Background(), ReplayOptions{Config: cfg, Trace: tr, Policies: []policy.Mode{policy.None}})
	if err == nil || !strings.Contains(err.Error(), "less than one global.interval (1m0s): nothing to replay") {
		t.Errorf("got %v, want the trace too short", err)
	}
}
