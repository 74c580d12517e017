package replay

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
	"github.com/presage-dev/presage/sim"
)

// maxPoints bounds the points of one chart line: longer series are reduced
// to this many buckets (the bucket's maximum for latency, its mean for the
// load), so a week of one-minute steps stays a light page.
const maxPoints = 1500

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
		svg, err := renderSVG(p)
		if err != nil {
			return sv, fmt.Errorf("report %s: %w", name, err)
		}
		sv.Charts = append(sv.Charts, reportChart{Title: title, SVG: template.HTML(svg)})
	}
	return sv, nil
}

func renderSVG(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(26*vg.Centimeter, 8*vg.Centimeter)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	// Drop the XML prolog: the SVG is inlined in HTML.
	out := b.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}

func newTimePlot(y string) *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02 15:04"}
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// reduce turns a series into at most maxPoints XYs, each bucket's maximum
// (peak) or mean; NaN values are skipped.
func reduce(times []time.Time, ys []float64, peak bool) plotter.XYs {
	n := len(ys)
	size := max(1, (n+maxPoints-1)/maxPoints)
	var out plotter.XYs
	for i := 0; i < n; i += size {
		var v, sum float64
		c := 0
		for j := i; j < min(i+size, n); j++ {
			y := ys[j]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			if c == 0 || y > v {
				v = y
			}
			sum += y
			c++
		}
		if c == 0 {
			continue
		}
		if !peak {
			v = sum / float64(c)
		}
		out = append(out, plotter.XY{X: float64(times[i].Unix()), Y: v})
	}
	return out
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
	p := newTimePlot("requests/s")
	l, err := plotter.NewLine(reduce(stepTimes(steps), ys, false))
	if err != nil {
		return "", nil, err
	}
	l.Color = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	p.Add(l)
	p.Legend.Add("load", l)
	return "Load (requests per second)", p, nil
}

func (rep *Report) latencyChart(name string) (string, *plot.Plot, error) {
	s := rep.Config.Service(name)
	p := newTimePlot("p99 latency (s)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var first []sim.Record
	for _, r := range rep.Runs {
		steps := r.Steps[name]
		first = steps
		ys := latencies(steps)
		for i, v := range ys {
			ys[i] = math.Max(v, 1e-3) // the log scale has no zero
		}
		l, err := plotter.NewLine(reduce(stepTimes(steps), ys, true))
		if err != nil {
			return "", nil, err
		}
		l.Color = colorOf(r.Policy)
		p.Add(l)
		p.Legend.Add(r.Policy.String(), l)
	}
	if len(first) > 0 {
		if err := addThreshold(p, first[0].Time(), first[len(first)-1].Time(), s.Incident.Above); err != nil {
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
	p := newTimePlot(s.Signal)
	loXY, hiXY := reduce(shifted, lo, false), reduce(shifted, hi, false)
	if len(loXY) > 1 && len(hiXY) > 1 {
		band := make(plotter.XYs, 0, len(loXY)+len(hiXY))
		band = append(band, loXY...)
		for i := len(hiXY) - 1; i >= 0; i-- {
			band = append(band, hiXY[i])
		}
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return nil, err
		}
		poly.Color = color.NRGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0x40}
		poly.LineStyle.Width = 0
		p.Add(poly)
		p.Legend.Add(fmt.Sprintf("forecast %s ahead, 10%%–90%%", horizon), poly)
	}
	l, err := plotter.NewLine(reduce(times, obs, false))
	if err != nil {
		return nil, err
	}
	l.Color = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	p.Add(l)
	p.Legend.Add("observed", l)
	if xy := reduce(times, level, false); len(xy) > 0 {
		bl, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		bl.Color = color.RGBA{R: 0xcc, A: 0xff}
		bl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(bl)
		p.Legend.Add("learned breach level", bl)
	}
	return p, nil
}

// actionsChart shades, for every acting policy, the spans when its
// playbook had actions engaged: one lane per policy, the shade's height the
// number of engaged actions.
func (rep *Report) actionsChart(name string) (string, *plot.Plot, error) {
	p := newTimePlot("engaged actions")
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
		poly, err := plotter.NewPolygon(plotter.XYs{
			{X: float64(w.Start.Unix()), Y: 0}, {X: float64(w.End.Unix()), Y: 0},
			{X: float64(w.End.Unix()), Y: top}, {X: float64(w.Start.Unix()), Y: top},
		})
		if err != nil {
			return "", nil, err
		}
		poly.Color, poly.LineStyle.Width = c, 0
		p.Add(poly)
		if !shown[w.Kind] {
			p.Legend.Add(string(w.Kind)+" window", poly)
			shown[w.Kind] = true
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
		if err := addSpans(p, engagedSpans(r.Decisions.Records(name)), base, colorOf(r.Policy), legend); err != nil {
			return "", nil, err
		}
	}
	title := "Engaged actions by policy (shaded spans; height = actions engaged)"
	if len(shown) > 0 {
		title = "Engaged actions by policy (shaded spans; height = actions engaged, prewarmed ones included) and schedule windows (full height)"
	}
	return title, p, nil
}

// addThreshold draws the incident threshold above (seconds) from from to
// to as a dashed red line.
func addThreshold(p *plot.Plot, from, to time.Time, above float64) error {
	th, err := plotter.NewLine(plotter.XYs{{X: float64(from.Unix()), Y: above}, {X: float64(to.Unix()), Y: above}})
	if err != nil {
		return err
	}
	th.Color = color.RGBA{R: 0xcc, A: 0xff}
	th.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(th)
	p.Legend.Add(fmt.Sprintf("threshold %gs", above), th)
	return nil
}

// addSpans shades each span from base to base + its level in c, with one
// legend entry for all of them.
func addSpans(p *plot.Plot, spans []actionSpan, base float64, c color.RGBA, legend string) error {
	for i, span := range spans {
		poly, err := plotter.NewPolygon(plotter.XYs{
			{X: float64(span.from.Unix()), Y: base}, {X: float64(span.to.Unix()), Y: base},
			{X: float64(span.to.Unix()), Y: base + float64(span.level)}, {X: float64(span.from.Unix()), Y: base + float64(span.level)},
		})
		if err != nil {
			return err
		}
		poly.Color = color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x90}
		poly.LineStyle.Width = 0
		p.Add(poly)
		if i == 0 {
			p.Legend.Add(legend, poly)
		}
	}
	return nil
}

type actionSpan struct {
	from, to time.Time
	level    int
}

// engagedSpans returns the maximal runs of a constant, non-zero level.
func engagedSpans(decs []controller.Record) []actionSpan {
	var out []actionSpan
	for i, d := range decs {
		if d.Level == 0 {
			continue
		}
		end := d.Time
		if i+1 < len(decs) {
			end = decs[i+1].Time
		}
		if n := len(out); n > 0 && out[n-1].level == d.Level && out[n-1].to.Equal(d.Time) {
			out[n-1].to = end
			continue
		}
		out = append(out, actionSpan{from: d.Time, to: end, level: d.Level})
	}
	return out
}
