package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

func TestFitChoosesModel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		s          Settings
		wantName   string
		wantPeriod int // for holt-winters and seasonal-naive
	}{
		{name: "seasonal two periods", n: 48, s: Settings{Period: 24}, wantName: NameHoltWinters, wantPeriod: 24},
		{name: "seasonal one period", n: 47, s: Settings{Period: 24}, wantName: NameSeasonalNaive, wantPeriod: 24},
		{name: "seasonal under a period", n: 23, s: Settings{Period: 24}, wantName: NameHoltWinters, wantPeriod: 0},
		{name: "non-seasonal", n: MinHolt, wantName: NameHoltWinters, wantPeriod: 0},
		{name: "period one is non-seasonal", n: 30, s: Settings{Period: 1, Model: NameAuto}, wantName: NameHoltWinters, wantPeriod: 0},
		{name: "too short for holt", n: MinHolt - 1, wantName: NameNaive},
		{name: "two points", n: 2, s: Settings{Period: 24}, wantName: NameNaive},
		{name: "explicit naive", n: 100, s: Settings{Period: 24, Model: NameNaive}, wantName: NameNaive},
		{name: "explicit seasonal naive", n: 100, s: Settings{Period: 24, Model: NameSeasonalNaive}, wantName: NameSeasonalNaive, wantPeriod: 24},
		{name: "explicit holt-winters without period", n: 100, s: Settings{Model: NameHoltWinters}, wantName: NameHoltWinters, wantPeriod: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(seasonal(tc.n, 24, 10, 0.01, 2, 0.1, 1), tc.s)
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			if f.Name() != tc.wantName {
				t.Errorf("Name() = %q, want %q", f.Name(), tc.wantName)
			}
			if p, ok := f.(interface{ Period() int }); ok && p.Period() != tc.wantPeriod {
				t.Errorf("Period() = %d, want %d", p.Period(), tc.wantPeriod)
			}
		})
	}
}

func TestFitErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		y    []float64
		s    Settings
		want error
	}{
		{name: "empty", y: nil, want: ErrShortHistory},
		{name: "one point", y: series("1"), want: ErrShortHistory},
		{name: "one finite point", y: series("_ 1 _x20"), want: ErrShortHistory},
		{name: "all missing", y: series("_x100"), s: Settings{Period: 10}, want: ErrShortHistory},
		{name: "infinities", y: []float64{math.Inf(1), math.Inf(-1), 3}, want: ErrShortHistory},
		{name: "holt-winters under two periods", y: series("1+1x30"), s: Settings{Period: 24, Model: NameHoltWinters}, want: ErrShortHistory},
		{name: "holt under minimum", y: series("1+1x3"), s: Settings{Model: NameHoltWinters}, want: ErrShortHistory},
		{name: "seasonal naive under a period", y: series("1+1x5"), s: Settings{Period: 24, Model: NameSeasonalNaive}, want: ErrShortHistory},
		{name: "seasonal naive without period", y: series("1+1x30"), s: Settings{Model: NameSeasonalNaive}, want: ErrSettings},
		{name: "negative period", y: series("1+1x30"), s: Settings{Period: -1}, want: ErrSettings},
		{name: "negative evaluations", y: series("1+1x30"), s: Settings{MaxEvaluations: -1}, want: ErrSettings},
		{name: "unknown model", y: series("1+1x30"), s: Settings{Model: "arima"}, want: ErrUnknownModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(tc.y, tc.s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Fit error = %v, want %v", err, tc.want)
			}
			if f != nil {
				t.Errorf("Fit returned %v with an error", f)
			}
		})
	}
}

