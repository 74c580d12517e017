package model

import (
	"math/rand/v2"
	"testing"
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
