package schedule

import (
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has
)

func mustParse(t *testing.T, sp Spec) *Schedule {
	t.Helper()
	s, err := Parse(sp)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", sp, err)
	}
	return s
}

func loc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestActive evaluates windows across time zones and daylight-saving
// changes. Times in the table are UTC; comments give the local time.
func TestActive(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		spec       Spec
		now        string
		active     bool
		start, end string // of the active window when active, else of the next
	}{
		{name: "daily utc inside", spec: Spec{Cron: "30 19 * * *", Duration: 3 * time.Hour},
			now: "2026-01-05T20:00:00Z", active: true, start: "2026-01-05T19:30:00Z", end: "2026-01-05T22:30:00Z"},
		{name: "start is inclusive", spec: Spec{Cron: "30 19 * * *", Duration: 3 * time.Hour},
			now: "2026-01-05T19:30:00Z", active: true, start: "2026-01-05T19:30:00Z", end: "2026-01-05T22:30:00Z"},
		{name: "end is exclusive", spec: Spec{Cron: "30 19 * * *", Duration: 3 * time.Hour},
			now: "2026-01-05T22:30:00Z", start: "2026-01-06T19:30:00Z", end: "2026-01-06T22:30:00Z"},
		{name: "window across midnight", spec: Spec{Cron: "0 22 * * *", Duration: 4 * time.Hour},
			now: "2026-01-06T01:59:00Z", active: true, start: "2026-01-05T22:00:00Z", end: "2026-01-06T02:00:00Z"},
		{name: "timezone field", spec: Spec{Cron: "30 19 * * *", Timezone: "Asia/Shanghai", Duration: 3 * time.Hour},
			now: "2026-01-05T12:00:00Z", active: true, start: "2026-01-05T11:30:00Z", end: "2026-01-05T14:30:00Z"},
		{name: "CRON_TZ prefix", spec: Spec{Cron: "CRON_TZ=Asia/Shanghai 30 19 * * *", Duration: 3 * time.Hour},
			now: "2026-01-05T12:00:00Z", active: true, start: "2026-01-05T11:30:00Z", end: "2026-01-05T14:30:00Z"},
		{name: "descriptor @weekly", spec: Spec{Cron: "@weekly", Timezone: "Europe/Paris", Duration: time.Hour},
			now: "2026-01-03T23:30:00Z", active: true, start: "2026-01-03T23:00:00Z", end: "2026-01-04T00:00:00Z"}, // Sunday 00:00 CET
		{name: "weekday in the zone, not in UTC", spec: Spec{Cron: "0 1 * * 1", Timezone: "Asia/Tokyo", Duration: time.Hour},
			now: "2026-01-04T16:30:00Z", active: true, start: "2026-01-04T16:00:00Z", end: "2026-01-04T17:00:00Z"}, // Mon 01:00 JST = Sun 16:00 UTC
		// New York springs forward 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist.
		{name: "gap: start moves later by the gap", spec: Spec{Cron: "30 2 * * *", Timezone: "America/New_York", Duration: time.Hour},
			now: "2026-03-08T07:45:00Z", active: true, start: "2026-03-08T07:30:00Z", end: "2026-03-08T08:30:00Z"}, // 03:30 EDT
		{name: "gap: not skipped, next from before it", spec: Spec{Cron: "30 2 * * *", Timezone: "America/New_York", Duration: time.Hour},
			now: "2026-03-08T06:59:00Z", start: "2026-03-08T07:30:00Z", end: "2026-03-08T08:30:00Z"}, // 01:59 EST → 03:30 EDT
		{name: "gap: next from after the gap, before the moved start", spec: Spec{Cron: "30 2 * * *", Timezone: "America/New_York", Duration: time.Hour},
			now: "2026-03-08T07:10:00Z", start: "2026-03-08T07:30:00Z", end: "2026-03-08T08:30:00Z"}, // 03:10 EDT
		{name: "gap: next day back to 02:30 EDT", spec: Spec{Cron: "30 2 * * *", Timezone: "America/New_York", Duration: time.Hour},
			now: "2026-03-08T09:00:00Z", start: "2026-03-09T06:30:00Z", end: "2026-03-09T07:30:00Z"},
		{name: "gap: duration is elapsed time", spec: Spec{Cron: "30 0 * * *", Timezone: "America/New_York", Duration: 3 * time.Hour},
			now: "2026-03-08T08:00:00Z", active: true, start: "2026-03-08T05:30:00Z", end: "2026-03-08T08:30:00Z"}, // 00:30 EST → 04:30 EDT
		// New York falls back 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice.
		{name: "overlap: first 01:30 opens", spec: Spec{Cron: "30 1 * * *", Timezone: "America/New_York", Duration: 30 * time.Minute},
			now: "2026-11-01T05:40:00Z", active: true, start: "2026-11-01T05:30:00Z", end: "2026-11-01T06:00:00Z"}, // 01:40 EDT
		{name: "overlap: second 01:30 does not", spec: Spec{Cron: "30 1 * * *", Timezone: "America/New_York", Duration: 30 * time.Minute},
			now: "2026-11-01T06:40:00Z", start: "2026-11-02T06:30:00Z", end: "2026-11-02T07:00:00Z"}, // 01:40 EST
		// Paris springs forward 2026-03-29 02:00 CET → 03:00 CEST.
		{name: "paris gap", spec: Spec{Cron: "CRON_TZ=Europe/Paris 30 2 * * *", Duration: time.Hour},
			now: "2026-03-29T01:00:00Z", start: "2026-03-29T01:30:00Z", end: "2026-03-29T02:30:00Z"}, // 03:30 CEST
		{name: "one-off with offset", spec: Spec{At: "2026-11-11T20:00:00+08:00", Duration: 2 * time.Hour},
			now: "2026-11-11T12:30:00Z", active: true, start: "2026-11-11T12:00:00Z", end: "2026-11-11T14:00:00Z"},
		{name: "one-off local date-time", spec: Spec{At: "2026-11-11T20:00", Timezone: "Asia/Shanghai", Duration: 2 * time.Hour},
			now: "2026-11-11T11:00:00Z", start: "2026-11-11T12:00:00Z", end: "2026-11-11T14:00:00Z"},
		{name: "one-off local date in a gap", spec: Spec{At: "2026-03-08 02:30", Timezone: "America/New_York", Duration: time.Hour},
			now: "2026-03-08T07:30:00Z", active: true, start: "2026-03-08T07:30:00Z", end: "2026-03-08T08:30:00Z"},
		{name: "one-off date", spec: Spec{At: "2026-11-11", Timezone: "UTC", Duration: 24 * time.Hour},
			now: "2026-11-11T23:59:00Z", active: true, start: "2026-11-11T00:00:00Z", end: "2026-11-12T00:00:00Z"},
		{name: "one-off past", spec: Spec{At: "2026-11-11", Duration: time.Hour}, now: "2026-11-12T00:00:00Z"},
		{name: "occurrences overlapping: the latest", spec: Spec{Cron: "0 * * * *", Duration: 90 * time.Minute},
			now: "2026-01-05T10:20:00Z", active: true, start: "2026-01-05T10:00:00Z", end: "2026-01-05T11:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := tt.spec
			sp.Name, sp.Kind = "w", Prewarm
			s := mustParse(t, sp)
			now := utc(tt.now)
			w, ok := s.Active(now)
			if ok != tt.active {
				t.Fatalf("Active(%s) = %v, %v; want active %v", tt.now, w, ok, tt.active)
			}
			if !ok {
				w, ok = s.Next(now)
				if tt.start == "" {
					if ok {
						t.Fatalf("Next(%s) = %v, want none", tt.now, w)
					}
					return
				}
				if !ok {
					t.Fatalf("Next(%s): none", tt.now)
				}
			}
			if !w.Start.Equal(utc(tt.start)) || !w.End.Equal(utc(tt.end)) {
				t.Errorf("window = [%s, %s), want [%s, %s)", w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), tt.start, tt.end)
			}
			if ok && w.Contains(now) != tt.active {
				t.Errorf("Contains(now) = %v, want %v", w.Contains(now), tt.active)
			}
		})
	}
}