// TestFitBeatsSeasonalNaive checks that Holt-Winters forecasts a noisy
// seasonal series with trend better than seasonal naive on a holdout.
func TestFitBeatsSeasonalNaive(t *testing.T) {
	for _, tc := range []struct {
		name    string
		period  int
		periods int
		slope   float64
		sd      float64
		horizon int
	}{
		{name: "daily hours", period: 24, periods: 10, slope: 0.05, sd: 2, horizon: 24},
		{name: "two periods ahead", period: 24, periods: 8, slope: 0.1, sd: 3, horizon: 48},
		{name: "no trend", period: 12, periods: 20, slope: 0, sd: 1, horizon: 12},
		{name: "short history", period: 48, periods: 2, slope: 0.02, sd: 1, horizon: 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				n := tc.period * tc.periods
				y := seasonal(n+tc.horizon, tc.period, 100, tc.slope, 20, tc.sd, seed)
				train, test := y[:n], y[n:]
				hw, err := Fit(train, Settings{Period: tc.period, Model: NameHoltWinters})
				if err != nil {
					t.Fatalf("Fit: %v", err)
				}
				if hw.Name() != NameHoltWinters {
					t.Fatalf("Name() = %q", hw.Name())
				}
				sn, err := Fit(train, Settings{Period: tc.period, Model: NameSeasonalNaive})
				if err != nil {
					t.Fatalf("Fit seasonal naive: %v", err)
				}
				hwErr, snErr := mse(hw.Forecast(tc.horizon), test), mse(sn.Forecast(tc.horizon), test)
				if hwErr >= snErr {
					t.Errorf("seed %d: holt-winters MSE %.3g >= seasonal naive MSE %.3g", seed, hwErr, snErr)
				}
			}
		})
	}
}

// TestUpdateMatchesFilter checks that Update after Fit gives the state that
// filtering the longer series with the same parameters gives.
func TestUpdateMatchesFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		y      []float64
		n      int // fit on y[:n], Update with the rest
		period int
		model  string
	}{
		{name: "holt-winters", y: seasonal(120, 24, 50, 0.1, 10, 1, 2), n: 100, period: 24},
		{name: "holt-winters one step", y: seasonal(49, 24, 50, 0.1, 10, 1, 3), n: 48, period: 24},
		{name: "holt-winters missing", y: withNaN(seasonal(120, 24, 50, 0.1, 10, 1, 4), 10, 101, 102, 110), n: 100, period: 24},
		{name: "damped holt", y: seasonal(60, 7, 5, 0.3, 1, 0.5, 5), n: 40},
		{name: "seasonal naive", y: withNaN(seasonal(40, 24, 5, 0, 1, 0.5, 6), 3, 35), n: 30, period: 24, model: NameSeasonalNaive},
		{name: "naive", y: withNaN(series("1 3 2 5 4 _ 6 8"), 7), n: 4, model: NameNaive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{Period: tc.period, Model: tc.model}
			f, err := Fit(tc.y[:tc.n], s)
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			for _, v := range tc.y[tc.n:] {
				f.Update(v)
			}
			var g Forecaster
			if hw, ok := f.(*HoltWinters); ok {
				g, err = NewHoltWinters(tc.y, tc.period, hw.Params())
			} else {
				g, err = Fit(tc.y, s)
			}
			if err != nil {
				t.Fatalf("refit: %v", err)
			}
			h := 2*tc.period + 3
			if got, want := f.Forecast(h), g.Forecast(h); !equalSlices(got, want, 1e-9) {
				t.Errorf("after Update forecast = %v\nwant %v", got, want)
			}
		})
	}
}

func withNaN(y []float64, at ...int) []float64 {
	for _, i := range at {
		y[i] = math.NaN()
	}
	return y
}

// TestHoltWintersRecursion checks the filter and the forecast against the
// recursions in the HoltWinters doc comment, computed in the raw units.
func TestHoltWintersRecursion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		y      []float64
		period int
		p      HoltWintersParams
	}{
		{name: "seasonal", y: seasonal(30, 6, 10, 0.5, 3, 1, 7), period: 6, p: HoltWintersParams{Alpha: 0.4, Beta: 0.1, Gamma: 0.3, Phi: 0.9}},
		{name: "seasonal missing", y: withNaN(seasonal(30, 6, 10, 0.5, 3, 1, 8), 0, 7, 29), period: 6, p: HoltWintersParams{Alpha: 0.2, Beta: 0.05, Gamma: 0.5, Phi: 0.85}},
		{name: "non-seasonal", y: seasonal(25, 5, -3, 0.2, 1, 0.3, 9), p: HoltWintersParams{Alpha: 0.7, Beta: 0.3, Phi: 0.95}},
		{name: "huge", y: scaled(seasonal(30, 6, 10, 0.5, 3, 1, 10), 1e290), period: 6, p: HoltWintersParams{Alpha: 0.4, Beta: 0.1, Gamma: 0.3, Phi: 0.9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hw, err := NewHoltWinters(tc.y, tc.period, tc.p)
			if err != nil {
				t.Fatalf("NewHoltWinters: %v", err)
			}
			m := tc.period
			init := initHoltWinters(make([]float64, m), tc.y, m)
			l, b, s := init.level, init.trend, append([]float64(nil), init.season...)
			p := tc.p
			for t, y := range tc.y {
				var st float64
				if m > 0 {
					st = s[t%m]
				}
				e := 0.0
				if !math.IsNaN(y) {
					e = y - (l + p.Phi*b + st)
				}
				l, b = l+p.Phi*b+p.Alpha*e, p.Phi*b+p.Beta*e
				if m > 0 {
					s[t%m] = st + p.Gamma*e
				}
			}
			T := len(tc.y) - 1
			h := 2*m + 4
			want := make([]float64, h)
			for i := range want {
				hh := i + 1
				var phiH float64
				for j := 1; j <= hh; j++ {
					phiH += math.Pow(p.Phi, float64(j))
				}
				want[i] = l + phiH*b
				if m > 0 {
					k := (hh - 1) / m
					want[i] += s[(T+hh-m*(k+1))%m]
				}
			}
			if got := hw.Forecast(h); !equalSlices(got, want, 1e-9) {
				t.Errorf("Forecast = %v\nwant %v", got, want)
			}
		})
	}
}

