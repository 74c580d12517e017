package metrics

import (
	"math"
	"testing"
	"time"
)

func TestGridAt(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tr := &Grid{Start: start, Step: time.Minute, Values: []float64{1, math.NaN(), 3}}
	tests := []struct {
		name string
		t    time.Time
		want float64
	}{
		{"before", start.Add(-time.Nanosecond), math.NaN()},
		{"start", start, 1},
		{"inside the first step", start.Add(59 * time.Second), 1},
		{"gap", start.Add(time.Minute), math.NaN()},
		{"last step", start.Add(2*time.Minute + 30*time.Second), 3},
		{"end", start.Add(3 * time.Minute), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.At(tt.t)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("At(%v) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
	if !tr.End().Equal(start.Add(3 * time.Minute)) {
		t.Errorf("End() = %v", tr.End())
	}
	if v := (&Grid{Start: start, Values: []float64{1}}).At(start); !math.IsNaN(v) {
		t.Errorf("At on a grid without a step = %v, want NaN", v)
	}
	if v := (*Grid)(nil).At(start); !math.IsNaN(v) {
		t.Errorf("At on a nil grid = %v, want NaN", v)
	}
}
