package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHoldState(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pattern
		in   string
		want []HoldState
	}{
		{
			name: "pending then firing",
			p:    Pattern{Above: 1, Consecutive: 3},
			in:   "0 2 2 2 2 0",
			want: []HoldState{Inactive, Pending, Pending, Firing, Firing, Inactive},
		},
		{
			name: "reset before firing",
			p:    Pattern{Above: 1, Consecutive: 3},
			in:   "2 2 1 2",
			want: []HoldState{Pending, Pending, Inactive, Pending},
		},
		{
			name: "missing keeps state",
			p:    Pattern{Above: 1, Consecutive: 2},
			in:   "2 _ 2 _ 0",
			want: []HoldState{Pending, Pending, Firing, Firing, Inactive},
		},
		{
			name: "consecutive below one counts as one",
			p:    Pattern{Above: 1},
			in:   "2 0",
			want: []HoldState{Firing, Inactive},
		},
		{
			name: "equal is not above",
			p:    Pattern{Above: 1, Consecutive: 1},
			in:   "1",
			want: []HoldState{Inactive},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Hold{Pattern: tc.p}
			var got []HoldState
			for _, v := range series(tc.in) {
				got = append(got, h.Observe(v))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("states = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHoldStateString(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    HoldState
		want string
	}{
		{name: "inactive", s: Inactive, want: "inactive"},
		{name: "pending", s: Pending, want: "pending"},
		{name: "firing", s: Firing, want: "firing"},
		{name: "unknown", s: HoldState(7), want: "HoldState(7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIncidents(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pattern
		in   string
		want []Incident
	}{
		{name: "none", p: Pattern{Above: 1, Consecutive: 3}, in: "0x5 2 2 0", want: nil},
		{name: "one", p: Pattern{Above: 1, Consecutive: 3}, in: "0 2x4 0", want: []Incident{{Start: 3, End: 4, Breach: 2}}},
		{name: "at end", p: Pattern{Above: 1, Consecutive: 2}, in: "0 0 2x3", want: []Incident{{Start: 3, End: 4, Breach: 2}}},
		{
			name: "two",
			p:    Pattern{Above: 1, Consecutive: 2},
			in:   "2x3 0 2x2",
			want: []Incident{{Start: 1, End: 2, Breach: 2}, {Start: 5, End: 5, Breach: 1}},
		},
		{
			name: "missing ends a run",
			p:    Pattern{Above: 1, Consecutive: 2},
			in:   "2x3 _ 2x3",
			want: []Incident{{Start: 1, End: 2, Breach: 2}, {Start: 5, End: 6, Breach: 2}},
		},
		{name: "k one", p: Pattern{Above: 1, Consecutive: 1}, in: "2 0 2", want: []Incident{{Start: 0, End: 0, Breach: 1}, {Start: 2, End: 2, Breach: 1}}},
		{
			name: "resolve after one is a run",
			p:    Pattern{Above: 1, Consecutive: 1, ResolveAfter: 1},
			in:   "2 0 2",
			want: []Incident{{Start: 0, End: 0, Breach: 1}, {Start: 2, End: 2, Breach: 1}},
		},
		{
			name: "breach back before resolved merges",
			p:    Pattern{Above: 1, Consecutive: 2, ResolveAfter: 3},
			in:   "2x3 0 0 2x3 0",
			want: []Incident{{Start: 1, End: 7, Breach: 4}},
		},
		{
			name: "resolved after enough quiet samples",
			p:    Pattern{Above: 1, Consecutive: 2, ResolveAfter: 3},
			in:   "2x3 0x3 2x3",
			want: []Incident{{Start: 1, End: 2, Breach: 2}, {Start: 7, End: 8, Breach: 2}},
		},
		{
			name: "equal is quiet",
			p:    Pattern{Above: 1, Consecutive: 1, ResolveAfter: 2},
			in:   "2 1 1 2",
			want: []Incident{{Start: 0, End: 0, Breach: 1}, {Start: 3, End: 3, Breach: 1}},
		},
		{
			// The lone 2s are above the threshold but no breach: they
			// restart the quiet count, so the incident stays open, and
			// are not counted in breach.
			name: "a spike short of a breach keeps it open",
			p:    Pattern{Above: 1, Consecutive: 2, ResolveAfter: 2},
			in:   "2 2 0 2 0 2 0 2 2",
			want: []Incident{{Start: 1, End: 8, Breach: 2}},
		},
		{
			name: "missing counts as quiet",
			p:    Pattern{Above: 1, Consecutive: 1, ResolveAfter: 2},
			in:   "2 _ _ 2 _ 2",
			want: []Incident{{Start: 0, End: 0, Breach: 1}, {Start: 3, End: 5, Breach: 2}},
		},
		{
			name: "never resolved at the end",
			p:    Pattern{Above: 1, Consecutive: 1, ResolveAfter: 10},
			in:   "0 2 0 2 0",
			want: []Incident{{Start: 1, End: 3, Breach: 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Incidents(series(tc.in), tc.p)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Incidents = %v, want %v", got, tc.want)
			}
			var breach, above int
			for _, in := range got {
				breach += in.Breach
				if in.Breach > in.Len() {
					t.Errorf("incident %v: %d samples in breach, more than its %d", in, in.Breach, in.Len())
				}
			}
			h := Hold{Pattern: tc.p}
			for _, v := range series(tc.in) {
				if h.ObserveBreach(v > tc.p.Above); h.State() == Firing {
					above++
				}
			}
			if breach != above {
				t.Errorf("breach samples = %d, the hold fired %d times", breach, above)
			}
		})
	}
}

// TestIncidentsMerge checks Incidents on random series against the
// definition written out: the maximal runs of breach (ResolveAfter 0,
// every run an incident), merged whenever the samples between two runs
// hold no ResolveAfter samples in a row at or below the threshold.
func TestIncidentsMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 500 {
		xs := make([]float64, 1+rng.IntN(80))
		for i := range xs {
			switch r := rng.Float64(); {
			case r < 0.05:
				xs[i] = math.NaN()
			case r < 0.55:
				xs[i] = 2
			default:
				xs[i] = 0
			}
		}
		k, ra := 1+rng.IntN(3), rng.IntN(6)
		p := Pattern{Above: 1, Consecutive: k}
		var runs []Incident
		h := Hold{Pattern: p}
		for i, v := range xs {
			h.ObserveBreach(v > p.Above)
			if h.State() != Firing {
				continue
			}
			if n := len(runs); n > 0 && runs[n-1].End == i-1 {
				runs[n-1].End, runs[n-1].Breach = i, runs[n-1].Breach+1
			} else {
				runs = append(runs, Incident{Start: i, End: i, Breach: 1})
			}
		}
		if got := Incidents(xs, p); !slices.Equal(got, runs) {
			t.Fatalf("trial %d: %v k=%d: Incidents = %v, the runs of breach are %v", trial, xs, k, got, runs)
		}
		var want []Incident
		for _, r := range runs {
			n := len(want)
			if n == 0 || quietRun(xs[want[n-1].End+1:r.Start], p.Above) >= ra {
				want = append(want, r)
				continue
			}
			want[n-1].End, want[n-1].Breach = r.End, want[n-1].Breach+r.Breach
		}
		p.ResolveAfter = ra
		if got := Incidents(xs, p); !slices.Equal(got, want) {
			t.Fatalf("trial %d: %v k=%d resolve after %d: Incidents = %v, want %v", trial, xs, k, ra, got, want)
		}
	}
}

// quietRun returns the longest run of xs not above the threshold.
func quietRun(xs []float64, above float64) int {
	best, n := 0, 0
	for _, v := range xs {
		if v > above {
			n = 0
			continue
		}
		n++
		best = max(best, n)
	}
	return best
}
