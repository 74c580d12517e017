package ui

import (
	"fmt"
	"html/template"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"

	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/internal/chart"
	"github.com/presage-dev/presage/schedule"
)

// pageChart is one chart of a service's page; ID names it in the DOM.
// Levels are the horizontal lines it draws without a legend entry (the
// capacities: too many and too long for the chart's own legend).
type pageChart struct {
	ID, Title string
	SVG       template.HTML
	Levels    []levelRow
}

// levelRow is one capacity line of the load chart, for the page's legend.
type levelRow struct {
	controller.Capacity
	Colour string // #rrggbb
	colour color.RGBA
}

// Colours of the live page beyond chart's.
var (
	aheadFill   = color.NRGBA{R: 0xe0, G: 0x80, B: 0x10, A: 0x50}
	aheadMedian = color.RGBA{R: 0xc0, G: 0x60, B: 0x00, A: 0xff}
	engagedFill = color.RGBA{R: 0x00, G: 0x96, B: 0x88, A: 0xff}
	riskColour  = color.RGBA{R: 0x8e, G: 0x44, B: 0xad, A: 0xff}
	// capacityColours draw the capacity of each action set, in turn.
	capacityColours = []color.RGBA{
		{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
		{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, {R: 0xbc, G: 0xbd, B: 0x22, A: 0xff},
		{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	}
	windowColours = map[schedule.Kind]color.NRGBA{
		schedule.Prewarm: {R: 0x2c, G: 0xa0, B: 0x2c, A: 0x30},
		schedule.Freeze:  {R: 0x60, G: 0x60, B: 0x60, A: 0x30},
		schedule.Event:   {R: 0xe0, G: 0xb0, B: 0x00, A: 0x30},
	}
)

// serviceCharts draws a service's charts over the same span of time: the
// steps the view holds and the horizon ahead.
func serviceCharts(v controller.ServiceView) ([]pageChart, error) {
	if len(v.Times) == 0 {
		return nil, nil
	}
	from, to := v.Times[0], v.Times[len(v.Times)-1].Add(v.Horizon)
	draws := []struct {
		id, title string
		draw      func(controller.ServiceView, time.Time, time.Time) (*plot.Plot, error)
	}{
		{"load", "Load: observed, the forecast band at the horizon (10%–90%, placed at the time it forecasts), the band over the horizon ahead, and the learned capacity of each action set", loadPlot},
		{"latency", "p99 latency against the incident threshold", latencyPlot},
		{"actions", "Engaged actions (shaded; height = actions engaged) and schedule windows (full height)", actionsPlot},
		{"risk", "Breach risk at the engaged actions", riskPlot},
	}
	var out []pageChart
	for _, d := range draws {
		p, err := d.draw(v, from, to)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", d.id, err)
		}
		p.X.Min, p.X.Max = float64(from.Unix()), float64(to.Unix())
		svg, err := chart.SVG(p)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", d.id, err)
		}
		pc := pageChart{ID: d.id, Title: d.title, SVG: template.HTML(svg)}
		if d.id == "load" {
			pc.Levels = capacityRows(v)
		}
		out = append(out, pc)
	}
	return out, nil
}

// shifted returns the times moved by d.
func shifted(ts []time.Time, d time.Duration) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.Add(d)
	}
	return out
}

func loadPlot(v controller.ServiceView, from, to time.Time) (*plot.Plot, error) {
	p := chart.NewTime(v.Signal)
	if err := chart.Band(p, shifted(v.Times, v.Horizon), v.Forecast[0], v.Forecast[2], chart.BandFill,
		fmt.Sprintf("forecast %s ahead, 10%%–90%%", v.Horizon)); err != nil {
		return nil, err
	}
	if a := v.Ahead; len(a.Times) > 1 {
		if err := chart.Band(p, a.Times, a.Lo, a.Hi, aheadFill, "ahead now, 10%–90%"); err != nil {
			return nil, err
		}
		if err := chart.Line(p, a.Times, a.Mid, false, aheadMedian, true, "ahead now, median"); err != nil {
			return nil, err
		}
	}
	if len(v.Load) > 0 {
		if err := chart.Line(p, v.LoadTimes, v.Load, false, chart.Observed, false, "observed"); err != nil {
			return nil, err
		}
	}
	for _, c := range capacityRows(v) {
		if err := chart.Level(p, from, to, c.Level, c.colour, ""); err != nil {
			return nil, err
		}
	}
	if len(v.Load) == 0 && len(v.Ahead.Times) == 0 {
		// Nothing of the page's own yet (the first request): the axis
		// still spans the series.
		if err := chart.Line(p, v.Times, v.Forecast[1], false, chart.Grey, false, "forecast median at the horizon"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// capacityRows returns the capacities known (finite), each with its
// colour.
func capacityRows(v controller.ServiceView) []levelRow {
	var out []levelRow
	for _, c := range v.Capacities {
		if math.IsInf(c.Level, 0) || math.IsNaN(c.Level) {
			continue
		}
		col := capacityColours[len(out)%len(capacityColours)]
		out = append(out, levelRow{Capacity: c, Colour: fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B), colour: col})
	}
	return out
}

func latencyPlot(v controller.ServiceView, from, to time.Time) (*plot.Plot, error) {
	p := chart.NewTime("p99 latency (s)")
	chart.LogY(p)
	ys := make([]float64, len(v.Latency))
	for i, l := range v.Latency {
		ys[i] = math.Max(l, 1e-3) // the log scale has no zero
		if math.IsNaN(l) {
			ys[i] = l
		}
	}
	if err := chart.Line(p, v.Times, ys, true, chart.Observed, false, "p99"); err != nil {
		return nil, err
	}
	if err := chart.Threshold(p, from, to, v.Threshold); err != nil {
		return nil, err
	}
	return p, nil
}

func actionsPlot(v controller.ServiceView, from, to time.Time) (*plot.Plot, error) {
	p := chart.NewTime("engaged actions")
	top := float64(max(1, len(v.Playbook)))
	shown := map[schedule.Kind]bool{}
	for _, w := range v.Windows {
		c, ok := windowColours[w.Kind]
		if !ok || !w.End.After(from) || !w.Start.Before(to) {
			continue
		}
		legend := ""
		if !shown[w.Kind] {
			legend, shown[w.Kind] = string(w.Kind)+" window", true
		}
		start, end := maxTime(w.Start, from), minTime(w.End, to)
		if err := chart.Shade(p, start, end, 0, top, c, legend); err != nil {
			return nil, err
		}
	}
	if err := chart.Spans(p, chart.SpansOf(v.Times, v.Level), 0, engagedFill, "engaged (height = actions)"); err != nil {
		return nil, err
	}
	if err := chart.Level(p, from, to, 0, chart.Grey, ""); err != nil {
		return nil, err
	}
	p.Y.Min, p.Y.Max = 0, top
	return p, nil
}

func riskPlot(v controller.ServiceView, from, to time.Time) (*plot.Plot, error) {
	p := chart.NewTime("breach risk")
	if err := chart.Line(p, v.Times, v.Risk, true, riskColour, false, "risk (maximum per point)"); err != nil {
		return nil, err
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
