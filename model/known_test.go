package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKnown: after n updates the forecast is the next values, NaN past
// the end; every path is the forecast and the deviations are zero.
func TestKnown(t *testing.T) {
	k := &Known{Values: []float64{10, 11, 12, 13, 14}}
	k.Update(10)
	k.Update(math.NaN()) // the value is not read
	got := k.Forecast(4)
	want := []float64{12, 13, 14, math.NaN()}
	for j := range want {
		if got[j] != want[j] && !(math.IsNaN(got[j]) && math.IsNaN(want[j])) {
			t.Fatalf("Forecast(4) after 2 updates = %v, want %v", got, want)
		}
	}
	for _, p := range k.Paths(3, 5, nil) {
		if p[0] != 12 || p[1] != 13 || p[2] != 14 {
			t.Fatalf("path %v, want the forecast", p)
		}
	}
	dev := NewPaths(3, 4)
	dev[2][1] = 7
	if !DeviationsInto(k, dev, rand.New(rand.NewPCG(1, 2))) {
		t.Fatal("Known has no deviations to draw")
	}
	for _, p := range dev {
		for _, d := range p {
			if d != 0 {
				t.Fatalf("deviation %v, want 0", d)
			}
		}
	}
	if k.Forecast(0) != nil || k.Paths(0, 1, nil) != nil {
		t.Error("h < 1 gives a forecast")
	}
}