// scaled returns a copy of x with every element multiplied by c.
func scaled(x []float64, c float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * c
	}
	return out
}

func TestNewHoltWintersErrors(t *testing.T) {
	y := seasonal(30, 6, 10, 0.5, 3, 1, 7)
	for _, tc := range []struct {
		name string
		p    HoltWintersParams
		y    []float64
		want error
	}{
		{name: "beta above alpha", p: HoltWintersParams{Alpha: 0.1, Beta: 0.2, Phi: 0.9}, y: y, want: ErrSettings},
		{name: "gamma above one minus alpha", p: HoltWintersParams{Alpha: 0.9, Gamma: 0.2, Phi: 0.9}, y: y, want: ErrSettings},
		{name: "phi zero", p: HoltWintersParams{Alpha: 0.5}, y: y, want: ErrSettings},
		{name: "nan", p: HoltWintersParams{Alpha: math.NaN(), Phi: 0.9}, y: y, want: ErrSettings},
		{name: "short", p: HoltWintersParams{Alpha: 0.5, Phi: 0.9}, y: y[:11], want: ErrShortHistory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHoltWinters(tc.y, 6, tc.p); !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFitEdgeCases(t *testing.T) {
	const h = 50
	for _, tc := range []struct {
		name string
		y    []float64
		s    Settings
		// want is the expected forecast at every step; NaN means only
		// check that the forecast is finite.
		want float64
		// constant: the paths must equal the forecast.
		constant bool
	}{
		{name: "constant holt-winters", y: series("7x96"), s: Settings{Period: 24}, want: 7, constant: true},
		{name: "constant damped holt", y: series("7x30"), want: 7, constant: true},
		{name: "constant seasonal naive", y: series("7x30"), s: Settings{Period: 24}, want: 7, constant: true},
		{name: "constant naive", y: series("7x3"), want: 7, constant: true},
		{name: "constant with gaps", y: series("_x5 7x20 _ 7x70 _x3"), s: Settings{Period: 24}, want: 7, constant: true},
		{name: "zero", y: series("0x100"), s: Settings{Period: 10}, want: 0, constant: true},
		{name: "two points", y: series("1 2"), want: 2},
		{name: "naive difference overflows", y: []float64{-1.7e308, 1.7e308}, want: 1.7e308, constant: true},
		{name: "two finite points", y: series("_ 1 _ 2 _"), want: 2},
		{name: "missing holt-winters", y: withNaN(seasonal(96, 24, 10, 0.1, 2, 0.5, 11), 0, 1, 30, 50, 51, 52, 95), s: Settings{Period: 24}, want: math.NaN()},
		{name: "missing first period", y: withNaN(seasonal(48, 24, 10, 0.1, 2, 0.5, 12), seq(0, 24)...), s: Settings{Period: 24}, want: math.NaN()},
		{name: "missing second period", y: withNaN(seasonal(50, 24, 10, 0.1, 2, 0.5, 13), seq(24, 48)...), s: Settings{Period: 24}, want: math.NaN()},
		{name: "missing seasonal naive", y: withNaN(seasonal(40, 24, 10, 0.1, 2, 0.5, 14), 0, 1, 2, 30), s: Settings{Period: 24}, want: math.NaN()},
		{name: "infinities", y: withInf(seasonal(96, 24, 10, 0.1, 2, 0.5, 15), 3, 40), s: Settings{Period: 24}, want: math.NaN()},
		{name: "huge", y: scaled(seasonal(96, 24, 10, 0.1, 2, 0.5, 16), 1e300), s: Settings{Period: 24}, want: math.NaN()},
		{name: "huge both signs", y: scaled(seasonal(96, 24, 0, 0, 1, 0, 17), 1.7e308), s: Settings{Period: 24}, want: math.NaN()},
		{name: "tiny", y: scaled(seasonal(96, 24, 10, 0.1, 2, 0.5, 18), 1e-300), s: Settings{Period: 24}, want: math.NaN()},
		{name: "one evaluation", y: seasonal(96, 24, 10, 0.1, 2, 0.5, 19), s: Settings{Period: 24, MaxEvaluations: 1}, want: math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(tc.y, tc.s)
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			fc := f.Forecast(h)
			if len(fc) != h {
				t.Fatalf("len(Forecast(%d)) = %d", h, len(fc))
			}
			for i, v := range fc {
				if !finite(v) {
					t.Fatalf("Forecast[%d] = %v", i, v)
				}
				if !math.IsNaN(tc.want) && !scalar.EqualWithinAbsOrRel(v, tc.want, 1e-9, 1e-9) {
					t.Fatalf("Forecast[%d] = %v, want %v", i, v, tc.want)
				}
			}
			paths := f.Paths(h, 20, rand.New(rand.NewPCG(1, 1)))
			if len(paths) != 20 {
				t.Fatalf("len(Paths) = %d", len(paths))
			}
			for _, p := range paths {
				if len(p) != h {
					t.Fatalf("len(path) = %d", len(p))
				}
				for i, v := range p {
					if math.IsNaN(v) {
						t.Fatalf("path[%d] is NaN", i)
					}
				}
				if tc.constant && !equalSlices(p, fc, 0) {
					t.Fatalf("path = %v, want the forecast %v", p, fc)
				}
			}
			f.Update(math.NaN())
			f.Update(math.Inf(1))
			for i, v := range f.Forecast(h) {
				if !finite(v) {
					t.Fatalf("after missing updates Forecast[%d] = %v", i, v)
				}
			}
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func withInf(y []float64, at ...int) []float64 {
	for i, j := range at {
		y[j] = math.Inf(1 - 2*(i%2))
	}
	return y
}

func TestForecastShortHorizon(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 12}},
		{name: "seasonal naive", s: Settings{Period: 12, Model: NameSeasonalNaive}},
		{name: "naive", s: Settings{Model: NameNaive}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(seasonal(48, 12, 1, 0, 1, 0.1, 1), tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Forecast(0); got != nil {
				t.Errorf("Forecast(0) = %v", got)
			}
			if got := f.Paths(0, 5, rand.New(rand.NewPCG(1, 1))); got != nil {
				t.Errorf("Paths(0, 5) = %v", got)
			}
			if got := f.Paths(5, 0, rand.New(rand.NewPCG(1, 1))); got != nil {
				t.Errorf("Paths(5, 0) = %v", got)
			}
		})
	}
}

func TestSeasonalNaiveForecast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		y      string
		period int
		h      int
		want   string
	}{
		{name: "one cycle", y: "1 2 3 4 5 6", period: 3, h: 3, want: "4 5 6"},
		{name: "wraps", y: "1 2 3 4 5 6 7", period: 3, h: 5, want: "5 6 7 5 6"},
		{name: "missing filled from a period back", y: "1 2 3 4 _ 6", period: 3, h: 3, want: "4 2 6"},
		{name: "missing in first period", y: "_ 2 _ 4 5 _", period: 3, h: 3, want: "4 5 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(series(tc.y), Settings{Period: tc.period, Model: NameSeasonalNaive})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.Forecast(tc.h), series(tc.want); !equalSlices(got, want, 0) {
				t.Errorf("Forecast = %v, want %v", got, want)
			}
		})
	}
}