// TestDailyAcrossDST: a daily window happens exactly once every local day
// through both changes, in both zones.
func TestDailyAcrossDST(t *testing.T) {
	for _, zone := range []string{"America/New_York", "Europe/Paris", "Australia/Lord_Howe"} {
		for _, expr := range []string{"30 2 * * *", "30 1 * * *", "0 0 * * *"} {
			s := mustParse(t, Spec{Name: "d", Kind: Event, Cron: expr, Timezone: zone, Duration: time.Hour})
			l := loc(t, zone)
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, l)
			to := from.AddDate(1, 0, 0)
			ws := s.Windows(from, to, 0)
			days := map[string]int{}
			for _, w := range ws {
				days[w.Start.In(l).Format("2006-01-02")]++
			}
			if len(days) != 365 || len(ws) != 365 {
				t.Errorf("%s %q: %d windows on %d local days, want 365 on 365", zone, expr, len(ws), len(days))
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string
		msg   string
	}{
		{"bad cron", Spec{Kind: Freeze, Cron: "61 * * * *", Duration: time.Hour}, "cron", "invalid cron expression"},
		{"every", Spec{Kind: Freeze, Cron: "@every 1h", Duration: time.Hour}, "cron", "@every"},
		{"unknown zone", Spec{Kind: Freeze, Cron: "@daily", Timezone: "Mars/Olympus", Duration: time.Hour}, "timezone", "unknown time zone"},
		{"unknown CRON_TZ", Spec{Kind: Freeze, Cron: "CRON_TZ=Mars/Olympus @daily", Duration: time.Hour}, "cron", "unknown time zone"},
		{"two zones", Spec{Kind: Freeze, Cron: "CRON_TZ=UTC @daily", Timezone: "Europe/Paris", Duration: time.Hour}, "cron", "differs"},
		{"neither", Spec{Kind: Freeze, Duration: time.Hour}, "cron", "required"},
		{"both", Spec{Kind: Freeze, Cron: "@daily", At: "2026-01-01", Duration: time.Hour}, "at", "only one"},
		{"bad at", Spec{Kind: Freeze, At: "11/11/2026", Duration: time.Hour}, "at", "invalid date-time"},
		{"no duration", Spec{Kind: Freeze, Cron: "@daily"}, "duration", "must be > 0"},
		{"bad kind", Spec{Kind: "warm", Cron: "@daily", Duration: time.Hour}, "kind", "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			found := false
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				fe := e.(*FieldError)
				found = found || fe.Field == tt.field && strings.Contains(fe.Msg, tt.msg)
			}
			if !found {
				t.Errorf("error %q: want field %s with %q", err, tt.field, tt.msg)
			}
		})
	}
}

