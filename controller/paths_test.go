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
	if !e.below(point, 109.5) || e.below(point, 108) {
		t.Errorf("below: the widened envelope reaches 109")
	}
	// The relative spread (6% at the third step) carries to a higher level.
	if e.below([]float64{200, 200, 200}, 210) {
		t.Errorf("below: at a forecast of 200 the relative spread reaches 218")
	}
}
