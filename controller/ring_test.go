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
