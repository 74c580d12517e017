package controller

import (
	"slices"
	"testing"
)

func TestRing(t *testing.T) {
	r := newRing(3)
	if got := r.last(5); len(got) != 0 {
		t.Fatalf("empty ring last = %v", got)
	}
	for i := 1; i <= 5; i++ {
		r.push(float64(i))
	}
	if got, want := r.last(5), []float64{3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("last(5) = %v, want %v", got, want)
	}
	if got, want := r.last(2), []float64{4, 5}; !slices.Equal(got, want) {
		t.Errorf("last(2) = %v, want %v", got, want)
	}
	if r.len() != 3 {
		t.Errorf("len = %d, want 3", r.len())
	}
}

// TestRingAgainstSlice pushes values into rings of several capacities and
// checks every last(n) against the tail of a plain slice, wrapped or not.
func TestRingAgainstSlice(t *testing.T) {
	for _, capacity := range []int{1, 2, 5, 8} {
		r := newRing(capacity)
		var all []float64
		for v := range 3*capacity + 2 {
			r.push(float64(v))
			all = append(all, float64(v))
			held := all[max(len(all)-capacity, 0):]
			if r.len() != len(held) {
				t.Fatalf("capacity %d after %d pushes: len %d, want %d", capacity, v+1, r.len(), len(held))
			}
			for n := range capacity + 2 {
				want := held[max(len(held)-n, 0):]
				if got := r.last(n); !slices.Equal(got, want) {
					t.Fatalf("capacity %d after %d pushes: last(%d) = %v, want %v", capacity, v+1, n, got, want)
				}
			}
		}
	}
}
