package model

import (
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
		{name: "one", p: Pattern{Above: 1, Consecutive: 3}, in: "0 2x4 0", want: []Incident{{Start: 3, End: 4}}},
		{name: "at end", p: Pattern{Above: 1, Consecutive: 2}, in: "0 0 2x3", want: []Incident{{Start: 3, End: 4}}},
		{
			name: "two",
			p:    Pattern{Above: 1, Consecutive: 2},
			in:   "2x3 0 2x2",
			want: []Incident{{Start: 1, End: 2}, {Start: 5, End: 5}},
		},
		{
			name: "missing ends a run",
			p:    Pattern{Above: 1, Consecutive: 2},
			in:   "2x3 _ 2x3",
			want: []Incident{{Start: 1, End: 2}, {Start: 5, End: 6}},
		},
		{name: "k one", p: Pattern{Above: 1, Consecutive: 1}, in: "2 0 2", want: []Incident{{Start: 0, End: 0}, {Start: 2, End: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Incidents(series(tc.in), tc.p)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Incidents = %v, want %v", got, tc.want)
			}
			var n int
			for _, in := range got {
				n += in.Len()
			}
			var want int
			for _, in := range tc.want {
				want += in.Len()
			}
			if n != want {
				t.Errorf("breach samples = %d, want %d", n, want)
			}
		})
	}
}