// TestPathsStateEquations checks paths against their state equations with a
// one-value residual pool, where they are deterministic.
func TestPathsStateEquations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		y    string
		s    Settings
		h    int
		want string
	}{
		{name: "naive random walk", y: "0+1x5", s: Settings{Model: NameNaive}, h: 3, want: "6 7 8"},
		{name: "naive gap", y: "0 _ 2 _ 4 _", s: Settings{Model: NameNaive}, h: 2, want: "6 8"},
		{name: "seasonal naive accumulates per cycle", y: "0+1x5", s: Settings{Period: 2, Model: NameSeasonalNaive}, h: 5, want: "6 7 8 9 10"},
		{name: "seasonal naive one period", y: "1 3 5", s: Settings{Period: 3, Model: NameSeasonalNaive}, h: 4, want: "3 5 7 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(series(tc.y), tc.s)
			if err != nil {
				t.Fatal(err)
			}
			want := series(tc.want)
			for _, p := range f.Paths(tc.h, 3, rng) {
				if !equalSlices(p, want, 1e-12) {
					t.Errorf("path = %v, want %v", p, want)
				}
			}
		})
	}
}

// TestHoltWintersPathsZeroResiduals checks that Holt-Winters paths with zero
// errors follow the forecast, beyond one period too.
func TestHoltWintersPathsZeroResiduals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period int
	}{
		{name: "seasonal", period: 12},
		{name: "non-seasonal", period: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := seasonal(60, 12, 10, 0.5, 4, 1, 20)
			f, err := Fit(y, Settings{Period: tc.period, Model: NameHoltWinters})
			if err != nil {
				t.Fatal(err)
			}
			hw := f.(*HoltWinters)
			hw.resid = []float64{0}
			h := 3*tc.period + 5
			want := hw.Forecast(h)
			for _, p := range hw.Paths(h, 2, rand.New(rand.NewPCG(1, 1))) {
				if !equalSlices(p, want, 1e-9) {
					t.Errorf("path = %v\nwant %v", p, want)
				}
			}
		})
	}
}

