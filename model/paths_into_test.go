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
