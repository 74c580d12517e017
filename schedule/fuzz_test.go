package schedule

import (
	"testing"
	"time"
)

// FuzzParse parses any spec: it never panics, and a schedule it accepts
// gives windows in start order, each as long as its duration, within the
// bound asked for.
func FuzzParse(f *testing.F) {
	f.Add("prewarm", "0 9 * * 1-5", "", int64(time.Hour), "")
	f.Add("freeze", "CRON_TZ=Europe/Paris 30 1 * * *", "", int64(2*time.Hour), "")
	f.Add("event", "", "2026-11-11T19:30", int64(3*time.Hour), "Asia/Shanghai")
	f.Add("event", "", "2026-03-29", int64(24*time.Hour), "Europe/London")
	f.Add("prewarm", "@every 1m", "", int64(time.Minute), "")
	f.Add("freeze", "0 0 30 2 *", "", int64(time.Hour), "")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, kind, cron, at string, dur int64, tz string) {
		s, err := Parse(Spec{Kind: Kind(kind), Cron: cron, At: at, Duration: time.Duration(dur), Timezone: tz})
		if err != nil {
			return
		}
		ws := s.Windows(from, from.Add(14*24*time.Hour), 50)
		if len(ws) > 50 {
			t.Fatalf("%d windows, limit 50", len(ws))
		}
		for i, w := range ws {
			if i > 0 && w.Start.Before(ws[i-1].Start) {
				t.Fatalf("window %d starts %v before window %d's %v", i, w.Start, i-1, ws[i-1].Start)
			}
			if got := w.End.Sub(w.Start); got != time.Duration(dur) {
				t.Fatalf("window %d lasts %v, want %v", i, got, time.Duration(dur))
			}
		}
		s.Active(from)
		s.Next(from)
	})
}
