package replay

import (
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/internal/chart"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
	"github.com/presage-dev/presage/sim"
)

var policyColors = map[policy.Mode]color.RGBA{
	policy.None:        {R: 0x99, G: 0x99, B: 0x99, A: 0xff},
	policy.Reactive:    {R: 0xd6, G: 0x60, B: 0x1f, A: 0xff},
	policy.Predictive:  {R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
	policy.Clairvoyant: {R: 0x8e, G: 0x44, B: 0xad, A: 0xff},
	policy.Plan:        {R: 0x00, G: 0x96, B: 0x88, A: 0xff},
	policy.Oracle:      {R: 0x33, G: 0x33, B: 0x33, A: 0xff},
}

// windowColors shade the schedule windows behind the engaged actions.
var windowColors = map[schedule.Kind]color.NRGBA{
	schedule.Prewarm: {R: 0x2c, G: 0xa0, B: 0x2c, A: 0x30},
	schedule.Freeze:  {R: 0x60, G: 0x60, B: 0x60, A: 0x30},
	schedule.Event:   {R: 0xe0, G: 0xb0, B: 0x00, A: 0x30},
}

func colorOf(m policy.Mode) color.RGBA {
	if c, ok := policyColors[m]; ok {
		return c
	}
	return color.RGBA{R: 0x55, G: 0x99, B: 0x33, A: 0xff}
}

// WriteHTML writes the replay as one self-contained HTML page (inline SVG
// charts drawn with gonum/plot, no external assets): the scorecard, then
// per service the load, the latency of every policy against the threshold,
// the predictive forecast band, and the engaged actions of every policy as
// shaded spans. It needs the replay's every decision record
// (ReplayOptions.Detail).
func (rep *Report) WriteHTML(w io.Writer) error {
	for _, r := range rep.Runs {
		if r.Policy != policy.None && !r.Decisions.detailed() {
			return errors.New("replay: the HTML report needs every decision record: replay with ReplayOptions.Detail")
		}
	}
	var services []reportService
	for _, s := range rep.Config.Services {
		var charts []chartFunc
		for _, mk := range []func(string) (string, *plot.Plot, error){rep.loadChart, rep.latencyChart, rep.forecastChart, rep.actionsChart} {
			charts = append(charts, func() (string, *plot.Plot, error) { return mk(s.Name) })
		}
		sv, err := renderCharts(s.Name, charts)
		if err != nil {
			return err
		}
		services = append(services, sv)
	}
	return reportPage.Execute(w, map[string]any{
		"Start": rep.Start.UTC().Format(time.RFC3339), "End": rep.End.UTC().Format(time.RFC3339),
		"Interval": rep.Interval, "Policies": rep.Policies, "Services": services, "Oracle": rep.hasOracle(),
	})
}

// pageStyle is the style of the replay's HTML pages (WriteHTML, and
// SignalsReport's).
const pageStyle = `<style>
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}
svg{max-width:100%;height:auto}
</style>`

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"lead": func(d Distribution) string {
		if d.Median == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f min (n=%d)", *d.Median, d.Count)
	},
	"pct": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100**p)
	},
	"ratio": func(r *float64) string {
		if r == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f×", *r)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>presage replay</title>
` + pageStyle + `</head><body>
<h1>presage replay</h1>
<p>{{.Start}} to {{.End}}, one step every {{.Interval}}.</p>
<h2>Scorecard</h2>
<table id="scorecard">
<tr><th>policy</th><th>incidents</th><th>episodes</th><th>breach minutes</th><th>actions</th><th>replica min</th><th>throttle min</th><th>queue min</th><th>cost total</th><th>lead time (median)</th><th>precision</th><th>near misses</th><th>missed</th>{{if .Oracle}}<th>avoidable</th><th>cost / oracle</th>{{end}}</tr>
{{range .Policies}}<tr><td>{{.Name}}</td><td>{{.Incidents}}</td><td>{{.Episodes}}</td><td>{{f0 .BreachMinutes}}</td><td>{{.Actions}}</td><td>{{f0 .Cost.ReplicaMinutes}}</td><td>{{f0 .Cost.ThrottleMinutes}}</td><td>{{f0 .Cost.QueueMinutes}}</td><td>{{f0 .Cost.Total}}</td><td>{{lead .LeadTimeMinutes}}</td><td>{{pct .Precision}}</td><td>{{.NearMisses}}</td><td>{{.Missed}}/{{.NoneIncidents}}</td>{{if $.Oracle}}<td>{{pct .AvoidableShare}}</td><td>{{ratio .CostVsOracle}}</td>{{end}}</tr>
{{end}}</table>
<p>Incidents: from the latency above the threshold for K samples in a row until it has stayed at or below the threshold for incident.resolve_after (a breach that comes back sooner is the same incident). Episodes: the incidents of the 'none' run that the policy's own incidents overlap, the episodes it did not prevent. Breach minutes: the minutes in breach only. Cost total: the minutes of each knob priced by the cost_per_minute of the action that sets it.{{if .Oracle}} Avoidable: (reactive's incidents − the policy's) / (reactive's − oracle's). Cost / oracle: cost total / oracle's.{{end}} Lead time: how long before an incident of the 'none' run the policy had engaged. Precision: engagements followed within the horizon by an incident of the 'none' run. Near misses: the other engagements followed within the horizon by the 'none' run's latency above the threshold, for fewer than K samples in a row.</p>
{{range .Services}}<h2>{{.Name}}</h2>
{{range .Charts}}<figure class="chart"><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>
{{end}}{{end}}</body></html>
`))

// reportChart is one chart of an HTML report; reportService one service's
// charts.
type (
	reportChart struct {
		Title string
		SVG   template.HTML
	}
	reportService struct {
		Name   string
		Charts []reportChart
	}
)

// chartFunc draws one chart: its title and plot, or a nil plot for no chart.
type chartFunc func() (string, *plot.Plot, error)

// renderCharts draws a service's charts as inline SVG, in order.
func renderCharts(name string, charts []chartFunc) (reportService, error) {
	sv := reportService{Name: name}
	for _, mk := range charts {
		title, p, err := mk()
		if err != nil {
			return sv, fmt.Errorf("report %s: %w", name, err)
		}
		if p == nil {
			continue
		}
		svg, err := chart.SVG(p)
		if err != nil {
			return sv, fmt.Errorf("report %s: %w", name, err)
		}
		sv.Charts = append(sv.Charts, reportChart{Title: title, SVG: template.HTML(svg)})
	}
	return sv, nil
}

func stepTimes(steps []sim.Record) []time.Time {
	out := make([]time.Time, len(steps))
	for i, s := range steps {
		out[i] = s.Time()
	}
	return out
}

func (rep *Report) loadChart(name string) (string, *plot.Plot, error) {
	steps := rep.none.Steps[name] // every run has the same load
	ys := make([]float64, len(steps))
	for i, s := range steps {
		ys[i] = s.Load
	}
	p := chart.NewTime("requests/s")
	if err := chart.Line(p, stepTimes(steps), ys, false, chart.Observed, false, "load"); err != nil {
		return "", nil, err
	}
	return "Load (requests per second)", p, nil
}

func (rep *Report) latencyChart(name string) (string, *plot.Plot, error) {
	s := rep.Config.Service(name)
	p := chart.NewTime("p99 latency (s)")
	chart.LogY(p)
	var first []sim.Record
	for _, r := range rep.Runs {
		steps := r.Steps[name]
		first = steps
		ys := latencies(steps)
		for i, v := range ys {
			ys[i] = math.Max(v, 1e-3) // the log scale has no zero
		}
		if err := chart.Line(p, stepTimes(steps), ys, true, colorOf(r.Policy), false, r.Policy.String()); err != nil {
			return "", nil, err
		}
	}
	if len(first) > 0 {
		if err := chart.Threshold(p, first[0].Time(), first[len(first)-1].Time(), s.Incident.Above); err != nil {
			return "", nil, err
		}
	}
	return "p99 latency by policy (maximum per point), against the incident threshold", p, nil
}

// forecastChart draws the forecast band at the horizon (10%–90% over the
// sample paths) of the plan run (else the predictive run), placed at the
// time it forecasts, over the observed forecast signal and the breach
// level of the engaged actions.
func (rep *Report) forecastChart(name string) (string, *plot.Plot, error) {
	var run *Run
	for _, m := range []policy.Mode{policy.Predictive, policy.Plan} {
		for _, r := range rep.Runs {
			if r.Policy == m {
				run = r
			}
		}
	}
	if run == nil {
		return "", nil, nil
	}
	s := rep.service(name)
	p, err := forecastPlot(s, run.Decisions.Records(name))
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("%s: forecast band at the horizon, the observed load and the breach level of the engaged actions", run.Policy), p, nil
}

// forecastPlot draws the forecast band at the horizon (10%–90% over the
// sample paths) of a predictive controller's decisions, placed at the time
// it forecasts, over the observed forecast signal and the learned breach
// level.
func forecastPlot(s config.Resolved, decs []controller.Record) (*plot.Plot, error) {
	horizon := time.Duration(s.Horizon) * s.Interval
	n := len(decs)
	times := make([]time.Time, n)
	lo, hi, obs, level := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, d := range decs {
		times[i] = d.Time
		lo[i], hi[i], obs[i], level[i] = d.Forecast[0], d.Forecast[2], d.Load, d.BreachLevel
	}
	shifted := make([]time.Time, n)
	for i, t := range times {
		shifted[i] = t.Add(horizon)
	}
	p := chart.NewTime(s.Signal)
	if err := chart.Band(p, shifted, lo, hi, chart.BandFill, fmt.Sprintf("forecast %s ahead, 10%%–90%%", horizon)); err != nil {
		return nil, err
	}
	if err := chart.Line(p, times, obs, false, chart.Observed, false, "observed"); err != nil {
		return nil, err
	}
	if xy := chart.Reduce(times, level, false); len(xy) > 0 {
		if err := chart.Line(p, times, level, false, chart.Red, true, "learned breach level"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// actionsChart shades, for every acting policy, the spans when its
// playbook had actions engaged: one lane per policy, the shade's height the
// number of engaged actions.
func (rep *Report) actionsChart(name string) (string, *plot.Plot, error) {
	p := chart.NewTime("engaged actions")
	s := rep.Config.Service(name)
	lanes := 0
	for _, r := range rep.Runs {
		if r.Policy != policy.None {
			lanes++
		}
	}
	if lanes == 0 {
		return "", nil, nil
	}
	// Schedule windows first, behind the lanes, across all of them.
	top := float64(lanes) * float64(len(s.Playbook)+1)
	shown := map[schedule.Kind]bool{}
	for _, w := range rep.Windows {
		c, ok := windowColors[w.Kind]
		if w.Service != name || !ok {
			continue
		}
		legend := ""
		if !shown[w.Kind] {
			legend = string(w.Kind) + " window"
			shown[w.Kind] = true
		}
		if err := chart.Shade(p, w.Start, w.End, 0, top, c, legend); err != nil {
			return "", nil, err
		}
	}
	lanes = 0
	for _, r := range rep.Runs {
		if r.Policy == policy.None {
			continue
		}
		base := float64(lanes) * float64(len(s.Playbook)+1)
		lanes++
		legend := fmt.Sprintf("%s (lane from %g)", r.Policy, base)
		if err := chart.Spans(p, engagedSpans(r.Decisions.Records(name)), base, colorOf(r.Policy), legend); err != nil {
			return "", nil, err
		}
	}
	title := "Engaged actions by policy (shaded spans; height = actions engaged)"
	if len(shown) > 0 {
		title = "Engaged actions by policy (shaded spans; height = actions engaged, prewarmed ones included) and schedule windows (full height)"
	}
	return title, p, nil
}

// engagedSpans returns the maximal runs of a constant, non-zero level.
func engagedSpans(decs []controller.Record) []chart.Span {
	times, levels := make([]time.Time, len(decs)), make([]int, len(decs))
	for i, d := range decs {
		times[i], levels[i] = d.Time, d.Level
	}
	return chart.SpansOf(times, levels)
}
