package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// pattern repeats p for n steps.
func pattern(n int, p ...float64) []float64 {
	y := make([]float64, n)
	for t := range y {
		y[t] = p[t%len(p)]
	}
	return y
}

// doubleSeasonal returns n hours of a daily shape, a weekend dip and noise.
func doubleSeasonal(n int, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed))
	y := make([]float64, n)
	for t := range y {
		day := 20 * math.Sin(2*math.Pi*float64(t)/24)
		week := 0.0
		if (t/24)%7 >= 5 {
			week = -15
		}
		y[t] = 100 + day + week + sd*rng.NormFloat64()
	}
	return y
}

// TestModelsExact checks each model against a noiseless series that it
// represents exactly: the forecast is the series' continuation.
func TestModelsExact(t *testing.T) {
	lin := func(n int) []float64 {
		y := make([]float64, n)
		s := []float64{3, -1, -4, 2}
		for t := range y {
			y[t] = 10 + 0.5*float64(t) + s[t%4]
		}
		return y
	}
	ar2 := func(n int) []float64 {
		y := make([]float64, n)
		y[0], y[1] = 1, 2
		for t := 2; t < n; t++ {
			y[t] = 3 + 0.6*y[t-1] - 0.3*y[t-2]
		}
		return y
	}
	for _, tc := range []struct {
		name string
		y    []float64
		n    int // fit on y[:n]
		s    Settings
		tol  float64
	}{
		{name: "seasonal naive", y: pattern(60, 1, 5, 2, 8, 3), n: 40, s: Settings{Model: NameSeasonalNaive, Period: 5}, tol: 0},
		{name: "naive", y: series("4x20"), n: 10, s: Settings{Model: NameNaive}, tol: 0},
		{name: "linear trend", y: lin(80), n: 50, s: Settings{Model: NameLinearTrend, Period: 4}, tol: 1e-9},
		{name: "ar", y: ar2(120), n: 100, s: Settings{Model: NameAR}, tol: 1e-6},
		{name: "holt-winters constant season", y: pattern(120, 5, 9, 7, 1), n: 100, s: Settings{Model: NameHoltWinters, Period: 4}, tol: 1e-6},
		{name: "holt-winters-mult", y: pattern(120, 50, 90, 70, 10), n: 100, s: Settings{Model: NameHoltWintersMult, Period: 4}, tol: 1e-6},
		{name: "double seasonal", y: doubleSeasonal(24*7*4, 0, 1), n: 24 * 7 * 3, s: Settings{Model: NameDoubleSeasonal, Period: 24, Periods: []int{168}}, tol: 1e-6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fit(tc.y[:tc.n], tc.s)
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			want := tc.y[tc.n:]
			got := f.Forecast(len(want))
			for i := range want {
				if !scalar.EqualWithinAbsOrRel(got[i], want[i], tc.tol, tc.tol) {
					t.Fatalf("step %d: forecast %v, want %v", i+1, got[i], want[i])
				}
			}
		})
	}
}

func TestARCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	y := make([]float64, 5000)
	for t := 2; t < len(y); t++ {
		y[t] = 1 + 0.5*y[t-1] + 0.3*y[t-2] + rng.NormFloat64()
	}
	f, err := Fit(y, Settings{Model: NameAR})
	if err != nil {
		t.Fatal(err)
	}
	c, lags, phi := f.(*AR).Coefficients()
	if len(lags) < 2 || lags[0] != 1 || lags[1] != 2 {
		t.Fatalf("lags %v, want 1, 2, …", lags)
	}
	for i, want := range []float64{0.5, 0.3} {
		if !scalar.EqualWithinAbs(phi[i], want, 0.05) {
			t.Errorf("φ%d = %.3f, want %.1f", i+1, phi[i], want)
		}
	}
	for _, p := range phi[2:] {
		if math.Abs(p) > 0.06 {
			t.Errorf("extra coefficient %.3f, want about 0", p)
		}
	}
	if !scalar.EqualWithinAbs(c, 1, 0.2) {
		t.Errorf("c = %.3f, want about 1", c)
	}
}

