package metrics

import (
	"math"
	"time"
)

// Grid is a series on a regular step: Values[i] is the value over
// [Start + i·Step, Start + (i+1)·Step). NaN marks a step with no value (a
// gap), never zero. A load trace is a Grid of arrival rates.
type Grid struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// At returns the value of the step containing t, or NaN when t is outside
// the grid (or the grid has no step).
func (g *Grid) At(t time.Time) float64 {
	if g == nil || g.Step <= 0 || t.Before(g.Start) {
		return math.NaN()
	}
	i := t.Sub(g.Start) / g.Step
	if i >= time.Duration(len(g.Values)) {
		return math.NaN()
	}
	return g.Values[i]
}

// End returns the end of the grid's last step.
func (g *Grid) End() time.Time {
	return g.Start.Add(time.Duration(len(g.Values)) * g.Step)
}
