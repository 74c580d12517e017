package controller

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedObsFollowsTheRing checks that the merged, sorted copy of a
// level's observations is always the ring's content sorted by load, as the
// ring fills, drops its oldest and is re-sorted at irregular intervals.
func TestSortedObsFollowsTheRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ls := &levelStats{obs: newPairRing(50)}
	for i := range 400 {
		x := math.Round(rng.Float64()*40) / 4 // ties on purpose
		ls.push(x, x*2+1)
		if i%7 != 3 && i%23 != 0 {
			continue
		}
		gx, gy := ls.sortedObs()
		n := ls.obs.x.len()
		wx := ls.obs.x.last(n)
		slices.Sort(wx)
		if !slices.Equal(gx, wx) {
			t.Fatalf("after %d pushes: sorted %v, want %v", i+1, gx, wx)
		}
		for j := range gx {
			if gy[j] != gx[j]*2+1 {
				t.Fatalf("after %d pushes: pair %d is (%v, %v): y does not go with x", i+1, j, gx[j], gy[j])
			}
		}
	}
}

func TestEnvelope(t *testing.T) {
	var e envelope
	point := []float64{100, 100, 100}
	paths := [][]float64{{101, 103, 104}, {99, 97, 106}, {100, 100, 100}}
	e.measure(paths, point, [3]float64{99, 100, 104})
	if !e.ok || !slices.Equal(e.abs, []float64{1, 3, 6}) {
		t.Fatalf("envelope %+v", e)
	}
	if e.dev != [3]float64{-1, 0, 4} {
		t.Errorf("deviations %v", e.dev)
	}
	// 100 + 1.5×6 = 109 at the third step.
	if !e.below(point, 109.5, 1, 0) || e.below(point, 108, 1, 0) {
		t.Errorf("below: the widened envelope reaches 109")
	}
	// The relative spread (6% at the third step) carries to a higher level.
	if e.below([]float64{200, 200, 200}, 210, 1, 0) {
		t.Errorf("below: at a forecast of 200 the relative spread reaches 218")
	}
	// The widened upper bounds are 101.5, 104.5 and 109: a pattern of k
	// samples in a row completes only where k steps in a row reach the
	// level, the run already above counting at the start.
	for _, c := range []struct {
		level  float64
		k, run int
		below  bool
	}{
		{108, 1, 0, false}, {108, 2, 0, true}, {108, 2, 1, true},
		{104, 2, 0, false}, {104, 3, 0, true}, {104, 3, 1, true},
		{101, 3, 0, false}, {101, 4, 0, true}, {101, 4, 1, false}, {101, 5, 1, true},
	} {
		if got := e.below(point, c.level, c.k, c.run); got != c.below {
			t.Errorf("below(%v, k %d, run %d) = %v", c.level, c.k, c.run, got)
		}
	}
}
