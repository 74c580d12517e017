// Package chart draws presage's time charts with gonum/plot and renders
// them as inline SVG: the replay's HTML report and the live page (package
// ui) share it, so that a chart looks the same offline and live.
//
// It takes plain data (times, values, spans) and knows nothing of
// presage's types: a time plot, lines reduced to at most MaxPoints points,
// a band between two series, a threshold, shaded spans and a log scale.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// MaxPoints bounds the points of one chart line: longer series are
// reduced to this many buckets (Reduce), so a week of one-minute steps
// stays a light page.
const MaxPoints = 1500

// Width and Height are the size of a rendered chart.
const (
	Width  = 26 * vg.Centimeter
	Height = 8 * vg.Centimeter
)

// Colours shared by the report and the live page.
var (
	// Observed is the colour of an observed series (load, latency).
	Observed = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	// Red is the colour of the threshold and of the breach levels.
	Red = color.RGBA{R: 0xcc, A: 0xff}
	// BandFill fills the forecast band.
	BandFill = color.NRGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0x40}
	// Grey draws a baseline.
	Grey = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
)

// Dashes is the dash pattern of thresholds and levels.
func Dashes() []vg.Length { return []vg.Length{vg.Points(4), vg.Points(3)} }

// Span is a maximal run of time with a constant, non-zero level.
type Span struct {
	From, To time.Time
	Level    int
}

// NewTime returns an empty plot over time, its y axis labelled y, with a
// grid and the legend on top.
func NewTime(y string) *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02 15:04"}
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// LogY puts the plot's y axis on a log scale (values must be > 0).
func LogY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
}

// Reduce turns a series into at most MaxPoints XYs, each bucket's maximum
// (peak) or mean at the time of its first value; NaN and infinite values
// are skipped. times and ys have the same length.
func Reduce(times []time.Time, ys []float64, peak bool) plotter.XYs {
	n := len(ys)
	size := max(1, (n+MaxPoints-1)/MaxPoints)
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

// Line adds the series as a line in c with a legend entry (none when
// legend is empty), reduced by Reduce (peak or mean), dashed when dashed
// is set.
func Line(p *plot.Plot, times []time.Time, ys []float64, peak bool, c color.Color, dashed bool, legend string) error {
	return xyLine(p, Reduce(times, ys, peak), c, dashed, legend)
}

func xyLine(p *plot.Plot, xy plotter.XYs, c color.Color, dashed bool, legend string) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = c
	if dashed {
		l.Dashes = Dashes()
	}
	p.Add(l)
	if legend != "" {
		p.Legend.Add(legend, l)
	}
	return nil
}

// Band fills the area between lo and hi (reduced to their means) in c,
// with a legend entry. It adds nothing unless each side has two points.
func Band(p *plot.Plot, times []time.Time, lo, hi []float64, c color.Color, legend string) error {
	loXY, hiXY := Reduce(times, lo, false), Reduce(times, hi, false)
	if len(loXY) <= 1 || len(hiXY) <= 1 {
		return nil
	}
	band := make(plotter.XYs, 0, len(loXY)+len(hiXY))
	band = append(band, loXY...)
	for i := len(hiXY) - 1; i >= 0; i-- {
		band = append(band, hiXY[i])
	}
	poly, err := plotter.NewPolygon(band)
	if err != nil {
		return err
	}
	poly.Color = c
	poly.LineStyle.Width = 0
	p.Add(poly)
	p.Legend.Add(legend, poly)
	return nil
}

// Threshold draws the incident threshold above (seconds) from from to to
// as a dashed red line.
func Threshold(p *plot.Plot, from, to time.Time, above float64) error {
	return Level(p, from, to, above, Red, fmt.Sprintf("threshold %gs", above))
}

// Level draws a horizontal dashed line at y from from to to in c, with a
// legend entry (none when legend is empty).
func Level(p *plot.Plot, from, to time.Time, y float64, c color.Color, legend string) error {
	return xyLine(p, plotter.XYs{{X: float64(from.Unix()), Y: y}, {X: float64(to.Unix()), Y: y}}, c, true, legend)
}

// Shade fills the rectangle from from to to, lo to hi, in c, with a legend
// entry (none when legend is empty).
func Shade(p *plot.Plot, from, to time.Time, lo, hi float64, c color.Color, legend string) error {
	x0, x1 := float64(from.Unix()), float64(to.Unix())
	poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}})
	if err != nil {
		return err
	}
	poly.Color, poly.LineStyle.Width = c, 0
	p.Add(poly)
	if legend != "" {
		p.Legend.Add(legend, poly)
	}
	return nil
}

// Spans shades each span from base to base + its level in c, made
// translucent, with one legend entry for all of them.
func Spans(p *plot.Plot, spans []Span, base float64, c color.RGBA, legend string) error {
	fill := color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x90}
	for i, s := range spans {
		l := ""
		if i == 0 {
			l = legend
		}
		if err := Shade(p, s.From, s.To, base, base+float64(s.Level), fill, l); err != nil {
			return err
		}
	}
	return nil
}

// SpansOf returns the maximal runs of a constant, non-zero level in a
// series of levels at times: each runs from its first time to the time
// after its last (the last time itself at the end of the series).
func SpansOf(times []time.Time, levels []int) []Span {
	var out []Span
	for i, l := range levels {
		if l == 0 {
			continue
		}
		end := times[i]
		if i+1 < len(times) {
			end = times[i+1]
		}
		if n := len(out); n > 0 && out[n-1].Level == l && out[n-1].To.Equal(times[i]) {
			out[n-1].To = end
			continue
		}
		out = append(out, Span{From: times[i], To: end, Level: l})
	}
	return out
}

// SVG renders the plot at Width × Height as an SVG element for inlining
// in HTML (no XML prolog).
func SVG(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(Width, Height)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}
