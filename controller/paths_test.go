package controller

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLevelPairsAreTheLastOnes checks that a level learns from its last
// history-length pairs, sorted by load with ties in time order, whether
// they are still in the service's history or have left it, as the
// history fills and drops entries of several levels, some teaching
// nothing.
func TestLevelPairsAreTheLastOnes(t *testing.T) {
	const capacity = 50
	rng := rand.New(rand.NewPCG(1, 2))
	s := &service{hist: newHistory(capacity), levels: make([]levelStats, 3)}
	var seen [3][][2]float64 // every pair of each level, in time order
	var sc pairs
	for i := range 2000 {
		x := math.Round(rng.Float64()*40)/4 - 2 // ties on purpose, and negative loads, and 0
		level := rng.IntN(4)                    // 3: teaches nothing
		if i > 1000 && level == 2 {
			level = 3 // level 2 leaves the history for good
		}
		lat := math.NaN()
		if level < 3 {
			lat = x*2 + 1 + float64(i%4)/4 // ties of x in time order
			seen[level] = append(seen[level], [2]float64{x, lat})
		}
		s.keepOlder(s.hist.push(x, lat, uint8(level%3)))
		if i%7 != 3 && i%23 != 0 {
			continue
		}
		for l := range 3 {
			want := seen[l][max(0, len(seen[l])-capacity):]
			want = slices.Clone(want)
			slices.SortStableFunc(want, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
			gx, gy := s.pairs(l, &sc)
			if len(gx) != len(want) {
				t.Fatalf("after %d pushes: level %d has %d pairs, want %d", i+1, l, len(gx), len(want))
			}
			for k, w := range want {
				if gx[k] != w[0] || gy[k] != w[1] {
					t.Fatalf("after %d pushes: level %d pair %d is (%v, %v), want (%v, %v)", i+1, l, k, gx[k], gy[k], w[0], w[1])
				}
			}
		}
	}
	if o := s.levels[2].older; o == nil || o.x.len() == 0 {
		t.Fatal("level 2 kept none of the pairs that left the history")
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

// TestOnSide checks that a latency kept as a float32 stays on its side of
// the threshold.
func TestOnSide(t *testing.T) {
	for _, above := range []float64{0.5, 0.3, 0.1, 1.0 / 3} {
		for _, v := range []float64{above, math.Nextafter(above, 1), math.Nextafter(above, 0), 0.05 / (1 - 0.9), above * (1 + 1e-9), above * (1 - 1e-9), 0, 2} {
			got := onSide(v, above)
			if (got > above) != (v > above) || float64(float32(got)) != got || math.Abs(got-v) > 1e-6*math.Abs(v)+1e-12 {
				t.Errorf("onSide(%v, %v) = %v: another side, or not a float32 near it", v, above, got)
			}
		}
	}
}