func TestPathsReproducible(t *testing.T) {
	y := seasonal(200, 24, 10, 0.1, 3, 1, 21)
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{name: "holt-winters", s: Settings{Period: 24, Seed: 7}},
		{name: "damped holt", s: Settings{Seed: 7}},
		{name: "seasonal naive", s: Settings{Period: 24, Model: NameSeasonalNaive, Seed: 7}},
		{name: "naive", s: Settings{Model: NameNaive}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f1, err := Fit(y, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			f2, err := Fit(y, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			a := f1.Paths(40, 50, tc.s.Rand())
			b := f2.Paths(40, 50, tc.s.Rand())
			for i := range a {
				if !equalSlices(a[i], b[i], 0) {
					t.Fatalf("path %d differs with the same seed", i)
				}
			}
			other := tc.s
			other.Seed += 10
			c := f1.Paths(40, 50, other.Rand())
			same := true
			for i := range a {
				same = same && equalSlices(a[i], c[i], 0)
			}
			if same {
				t.Errorf("paths equal with seeds %d and %d", tc.s.Seed, other.Seed)
			}
		})
	}
}

// TestPathsSpread checks that the paths are centred on the forecast and
// spread like the residuals.
func TestPathsSpread(t *testing.T) {
	const sd = 2
	y := seasonal(24*20, 24, 100, 0, 20, sd, 22)
	f, err := Fit(y, Settings{Period: 24})
	if err != nil {
		t.Fatal(err)
	}
	paths := f.Paths(5, 4000, rand.New(rand.NewPCG(3, 3)))
	fc := f.Forecast(5)
	med := Quantile(paths, 1, 0.5)
	if !scalar.EqualWithinAbs(med, fc[0], 0.2) {
		t.Errorf("median at step 1 = %v, forecast %v", med, fc[0])
	}
	// For a normal distribution the interquartile range is 1.349 sd.
	iqr := Quantile(paths, 1, 0.75) - Quantile(paths, 1, 0.25)
	if !scalar.EqualWithinAbsOrRel(iqr, 1.349*sd, 0, 0.15) {
		t.Errorf("interquartile range at step 1 = %v, want about %v", iqr, 1.349*sd)
	}
}

func TestWarmStartRefit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	y := make([]float64, 24*10)
	for i := range y {
		y[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/24) + 0.1*float64(i) + rng.NormFloat64()
	}
	cold, err := Fit(y, Settings{Period: 24, Model: NameHoltWinters})
	if err != nil {
		t.Fatal(err)
	}
	p := cold.(*HoltWinters).Params()
	warm, err := Fit(y, Settings{Period: 24, Model: NameHoltWinters, MaxEvaluations: 40, Start: &p})
	if err != nil {
		t.Fatal(err)
	}
	// Started at the optimum, a short search stays there: the forecasts agree.
	fc, fw := cold.Forecast(24), warm.Forecast(24)
	for i := range fc {
		if !scalar.EqualWithinAbsOrRel(fc[i], fw[i], 0.5, 0.01) {
			t.Fatalf("step %d: warm %.3f, cold %.3f", i+1, fw[i], fc[i])
		}
	}
}
