package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPathsIntoIsPaths: PathsInto fills the caller's paths with exactly
// what Paths returns from the same random source, for every model, and a
// draw split in two batches (the controller's screening) continues the
// same stream when the first batch draws an even number of residuals
// (not for a combination, which draws each member's batch in turn).
func TestPathsIntoIsPaths(t *testing.T) {
	y := seasonal(960, 24, 100, 0.01, 20, 2, 1)
	for _, name := range Names() {
		if name == NameAuto {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f, err := Fit(y, Settings{Model: name, Period: 24, Periods: []int{168}, Horizon: 24})
			if err != nil {
				t.Fatal(err)
			}
			const h, n = 30, 50
			want := f.Paths(h, n, rand.New(rand.NewPCG(7, 7)))
			got := NewPaths(h, n)
			rng := rand.New(rand.NewPCG(7, 7))
			if name == NameCombination {
				PathsInto(f, got, rng)
			} else {
				PathsInto(f, got[:20], rng)
				PathsInto(f, got[20:], rng)
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("path %d: PathsInto %v, Paths %v", i, got[i][:3], want[i][:3])
				}
			}
		})
	}
}

// TestDrawerFill: fill gives the draws that draw gives one at a time, in
// the same order, whatever the lengths (odd ones leave half a random value
// for the next).
func TestDrawerFill(t *testing.T) {
	pool := []float64{1, 2, 3, 4, 5, 6, 7}
	a := newDrawer(pool, rand.New(rand.NewPCG(3, 4)))
	b := newDrawer(pool, rand.New(rand.NewPCG(3, 4)))
	for _, n := range []int{0, 1, 2, 3, 5, 4, 1, 1, 6, 7, 0, 2} {
		got := make([]float64, n)
		a.fill(got)
		for j := range got {
			if want := b.draw(); got[j] != want {
				t.Fatalf("length %d, draw %d: fill %v, draw %v", n, j, got[j], want)
			}
		}
	}
}

// TestHoltWintersFillPaths: the paths drawn first and filtered four at a
// time are those of the state equations run path by path, draw by draw,
// with and without a season, within and beyond one period, for path
// counts that four does not divide.
func TestHoltWintersFillPaths(t *testing.T) {
	y := seasonal(960, 24, 100, 0.01, 20, 2, 1)
	for _, period := range []int{0, 24} {
		f, err := Fit(y, Settings{Model: NameHoltWinters, Period: period})
		if err != nil {
			t.Fatal(err)
		}
		hw := f.(*HoltWinters)
		for _, c := range []struct{ h, n int }{{1, 1}, {5, 7}, {30, 9}, {30, 200}, {61, 6}} {
			got := NewPaths(c.h, c.n)
			hw.fillPaths(got, rand.New(rand.NewPCG(5, 6)))
			want := NewPaths(c.h, c.n)
			d := newDrawer(hw.resid, rand.New(rand.NewPCG(5, 6)))
			fresh := make([]float64, c.h)
			p := hw.p
			for _, path := range want {
				l, b, idx := hw.level, hw.trend, hw.pos
				for j := range path {
					var s float64
					switch {
					case hw.m == 0:
					case j < hw.m:
						s = hw.season[idx]
						if idx++; idx == hw.m {
							idx = 0
						}
					default:
						s = fresh[j-hw.m]
					}
					e := d.draw()
					f := l + p.Phi*b
					path[j] = bound(hw.center + hw.scale*(f+s+e))
					l = f + p.Alpha*e
					b = p.Phi*b + p.Beta*e
					fresh[j] = s + p.Gamma*e
				}
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("period %d, h %d, n %d, path %d: %v, want %v", period, c.h, c.n, i, got[i], want[i])
				}
			}
		}
	}
}
