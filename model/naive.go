package model

import (
	"fmt"
	"math/rand/v2"
)

// Naive forecasts the last observation:
//
//	ŷ(T+h|T) = y(T)
//
// Its one-step residuals are the first differences e(t) = y(t) - y(t-1),
// and its sample paths are random walks y(T+j) = y(T+j-1) + e, e drawn with
// replacement from those differences. A missing observation (NaN, ±Inf) is
// filled with the forecast, so it adds no residual and the next residual is
// the difference to the last finite observation.
type Naive struct {
	last  float64
	resid []float64
}

var _ Forecaster = (*Naive)(nil)

func fitNaive(y []float64) (*Naive, error) {
	if c := countFinite(y); c < 2 {
		return nil, fmt.Errorf("naive: %d finite observations, need 2: %w", c, ErrShortHistory)
	}
	nv := &Naive{resid: make([]float64, 0, len(y))}
	seen := false
	for _, v := range y {
		if !finite(v) {
			continue
		}
		if seen {
			if d := v - nv.last; finite(d) {
				nv.resid = append(nv.resid, d)
			}
		}
		nv.last, seen = v, true
	}
	return nv, nil
}

// Name returns "naive".
func (*Naive) Name() string { return NameNaive }

// Update makes y the forecast; a NaN or ±Inf y keeps the forecast.
func (nv *Naive) Update(y float64) {
	if finite(y) {
		nv.last = y
	}
}

// Forecast returns h copies of the last observation.
func (nv *Naive) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	nv.forecastInto(out)
	return out
}

func (nv *Naive) forecastInto(out []float64) {
	for j := range out {
		out[j] = nv.last
	}
}

// Paths returns n random walks of length h from the last observation.
func (nv *Naive) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	nv.fillPaths(out, rng)
	return out
}

// fillPaths fills out with sample paths (see Paths).
func (nv *Naive) fillPaths(out [][]float64, rng *rand.Rand) {
	d := newDrawer(nv.resid, rng)
	for _, path := range out {
		v := nv.last
		for j := range path {
			v += d.draw()
			path[j] = bound(v)
		}
	}
}

// SeasonalNaive forecasts the observation one period earlier:
//
//	ŷ(T+h|T) = y(T+h-m⌈h/m⌉)
//
// Its one-step residuals are the seasonal differences e(t) = y(t) - y(t-m),
// and its sample paths follow its state equation y(T+j) = y(T+j-m) + e, e
// drawn with replacement from those differences, where y(T+j-m) is the
// path's own value when j > m. The errors therefore accumulate once per
// season cycle: the spread in the k-th period ahead grows like √k.
//
// A missing observation (NaN, ±Inf) is filled with the forecast y(t-m), or
// in the first period, where there is none, with the last finite
// observation before it (the first finite one for leading gaps); a filled
// step adds no residual. A series of exactly one period has no seasonal
// differences: its residual pool is then the first differences.
type SeasonalNaive struct {
	ring  []float64 // the last m observations (filled), ring[pos] = y(T+1-m)
	pos   int
	resid []float64
}

var _ Forecaster = (*SeasonalNaive)(nil)

func fitSeasonalNaive(y []float64, m int) (*SeasonalNaive, error) {
	if m <= 1 {
		return nil, fmt.Errorf("seasonal-naive: period %d: %w", m, ErrSettings)
	}
	if c := countFinite(y); c < 2 {
		return nil, fmt.Errorf("seasonal-naive: %d finite observations, need 2: %w", c, ErrShortHistory)
	}
	if len(y) < m {
		return nil, fmt.Errorf("seasonal-naive: %d observations, need a period of %d: %w", len(y), m, ErrShortHistory)
	}
	filled := make([]float64, len(y))
	first := 0
	for !finite(y[first]) {
		first++
	}
	for t, v := range y {
		switch {
		case finite(v):
		case t >= m:
			v = filled[t-m]
		case t > first:
			v = filled[t-1]
		default:
			v = y[first]
		}
		filled[t] = v
	}
	sn := &SeasonalNaive{ring: make([]float64, m), resid: make([]float64, 0, len(y)-m)}
	copy(sn.ring, filled[len(y)-m:])
	for t := m; t < len(y); t++ {
		if !finite(y[t]) {
			continue
		}
		if d := y[t] - filled[t-m]; finite(d) {
			sn.resid = append(sn.resid, d)
		}
	}
	if len(sn.resid) == 0 {
		nv, _ := fitNaive(y) // at least 2 finite observations: no error
		sn.resid = nv.resid
	}
	return sn, nil
}

// Name returns "seasonal-naive".
func (*SeasonalNaive) Name() string { return NameSeasonalNaive }

// Period returns the seasonal period in steps.
func (sn *SeasonalNaive) Period() int { return len(sn.ring) }

// Update appends y to the last period; a NaN or ±Inf y is replaced by the
// forecast y(t-m).
func (sn *SeasonalNaive) Update(y float64) {
	if finite(y) {
		sn.ring[sn.pos] = y
	}
	sn.pos++
	if sn.pos == len(sn.ring) {
		sn.pos = 0
	}
}

// Forecast returns y(T+h-m⌈h/m⌉) for steps 1..h.
func (sn *SeasonalNaive) Forecast(h int) []float64 {
	if h < 1 {
		return nil
	}
	out := make([]float64, h)
	sn.forecastInto(out)
	return out
}

func (sn *SeasonalNaive) forecastInto(out []float64) {
	idx := sn.pos
	for j := range out {
		out[j] = sn.ring[idx]
		idx++
		if idx == len(sn.ring) {
			idx = 0
		}
	}
}

// Paths returns n paths of the seasonal random walk y(T+j) = y(T+j-m) + e.
func (sn *SeasonalNaive) Paths(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := newPaths(h, n)
	sn.fillPaths(out, rng)
	return out
}

// fillPaths fills out with sample paths (see Paths).
func (sn *SeasonalNaive) fillPaths(out [][]float64, rng *rand.Rand) {
	m := len(sn.ring)
	d := newDrawer(sn.resid, rng)
	for _, path := range out {
		idx := sn.pos
		for j := range path {
			var base float64
			if j < m {
				base = sn.ring[idx]
				idx++
				if idx == m {
					idx = 0
				}
			} else {
				base = path[j-m]
			}
			path[j] = bound(base + d.draw())
		}
	}
}
