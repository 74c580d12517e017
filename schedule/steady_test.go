package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestSteadyNext checks the shortcut of nextStart against the walk of the
// wall-clock rule: wherever steadyNext answers, it answers as walkNext
// does, at random instants of 2026 and every 10 minutes across each change
// of offset, in zones with and without daylight saving (Lord Howe's moves
// by 30 minutes).
func TestSteadyNext(t *testing.T) {
	zones := []string{"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Sao_Paulo"}
	crons := []string{"*/2 * * * *", "30 2 * * *", "0 19 * * 2,5", "15 1 * * 0", "0 0 1 * *", "*/7 1-3 * * *", "0 0 29 2 *"}
	rng := rand.New(rand.NewPCG(1, 1))
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		for range 300 {
			times = append(times, year.Add(time.Duration(rng.Int64N(int64(366*24*time.Hour)))))
		}
		// Every change of offset in 2026, and the 12 hours around it.
		for at := year; at.Year() == 2026; {
			_, end := at.In(loc).ZoneBounds()
			if end.IsZero() || end.Year() != 2026 {
				break
			}
			for d := -6 * time.Hour; d <= 6*time.Hour; d += 10 * time.Minute {
				times = append(times, end.Add(d))
			}
			at = end
		}
		steady := 0
		for _, expr := range crons {
			s, err := Parse(Spec{Name: "x", Kind: Event, Cron: expr, Duration: time.Minute, Timezone: zone})
			if err != nil {
				t.Fatal(err)
			}
			for _, tm := range times {
				got, ok := s.steadyNext(tm)
				if !ok {
					continue
				}
				steady++
				if want := s.walkNext(tm); !got.Equal(want) || got.Location() != want.Location() {
					t.Errorf("%s %q after %v: steadyNext %v, walkNext %v", zone, expr, tm, got, want)
				}
			}
		}
		if steady == 0 {
			t.Errorf("%s: steadyNext never answered", zone)
		}
	}
}

// BenchmarkWindowsDense lists a week of the densest event windows check
// allows at a 1m interval (1m every 2m) in a zone with daylight saving.
func BenchmarkWindowsDense(b *testing.B) {
	s, err := Parse(Spec{Name: "x", Kind: Event, Cron: "*/2 * * * *", Duration: time.Minute, Timezone: "Europe/Paris"})
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC) // the week of the autumn change
	for b.Loop() {
		// 30 an hour, but the repeated hour of 2026-10-25 opens its windows
		// once (the wall-clock rule: an overlap's earlier instant).
		if n := len(s.Windows(from, from.Add(7*24*time.Hour), 0)); n != 7*24*30-30 {
			b.Fatalf("%d windows", n)
		}
	}
}
