package model

import "slices"

// clone returns an independent copy of f's state. Residual pools are
// shared: they are never changed in place.
func clone(f Forecaster) Forecaster {
	switch f := f.(type) {
	case *HoltWinters:
		c := *f
		c.season = slices.Clone(f.season)
		return &c
	case *HoltWintersMult:
		c := *f
		c.season = slices.Clone(f.season)
		return &c
	case *DoubleSeasonal:
		c := *f
		c.d, c.w = slices.Clone(f.d), slices.Clone(f.w)
		return &c
	case *SeasonalNaive:
		c := *f
		c.ring = slices.Clone(f.ring)
		return &c
	case *Naive:
		c := *f
		return &c
	case *Theta:
		c := *f
		return &c
	case *AR:
		c := *f
		c.hist = slices.Clone(f.hist)
		return &c
	case *LinearTrend:
		c := *f
		return &c
	case *LogScale:
		return &LogScale{Forecaster: clone(f.Forecaster)}
	case *Events:
		c := *f
		c.Forecaster = clone(f.Forecaster)
		return &c
	case *Calibrated:
		return &Calibrated{Forecaster: clone(f.Forecaster), Scales: f.Scales}
	case *Combination:
		c := *f
		c.members = make([]Forecaster, len(f.members))
		for i, m := range f.members {
			c.members[i] = clone(m)
		}
		return &c
	}
	panic("model: clone of an unknown forecaster")
}
