package model

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkFitHoltWinters2880 fits two days of minutes with a daily season.
func BenchmarkFitHoltWinters2880(b *testing.B) {
	y := seasonal(2880, 1440, 100, 0.001, 20, 2, 1)
	s := Settings{Period: 1440}
	for b.Loop() {
		if _, err := Fit(y, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit10080 fits a week of minutes with a daily season: one model,
// and the automatic choice with the controller's 30-minute horizon and with
// the default horizon of a day.
func BenchmarkFit10080(b *testing.B) {
	y := seasonal(10080, 1440, 100, 0.001, 20, 2, 1)
	for _, bc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 1440, Model: NameHoltWinters}},
		{name: "ar", s: Settings{Period: 1440, Model: NameAR}},
		{name: "auto-horizon-30", s: Settings{Period: 1440, Horizon: 30}},
		{name: "auto-horizon-1440", s: Settings{Period: 1440}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Fit(y, bc.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFitController fits four days of minutes, the controller's
// window, with the automatic choice and a 30-minute backtest horizon.
func BenchmarkFitController(b *testing.B) {
	y := seasonal(5760, 1440, 100, 0.001, 20, 2, 1)
	s := Settings{Period: 1440, Horizon: 30}
	for b.Loop() {
		if _, err := Fit(y, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAutoHourly is one M4 Hourly-sized fit: 960 hours with a daily
// and a weekly season, 48 hours ahead.
func BenchmarkAutoHourly(b *testing.B) {
	y := doubleSeasonal(960, 4, 1)
	s := Settings{Period: 24, Periods: []int{168}, Horizon: 48}
	for b.Loop() {
		if _, err := Fit(y, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 1440}},
		{name: "auto", s: Settings{Period: 1440, Horizon: 30}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := Fit(seasonal(5760, 1440, 100, 0.001, 20, 2, 1), bc.s)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Update(100)
			}
		})
	}
}

// BenchmarkPaths draws 200 paths of 30 steps.
func BenchmarkPaths(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 1440}},
		{name: "seasonal-naive", s: Settings{Period: 1440, Model: NameSeasonalNaive}},
		{name: "naive", s: Settings{Model: NameNaive}},
		{name: "auto", s: Settings{Period: 1440, Horizon: 30}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := Fit(seasonal(5760, 1440, 100, 0.001, 20, 2, 1), bc.s)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for b.Loop() {
				f.Paths(30, 200, rng)
			}
		})
	}
}

func BenchmarkBreachRisk(b *testing.B) {
	f, err := Fit(seasonal(2880, 1440, 100, 0.001, 20, 2, 1), Settings{Period: 1440})
	if err != nil {
		b.Fatal(err)
	}
	ps := f.Paths(30, 200, rand.New(rand.NewPCG(1, 1)))
	b.ReportAllocs()
	for b.Loop() {
		BreachRisk(ps, 120, 3, 1, 0.3)
	}
}

// BenchmarkRecursion runs the Holt-Winters objective over four days of
// minutes with a daily season, as a fit's every evaluation does: step, and
// the recursion exactly as the HoltWinters doc comment writes it
// (refStep, the baseline). It reports ratio, the baseline's time over
// step's, both measured in the same run.
//
//	go test ./model -run '^$' -bench Recursion
func BenchmarkRecursion(b *testing.B) {
	z := seasonal(5760, 1440, 0, 0, 0.5, 0.1, 1)
	p := HoltWintersParams{Alpha: 0.3, Beta: 0.05, Gamma: 0.1, Phi: 0.95}
	season := make([]float64, 1440)
	filter := func(next func(p HoltWintersParams, l, b, s, v float64) (float64, float64, float64, float64, bool)) float64 {
		l, t, sse := 0.0, 0.0, 0.0
		clear(season)
		for i, v := range z {
			var e float64
			var ok bool
			l, t, season[i%1440], e, ok = next(p, l, t, season[i%1440], v)
			if ok {
				sse += e * e
			}
		}
		return sse
	}
	var fast, ref time.Duration
	for b.Loop() {
		start := time.Now()
		filter(step)
		fast += time.Since(start)
		b.StopTimer()
		start = time.Now()
		filter(refStep)
		ref += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(ref)/float64(fast), "ratio")
}

// refStep is step as the HoltWinters doc comment writes the recursion.
func refStep(p HoltWintersParams, l, b, s, v float64) (l2, b2, s2, e float64, ok bool) {
	f := l + p.Phi*b
	if finite(v) {
		e, ok = v-(f+s), true
	}
	return f + p.Alpha*e, p.Phi*b + p.Beta*e, s + p.Gamma*e, e, ok
}
