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

func BenchmarkUpdate(b *testing.B) {
	f, err := Fit(seasonal(2880, 1440, 100, 0.001, 20, 2, 1), Settings{Period: 1440})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f.Update(100)
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
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := Fit(seasonal(2880, 1440, 100, 0.001, 20, 2, 1), bc.s)
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
