package sim

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
)

func TestGenerateReproducible(t *testing.T) {
	a, err := Generate(config.Workload{}, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(config.DefaultWorkload, time.Minute, 100)
	if !slices.Equal(a.Values, b.Values) || !a.Start.Equal(b.Start) || a.Step != b.Step {
		t.Error("two generations with the same seed differ")
	}
	l := config.DefaultWorkload
	l.Seed = 2
	c, _ := Generate(l, time.Minute, 100)
	if slices.Equal(a.Values, c.Values) {
		t.Error("seeds 1 and 2 gave the same load")
	}
}

func TestGenerateShape(t *testing.T) {
	l := config.DefaultWorkload
	l.Duration = config.Duration(28 * 24 * time.Hour)
	tr, err := Generate(l, 5*time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := 28 * 24 * 12; len(tr.Values) != want {
		t.Fatalf("%d values, want %d", len(tr.Values), want)
	}
	if want := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC); !tr.Start.Equal(want) {
		t.Errorf("start %v, want %v", tr.Start, want)
	}
	peak, capacity := 1.2, 100.0
	if top := slices.Max(tr.Values); top != peak*capacity {
		t.Errorf("peak %v, want exactly 120", top)
	}
	if slices.Min(tr.Values) <= 0 {
		t.Errorf("a value ≤ 0: %v", slices.Min(tr.Values))
	}
	// Median by hour on weekdays and weekends, robust to bursts and crowds.
	byHour := func(weekend bool) []float64 {
		var hours [24][]float64
		for i, v := range tr.Values {
			ts := tr.Start.Add(time.Duration(i) * tr.Step)
			if wd := ts.Weekday(); (wd == time.Saturday || wd == time.Sunday) == weekend {
				hours[ts.Hour()] = append(hours[ts.Hour()], v)
			}
		}
		med := make([]float64, 24)
		for h := range hours {
			slices.Sort(hours[h])
			med[h] = hours[h][len(hours[h])/2]
		}
		return med
	}
	wk, we := byHour(false), byHour(true)
	if h := slices.Index(wk, slices.Max(wk)); h < 13 || h > 17 {
		t.Errorf("weekday peak at %d:00, want the afternoon", h)
	}
	if h := slices.Index(wk, slices.Min(wk)); h < 1 || h > 5 {
		t.Errorf("weekday low at %d:00, want the night", h)
	}
	if r := wk[15] / wk[3]; r < 2.5 || r > 3.5 {
		t.Errorf("peak/low %v, want about (1+0.5)/(1-0.5) = 3", r)
	}
	for h := range 24 {
		if r := we[h] / wk[h]; r < 0.8 || r > 0.9 {
			t.Errorf("%d:00 weekend/weekday %v, want about 0.85", h, r)
		}
	}
}

func TestGenerateTrend(t *testing.T) {
	l := config.DefaultWorkload
	l.Bursts, l.FlashCrowds, l.Daily, l.Trend = 0, 0, 0, 0.1
	l.Start = "2026-01-05T00:00:00Z" // a Monday: days 0-4 are weekdays
	tr, err := Generate(l, time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r := tr.Values[24] / tr.Values[0]; math.Abs(r-1.1) > 1e-9 {
		t.Errorf("day 1/day 0 = %v, want 1.1", r)
	}
}

func TestGenerateFlashCrowd(t *testing.T) {
	l := config.DefaultWorkload
	l.FlashCrowds = 2
	p, err := resolveLoad(l)
	if err != nil {
		t.Fatal(err)
	}
	with, events := generate(p, time.Minute)
	p.flashCrowds = 0
	without, _ := generate(p, time.Minute) // bursts are drawn first: the same ones
	var flashes []event
	for _, e := range events {
		if e.flash {
			flashes = append(flashes, e)
		}
	}
	if len(flashes) != 2 {
		t.Fatalf("%d flash crowds, want 2", len(flashes))
	}
	for _, e := range flashes {
		if e.length < 2*time.Hour || e.length > 3*time.Hour || e.rise < 5*time.Minute || e.rise > 15*time.Minute {
			t.Errorf("flash crowd %+v: want 2-3 h rising in 5-15 min", e)
		}
		// On its plateau it adds at least half the mean level.
		i := int((e.at + e.rise + time.Minute) / time.Minute)
		j := int((e.at + e.length - flashFall) / time.Minute)
		for k := i; k < j; k++ {
			if d := with.Values[k] - without.Values[k]; d < flashHeightMin*0.99 {
				t.Fatalf("%v into a flash crowd: it adds %v, want ≥ %v", time.Duration(k)*time.Minute-e.at, d, flashHeightMin)
			}
		}
		// It rises within its rise time from nothing.
		k := int((e.at + time.Minute - 1) / time.Minute)
		if d := with.Values[k] - without.Values[k]; d > e.height*float64(time.Minute)/float64(e.rise)+1e-9 {
			t.Errorf("flash crowd adds %v in its first minute: not a ramp", d)
		}
	}
}

func TestGenerateBursts(t *testing.T) {
	l := config.DefaultWorkload
	l.Bursts, l.Duration = 4, config.Duration(100*24*time.Hour)
	p, _ := resolveLoad(l)
	_, events := generate(p, time.Hour)
	n := 0
	for _, e := range events {
		if e.flash {
			continue
		}
		n++
		if e.length < burstMin || e.length > burstMax || e.height < burstLow || e.height > burstHigh {
			t.Errorf("burst %+v out of range", e)
		}
	}
	if n < 340 || n > 460 { // Poisson(400): sd 20
		t.Errorf("%d bursts in 100 days at 4 a day", n)
	}
	l.Bursts, l.FlashCrowds = 0, 0
	p, _ = resolveLoad(l)
	if _, events := generate(p, time.Hour); len(events) != 0 {
		t.Errorf("%d events with bursts 0 and flash_crowds 0", len(events))
	}
}

func TestGenerateErrors(t *testing.T) {
	base := config.DefaultWorkload
	tests := []struct {
		name     string
		edit     func(*config.Workload)
		step     time.Duration
		capacity float64
		want     string
	}{
		{"bad start", func(l *config.Workload) { l.Start = "monday" }, time.Minute, 100, "load start"},
		{"negative peak", func(l *config.Workload) { l.Peak = -1 }, time.Minute, 100, "peak"},
		{"daily 1", func(l *config.Workload) { l.Daily = 1 }, time.Minute, 100, "daily"},
		{"trend -1", func(l *config.Workload) { l.Trend = -1 }, time.Minute, 100, "trend"},
		{"negative bursts", func(l *config.Workload) { l.Bursts = -1 }, time.Minute, 100, "bursts"},
		{"negative flash crowds", func(l *config.Workload) { l.FlashCrowds = -1 }, time.Minute, 100, "flash_crowds"},
		{"zero step", func(*config.Workload) {}, 0, 100, "step"},
		{"zero capacity", func(*config.Workload) {}, time.Minute, 0, "capacity"},
		{"too long", func(l *config.Workload) { l.Duration = config.Duration(10000 * 24 * time.Hour) }, time.Second, 100, "steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			tt.edit(&l)
			_, err := Generate(l, tt.step, tt.capacity)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestScale(t *testing.T) {
	tr := &metrics.Grid{Step: time.Minute, Values: []float64{1, 3, math.NaN(), 0.3, 3}}
	peak, capacity := 1.3, 77.0
	if err := Scale(tr, peak, capacity); err != nil {
		t.Fatal(err)
	}
	want := peak * capacity
	if tr.Values[1] != want || tr.Values[4] != want {
		t.Errorf("peaks %v, %v; want exactly %v", tr.Values[1], tr.Values[4], want)
	}
	if math.Abs(tr.Values[0]-want/3) > 1e-12 || !math.IsNaN(tr.Values[2]) {
		t.Errorf("scaled values %v", tr.Values)
	}
	for _, tt := range []struct {
		name  string
		vals  []float64
		peak  float64
		capac float64
	}{
		{"all zero", []float64{0, 0}, 1, 1},
		{"all NaN", []float64{math.NaN()}, 1, 1},
		{"empty", nil, 1, 1},
		{"zero peak", []float64{1}, 0, 1},
		{"negative capacity", []float64{1}, 1, -1},
	} {
		if err := Scale(&metrics.Grid{Values: tt.vals}, tt.peak, tt.capac); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestGenerateCrowds: a crowd at a set time lifts the load from its start,
// to about its height above the mean at its plateau, and leaves the random
// events where they were.
func TestGenerateCrowds(t *testing.T) {
	base := config.DefaultWorkload
	base.FlashCrowds, base.Bursts, base.Daily = 0, 0, 0
	with := base
	with.Crowds = []config.Crowd{{At: "2026-01-06T19:00:00Z", Duration: config.Duration(3 * time.Hour), Height: 1}}
	p0, err := resolveLoad(base)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := resolveLoad(with)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := generate(p0, time.Minute)
	b, _ := generate(p1, time.Minute)
	at := func(tr *metrics.Grid, s string) float64 {
		ts, _ := time.Parse(time.RFC3339, s)
		return tr.At(ts)
	}
	for _, tc := range []struct {
		t     string
		ratio float64
	}{
		{"2026-01-06T18:59:00Z", 1}, {"2026-01-06T19:05:00Z", 1.5}, {"2026-01-06T20:00:00Z", 2}, {"2026-01-06T22:00:00Z", 1},
	} {
		if got := at(b, tc.t) / at(a, tc.t); math.Abs(got-tc.ratio) > 0.02 {
			t.Errorf("at %s: load with crowd / without = %.3f, want %.2f", tc.t, got, tc.ratio)
		}
	}
	bad := base
	bad.Crowds = []config.Crowd{{At: "tomorrow", Duration: config.Duration(time.Hour), Height: 1}}
	if _, err := resolveLoad(bad); err == nil {
		t.Error("crowd at tomorrow: no error")
	}
}
