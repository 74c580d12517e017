package model

import (
	"math/rand/v2"
	"slices"
)

// Events is a model with a known regressor: a mask of the steps that fall
// in a known event's window (a sale, a weekly promotion), over the history
// it was fitted on and beyond. The event lifts the series by a factor u,
// the uplift, estimated from the events in the history:
//
//	u = Σ y(i) / Σ b(i)   over the event steps i of the history,
//
// where b(i) is the series' own baseline at i: the value one seasonal
// period m earlier (or two, three, ...; later when there is none earlier)
// that is not in an event, or without a season the last value before i not
// in an event. The base model is fitted to the series with the event steps
// divided by u, so the season does not learn the event; it is updated the
// same way, and its forecasts and sample paths are multiplied by u at the
// future steps that the mask puts in an event:
//
//	ŷ(T+j) = u^e(T+j) · ŷ_base(T+j),  e = 1 in an event window, else 0.
//
// Fit returns one when Settings.Events marks at least one step of the
// history whose baseline is known; the steps past the end of the mask are
// not in an event.
type Events struct {
	// Forecaster is the base model, on the series with events divided out.
	Forecaster
	// Uplift is u, > 0.
	Uplift float64
	// Mask reports for step i (0: the first observation of the fit) whether
	// it is in an event window.
	Mask []bool
	// N is the number of observations so far: the next is step N.
	N int
}

var _ Forecaster = (*Events)(nil)

func (e *Events) event(i int) bool { return i >= 0 && i < len(e.Mask) && e.Mask[i] }

// Update feeds y to the base model, divided by the uplift in an event.
func (e *Events) Update(y float64) {
	if e.event(e.N) {
		y /= e.Uplift
	}
	e.Forecaster.Update(y)
	e.N++
}

// Forecast returns the base model's forecast, multiplied by the uplift at
// the steps in an event.
func (e *Events) Forecast(h int) []float64 {
	out := slices.Clone(e.Forecaster.Forecast(h))
	for j := range out {
		if e.event(e.N + j) {
			out[j] = bound(out[j] * e.Uplift)
		}
	}
	return out
}

// Paths returns the base model's paths, multiplied by the uplift at the
// steps in an event.
func (e *Events) Paths(h, n int, rng *rand.Rand) [][]float64 {
	out := e.Forecaster.Paths(h, n, rng)
	for j := range h {
		if !e.event(e.N + j) {
			continue
		}
		for _, p := range out {
			p[j] = bound(p[j] * e.Uplift)
		}
	}
	return out
}

// uplift estimates u (see Events) from the event steps of y; ok is false
// when no event step of y has a finite value and a baseline.
func uplift(y []float64, mask []bool, m int) (u float64, ok bool) {
	ev := func(i int) bool { return i < len(mask) && mask[i] }
	usable := func(i int) bool { return i >= 0 && i < len(y) && !ev(i) && finite(y[i]) }
	var sy, sb float64
	for i, v := range y {
		if !ev(i) || !finite(v) {
			continue
		}
		b := -1
		if m > 1 {
			for k := i - m; k >= 0 && b < 0; k -= m {
				if usable(k) {
					b = k
				}
			}
			for k := i + m; k < len(y) && b < 0; k += m {
				if usable(k) {
					b = k
				}
			}
		} else {
			for k := i - 1; k >= 0 && b < 0; k-- {
				if usable(k) {
					b = k
				}
			}
		}
		if b < 0 {
			continue
		}
		sy += v
		sb += y[b]
	}
	if !(sb > 0) || !(sy > 0) {
		return 0, false
	}
	return sy / sb, true
}

// fitEvents fits the base model to y with the event steps divided by their
// uplift, and wraps it in Events; without a usable event in y, it is Fit
// without events.
func fitEvents(y []float64, s Settings) (Forecaster, error) {
	mask := s.Events
	s.Events = nil
	u, ok := uplift(y, mask, s.period())
	if !ok {
		return Fit(y, s)
	}
	adj := slices.Clone(y)
	for i := range adj {
		if i < len(mask) && mask[i] {
			adj[i] /= u
		}
	}
	base, err := Fit(adj, s)
	if err != nil {
		return nil, err
	}
	return &Events{Forecaster: base, Uplift: u, Mask: mask, N: len(y)}, nil
}
