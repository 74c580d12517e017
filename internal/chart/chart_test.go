package chart

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func minutes(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t0.Add(time.Duration(i) * time.Minute)
	}
	return out
}

func TestReduce(t *testing.T) {
	tests := []struct {
		name string
		n    int
		peak bool
		want int // points
	}{
		{"short kept whole", 10, false, 10},
		{"long bucketed", 3 * MaxPoints, true, MaxPoints},
		{"one more than max", MaxPoints + 1, false, (MaxPoints + 1 + 1) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ys := make([]float64, tt.n)
			for i := range ys {
				ys[i] = float64(i)
			}
			if got := len(Reduce(minutes(tt.n), ys, tt.peak)); got != tt.want {
				t.Errorf("%d points, want %d", got, tt.want)
			}
		})
	}
	xy := Reduce(minutes(4), []float64{1, math.NaN(), math.Inf(1), 3}, false)
	if len(xy) != 2 || xy[0].Y != 1 || xy[1].Y != 3 {
		t.Errorf("NaN and Inf are not skipped: %v", xy)
	}
	ys := make([]float64, 2*MaxPoints)
	ys[1] = 10
	if xy := Reduce(minutes(len(ys)), ys, true); xy[0].Y != 10 {
		t.Errorf("peak of the first bucket = %g, want 10", xy[0].Y)
	}
	if xy := Reduce(minutes(len(ys)), ys, false); xy[0].Y != 5 {
		t.Errorf("mean of the first bucket = %g, want 5", xy[0].Y)
	}
}

func TestSpansOf(t *testing.T) {
	times := minutes(7)
	got := SpansOf(times, []int{0, 1, 1, 2, 0, 1, 1})
	want := []Span{{times[1], times[3], 1}, {times[3], times[4], 2}, {times[5], times[6], 1}}
	if len(got) != len(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) || got[i].Level != want[i].Level {
			t.Errorf("span %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// ones returns n levels, 1 from i on.
func ones(i, n int) []int {
	out := make([]int, n)
	for k := i; k < n; k++ {
		out[k] = 1
	}
	return out
}

// TestSVG draws every kind of mark and checks the SVG has them: the band
// in its fill, the threshold in red, the legend's text escaped.
func TestSVG(t *testing.T) {
	times := minutes(60)
	lo, hi, obs := make([]float64, 60), make([]float64, 60), make([]float64, 60)
	for i := range obs {
		obs[i] = 100 + 10*math.Sin(float64(i)/5)
		lo[i], hi[i] = obs[i]-5, obs[i]+5
	}
	p := NewTime("requests/s")
	for _, err := range []error{
		Band(p, times, lo, hi, BandFill, "band"),
		Line(p, times, obs, false, Observed, false, "observed <script>"),
		Threshold(p, times[0], times[59], 120),
		Spans(p, SpansOf(times, ones(30, 60)), 0, Observed, "engaged"),
		Shade(p, times[10], times[20], 1, 200, BandFill, "window"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	svg, err := SVG(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if !strings.HasPrefix(s, "<svg") {
		t.Errorf("the SVG starts %q, want <svg", s[:min(20, len(s))])
	}
	for _, want := range []string{"fill:#1E6EB3", "stroke:#CC0000", "threshold 120s", "fill:#323232;fill-opacity:0.56471", "engaged", "observed &lt;script&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if strings.Contains(s, "<script>") {
		t.Error("the legend's text is not escaped")
	}
}