func TestMask(t *testing.T) {
	s := mustParse(t, Spec{Name: "e", Kind: Event, Cron: "0 19 * * 2,5", Duration: 3 * time.Hour})
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	m := Mask([]*Schedule{s}, start, time.Hour, 7*24)
	var on []int
	for i, v := range m {
		if v {
			on = append(on, i)
		}
	}
	want := []int{24 + 19, 24 + 20, 24 + 21, 4*24 + 19, 4*24 + 20, 4*24 + 21}
	if !slices.Equal(on, want) {
		t.Fatalf("mask on at %v, want %v", on, want)
	}
}

func TestFirstOverlap(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(4, 0, 0)
	tests := []struct {
		name string
		a, b Spec
		want bool
	}{
		{"daily vs daily later", Spec{Cron: "0 19 * * *", Duration: time.Hour}, Spec{Cron: "0 21 * * *", Duration: time.Hour}, false},
		{"daily vs daily overlapping", Spec{Cron: "0 19 * * *", Duration: 3 * time.Hour}, Spec{Cron: "0 21 * * *", Duration: time.Hour}, true},
		{"zones make them meet", Spec{Cron: "0 19 * * *", Timezone: "Asia/Shanghai", Duration: time.Hour}, Spec{Cron: "30 11 * * *", Duration: time.Hour}, true},
		{"weekday vs weekend", Spec{Cron: "0 9 * * 1-5", Duration: time.Hour}, Spec{Cron: "0 9 * * 0,6", Duration: time.Hour}, false},
		{"leap day meets friday", Spec{Cron: "0 0 29 2 *", Duration: time.Hour}, Spec{Cron: "0 0 * * 4", Duration: time.Hour}, true}, // 2024-02-29 is a Thursday
		{"one-off inside recurring", Spec{At: "2031-05-05T10:30:00Z", Duration: time.Minute}, Spec{Cron: "0 10 * * *", Duration: time.Hour}, true},
		{"one-off outside recurring", Spec{At: "2031-05-05T11:30:00Z", Duration: time.Minute}, Spec{Cron: "0 10 * * *", Duration: time.Hour}, false},
		{"recurring vs one-off", Spec{Cron: "0 10 * * *", Duration: time.Hour}, Spec{At: "2031-05-05T10:59:00Z", Duration: time.Hour}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.a.Kind, tt.b.Kind = Prewarm, Freeze
			a, b := mustParse(t, tt.a), mustParse(t, tt.b)
			wa, wb, ok := FirstOverlap(a, b, from, to, 10000)
			if ok != tt.want {
				t.Fatalf("overlap = %v (%v, %v), want %v", ok, wa, wb, tt.want)
			}
			if ok && !wa.Overlaps(wb) {
				t.Errorf("returned windows %v and %v do not overlap", wa, wb)
			}
		})
	}
}

// TestParseCronZoneWithoutExpression: a zone prefix with nothing after it
// is an error (robfig/cron's parser panics on it).
func TestParseCronZoneWithoutExpression(t *testing.T) {
	for _, expr := range []string{"TZ=UTC", "CRON_TZ=Europe/Paris", "TZ="} {
		if _, err := ParseCron(expr); err == nil {
			t.Errorf("ParseCron(%q) accepted", expr)
		}
	}
	if _, err := ParseCron("TZ=UTC 0 9 * * *"); err != nil {
		t.Errorf("ParseCron with a zone and an expression: %v", err)
	}
	if _, err := Parse(Spec{Kind: Prewarm, Cron: "TZ= TZ=", Duration: time.Hour}); err == nil {
		t.Error("Parse accepted a cron of only zone prefixes")
	}
}