func TestExplosive(t *testing.T) {
	for _, tc := range []struct {
		name string
		lags []int
		phi  []float64
		want bool
	}{
		{name: "stationary", lags: []int{1, 2}, phi: []float64{0.5, 0.3}, want: false},
		{name: "unit root", lags: []int{1}, phi: []float64{1}, want: false},
		{name: "seasonal unit root", lags: []int{24}, phi: []float64{1}, want: false},
		{name: "explosive", lags: []int{1}, phi: []float64{1.05}, want: true},
		{name: "explosive oscillation", lags: []int{1, 2}, phi: []float64{0.2, 1.1}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := explosive(tc.lags, tc.phi); got != tc.want {
				t.Errorf("explosive = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecompose(t *testing.T) {
	s := []float64{3, -1, -4, 2} // sums to 0
	add := make([]float64, 40)
	mul := make([]float64, 40)
	ms := []float64{1.2, 0.9, 0.7, 1.2} // mean 1
	for t := range add {
		add[t] = 50 + 0.3*float64(t) + s[t%4]
		mul[t] = 50 * ms[t%4]
	}
	for _, tc := range []struct {
		name string
		y    []float64
		m    int
		mult bool
		want []float64
	}{
		{name: "additive with trend", y: add, m: 4, want: s},
		{name: "multiplicative", y: mul, m: 4, mult: true, want: ms},
		{name: "odd period", y: pattern(30, 1, 2, 6), m: 3, want: []float64{-2, -1, 3}},
		{name: "too short", y: add[:7], m: 4, want: []float64{0, 0, 0, 0}},
		{name: "too short multiplicative", y: mul[:7], m: 4, mult: true, want: []float64{1, 1, 1, 1}},
		{name: "missing", y: withNaN(slices.Clone(add), 5, 17), m: 4, want: s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decompose(tc.y, tc.m, tc.mult); !equalSlices(got, tc.want, 1e-9) {
				t.Errorf("Decompose = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSeasonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	noise := make([]float64, 300)
	for i := range noise {
		noise[i] = rng.NormFloat64()
	}
	for _, tc := range []struct {
		name string
		y    []float64
		m    int
		want bool
	}{
		{name: "daily", y: seasonal(240, 24, 10, 0, 3, 1, 2), m: 24, want: true},
		{name: "noise", y: noise, m: 24, want: false},
		{name: "under three periods", y: seasonal(71, 24, 10, 0, 3, 1, 2), m: 24, want: false},
		{name: "constant", y: series("5x100"), m: 12, want: false},
		{name: "period one", y: noise, m: 1, want: false},
		{name: "all missing", y: series("_x100"), m: 12, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Seasonal(tc.y, tc.m); got != tc.want {
				t.Errorf("Seasonal = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDetectPeriods(t *testing.T) {
	for _, tc := range []struct {
		name string
		y    []float64
		want []int
	}{
		{name: "day and week", y: doubleSeasonal(24*7*6, 2, 3), want: []int{24, 168}},
		{name: "day only", y: seasonal(24*20, 24, 100, 0, 20, 2, 4), want: []int{24}},
		{name: "none", y: seasonal(500, 1e9, 0, 0, 1, 1, 5), want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DetectPeriods(tc.y, 0); !slices.Equal(got, tc.want) {
				t.Errorf("DetectPeriods = %v, want %v", got, tc.want)
			}
		})
	}
}

// explicitNames are the models Fit accepts by name, not "auto".
func explicitNames() []string {
	var out []string
	for _, n := range Names() {
		if n != NameAuto && n != NameCombination {
			out = append(out, n)
		}
	}
	return out
}

// TestMissingIsOwnForecast checks the documented rule for gaps: every
// model advances over a missing observation exactly as over its own
// one-step forecast.
func TestMissingIsOwnForecast(t *testing.T) {
	y := doubleSeasonal(24*7*3, 3, 6)
	s := Settings{Period: 24, Periods: []int{168}}
	for _, name := range explicitNames() {
		t.Run(name, func(t *testing.T) {
			s := s
			s.Model = name
			f, err := Fit(y, s)
			if err != nil {
				t.Fatal(err)
			}
			g := clone(f)
			f.Update(math.NaN())
			g.Update(g.Forecast(1)[0])
			for range 30 {
				f.Update(105)
				g.Update(105)
			}
			if a, b := f.Forecast(200), g.Forecast(200); !equalSlices(a, b, 1e-9) {
				t.Errorf("after a missing observation %v\nafter the forecast %v", a[:5], b[:5])
			}
		})
	}
}

// TestModelsEdgeCases runs every model on degenerate inputs: the fit
// either succeeds with finite forecasts and paths or fails with one of the
// package's errors.
func TestModelsEdgeCases(t *testing.T) {
	inputs := []struct {
		name string
		y    []float64
	}{
		{name: "constant", y: series("7x400")},
		{name: "zero", y: series("0x400")},
		{name: "gaps", y: withNaN(doubleSeasonal(400, 1, 7), seq(0, 30)...)},
		{name: "mostly missing", y: withNaN(doubleSeasonal(400, 1, 8), seq(3, 397)...)},
		{name: "huge", y: scaled(doubleSeasonal(400, 1, 9), 1e306)},
		{name: "tiny", y: scaled(doubleSeasonal(400, 1, 10), 1e-306)},
		{name: "negative", y: scaled(doubleSeasonal(400, 1, 11), -1)},
		{name: "infinities", y: withInf(doubleSeasonal(400, 1, 12), 5, 200, 399)},
		{name: "short", y: series("1 2 3")},
		{name: "spike", y: func() []float64 { y := doubleSeasonal(400, 1, 13); y[390] = 1e9; return y }()},
	}
	for _, in := range inputs {
		for _, name := range Names() {
			t.Run(in.name+"/"+name, func(t *testing.T) {
				f, err := Fit(in.y, Settings{Model: name, Period: 24, Periods: []int{168}, Horizon: 24})
				if err != nil {
					if !errors.Is(err, ErrShortHistory) && !errors.Is(err, ErrSettings) {
						t.Fatalf("unexpected error %v", err)
					}
					return
				}
				for i, v := range f.Forecast(50) {
					if !finite(v) {
						t.Fatalf("Forecast[%d] = %v", i, v)
					}
				}
				for _, p := range f.Paths(50, 20, rand.New(rand.NewPCG(1, 1))) {
					for i, v := range p {
						if math.IsNaN(v) {
							t.Fatalf("path[%d] is NaN", i)
						}
					}
				}
			})
		}
	}
}

func TestModelsConstant(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			f, err := Fit(series("7x400"), Settings{Model: name, Period: 24, Periods: []int{168}, Horizon: 24})
			if err != nil {
				t.Fatal(err)
			}
			fc := f.Forecast(30)
			for i, v := range fc {
				if !scalar.EqualWithinAbsOrRel(v, 7, 1e-9, 1e-9) {
					t.Fatalf("Forecast[%d] = %v, want 7", i, v)
				}
			}
			for _, p := range f.Paths(30, 5, rand.New(rand.NewPCG(1, 1))) {
				if !equalSlices(p, fc, 1e-9) {
					t.Fatalf("path %v, want the forecast", p)
				}
			}
		})
	}
}

// TestAuto checks the automatic choice on a noisy double-seasonal series:
// a calibrated combination of three models that forecasts better than
// seasonal naive, reproducibly.
func TestAuto(t *testing.T) {
	const h = 48
	s := Settings{Period: 24, Periods: []int{168}, Horizon: h}
	var autoErr, snErr float64
	for seed := uint64(1); seed <= 5; seed++ {
		y := doubleSeasonal(24*7*5+h, 4, seed)
		train, test := y[:len(y)-h], y[len(y)-h:]
		f, err := Fit(train, s)
		if err != nil {
			t.Fatal(err)
		}
		cal, ok := f.(*Calibrated)
		if !ok {
			t.Fatalf("auto returned %T, want *Calibrated", f)
		}
		if c, ok := cal.Forecaster.(*Combination); !ok || len(c.Members()) != CombinationSize {
			t.Fatalf("auto returned %v, want a combination of %d", cal.Forecaster, CombinationSize)
		}
		if len(cal.Scales) != s.origins() {
			t.Errorf("%d calibration factors, want one per origin (%d)", len(cal.Scales), s.origins())
		}
		again, _ := Fit(train, s)
		if !equalSlices(f.Forecast(h), again.Forecast(h), 0) {
			t.Fatal("two fits of the same series differ")
		}
		sn, _ := Fit(train, Settings{Model: NameSeasonalNaive, Period: 168})
		autoErr += mse(f.Forecast(h), test)
		snErr += mse(sn.Forecast(h), test)
	}
	if autoErr >= snErr {
		t.Errorf("auto MSE %.3g >= seasonal naive (weekly) MSE %.3g", autoErr/5, snErr/5)
	}
}

// TestAutoCoverage checks that the calibrated 80% intervals cover about
// 80% of what follows, over many series.
func TestAutoCoverage(t *testing.T) {
	const h = 24
	var in, n int
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 100+seed))
		y := make([]float64, 24*20+h)
		e := 0.0
		for t := range y {
			e = 0.7*e + 3*rng.NormFloat64()
			y[t] = 100 + 20*math.Sin(2*math.Pi*float64(t)/24) + e
		}
		train, test := y[:len(y)-h], y[len(y)-h:]
		s := Settings{Period: 24, Horizon: h, Seed: seed}
		f, err := Fit(train, s)
		if err != nil {
			t.Fatal(err)
		}
		ps := f.Paths(h, 500, s.Rand())
		for j, v := range test {
			q := Quantiles(ps, j+1, 0.1, 0.9)
			if v >= q[0] && v <= q[1] {
				in++
			}
			n++
		}
	}
	if c := float64(in) / float64(n); c < 0.7 || c > 0.9 {
		t.Errorf("80%% interval covered %.1f%%", 100*c)
	}
}

func TestAutoFallsBack(t *testing.T) {
	// Too short for a backtest of a period ahead at three origins: the
	// choice goes by length.
	f, err := Fit(seasonal(24*4, 24, 10, 0.1, 3, 0.5, 1), Settings{Period: 24})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*HoltWinters); !ok {
		t.Errorf("auto on 4 periods returned %T, want *HoltWinters", f)
	}
	// A candidate list that leaves none: by length too.
	f, err = Fit(seasonal(24*10, 24, 10, 0.1, 3, 0.5, 1), Settings{Period: 24, Candidates: []string{"none"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*HoltWinters); !ok {
		t.Errorf("auto without candidates returned %T, want *HoltWinters", f)
	}
}

func TestCombination(t *testing.T) {
	a, _ := Fit(series("1 1 1 1"), Settings{Model: NameNaive})
	b, _ := Fit(series("0 2 4 6"), Settings{Model: NameNaive})
	c, _ := Fit(series("3 3 3 9"), Settings{Model: NameNaive})
	for _, tc := range []struct {
		name    string
		members []Forecaster
		want    float64
	}{
		{name: "median of three", members: []Forecaster{a, b, c}, want: 6},
		{name: "mean of two", members: []Forecaster{a, c}, want: 5},
		{name: "one", members: []Forecaster{b}, want: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := NewCombination(tc.members...)
			for _, v := range cb.Forecast(3) {
				if v != tc.want {
					t.Fatalf("Forecast = %v, want %v", v, tc.want)
				}
			}
			// Paths: the first member's random walks, moved to the
			// combination's forecast.
			first := tc.members[0].Paths(3, 4, rand.New(rand.NewPCG(2, 2)))
			got := cb.Paths(3, 4, rand.New(rand.NewPCG(2, 2)))
			base := tc.members[0].Forecast(3)
			for i := range got {
				for j := range got[i] {
					if want := first[i][j] - base[j] + tc.want; !scalar.EqualWithinAbs(got[i][j], want, 1e-12) {
						t.Fatalf("path %d step %d = %v, want %v", i, j, got[i][j], want)
					}
				}
			}
		})
	}
}

func TestCalibratedPaths(t *testing.T) {
	nv, _ := Fit(series("0 1 3 6 10"), Settings{Model: NameNaive})
	raw := nv.Paths(4, 6, rand.New(rand.NewPCG(5, 5)))
	cal := &Calibrated{Forecaster: nv, Scales: []float64{2, 0.5}}
	got := cal.Paths(4, 6, rand.New(rand.NewPCG(5, 5)))
	for i := range got {
		k := cal.Scales[i%2]
		for j := range got[i] {
			if want := 10 + k*(raw[i][j]-10); !scalar.EqualWithinAbs(got[i][j], want, 1e-12) {
				t.Fatalf("path %d step %d = %v, want %v", i, j, got[i][j], want)
			}
		}
	}
	if cal.Name() != NameNaive || cal.Forecast(1)[0] != 10 {
		t.Errorf("Calibrated changes the model's name or forecast")
	}
}

func TestLogScale(t *testing.T) {
	y := make([]float64, 40)
	for t := range y {
		y[t] = math.Exp(0.1 * float64(t))
	}
	base, err := Fit(logOf(y), Settings{Model: NameLinearTrend})
	if err != nil {
		t.Fatal(err)
	}
	f := &LogScale{Forecaster: base}
	for j, v := range f.Forecast(5) {
		if want := math.Exp(0.1 * float64(40+j)); !scalar.EqualWithinRel(v, want, 1e-9) {
			t.Errorf("step %d: %v, want %v", j+1, v, want)
		}
	}
	f.Update(-1) // not positive: missing
	f.Update(math.Exp(4.1))
	if v := f.Forecast(1)[0]; !scalar.EqualWithinRel(v, math.Exp(4.2), 1e-9) {
		t.Errorf("after updates: %v, want %v", v, math.Exp(4.2))
	}
}

func TestQuantileSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for n := 1; n < 60; n++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(rng.NormFloat64() * 3) // ties
		}
		sorted := slices.Sorted(slices.Values(v))
		for _, q := range []float64{0, 0.025, 0.1, 0.5, 0.8, 0.9, 0.975, 1} {
			if got, want := quantileSelect(slices.Clone(v), q), quantileSorted(sorted, q); got != want {
				t.Fatalf("n=%d q=%v: %v, want %v", n, q, got, want)
			}
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	y := seasonal(200, 24, 10, 0, 2, 1, 1)
	for _, tc := range []struct {
		name string
		s    Settings
		want error
	}{
		{name: "negative extra period", s: Settings{Periods: []int{-24}}, want: ErrSettings},
		{name: "negative horizon", s: Settings{Horizon: -1}, want: ErrSettings},
		{name: "negative origins", s: Settings{Origins: -1}, want: ErrSettings},
		{name: "double seasonal with one period", s: Settings{Model: NameDoubleSeasonal, Period: 24}, want: ErrSettings},
		{name: "double seasonal too short", s: Settings{Model: NameDoubleSeasonal, Period: 24, Periods: []int{168}}, want: ErrShortHistory},
		{name: "multiplicative without period", s: Settings{Model: NameHoltWintersMult}, want: ErrSettings},
		{name: "multiplicative not positive", s: Settings{Model: NameHoltWintersMult, Period: 24}, want: ErrSettings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := y
			if tc.name == "multiplicative not positive" {
				in = scaled(y, -1)
			}
			if _, err := Fit(in, tc.s); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// quantileSorted is the type-7 quantile of sorted v, the reference for
// quantileSelect.
func quantileSorted(v []float64, q float64) float64 {
	i := q * float64(len(v)-1)
	lo := int(i)
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	if frac := i - float64(lo); frac > 0 && v[lo+1] != v[lo] {
		return v[lo] + frac*(v[lo+1]-v[lo])
	}
	return v[lo]
}
