package model

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Model names accepted in Settings.Model and returned by Forecaster.Name.
const (
	NameAuto          = "auto"
	NameHoltWinters   = "holt-winters"
	NameSeasonalNaive = "seasonal-naive"
	NameNaive         = "naive"
)

// MinHolt is the least number of observations (len(y), missing ones
// included) for which the automatic choice fits a non-seasonal damped Holt
// model instead of naive, and the least that Fit accepts for an explicit
// "holt-winters" without a season.
const MinHolt = 10

// DefaultMaxEvaluations is the bound on objective evaluations per fit used
// when Settings.MaxEvaluations is zero.
const DefaultMaxEvaluations = 300

var (
	// ErrShortHistory is returned when there are too few observations, or
	// too few finite ones, for the requested model.
	ErrShortHistory = errors.New("model: history too short")
	// ErrUnknownModel is returned for a Settings.Model that is not one of
	// the model names.
	ErrUnknownModel = errors.New("model: unknown model")
	// ErrSettings is returned for settings that are out of range.
	ErrSettings = errors.New("model: invalid settings")
)

// Settings configures Fit. The zero value is a valid default: no season,
// automatic model choice, DefaultMaxEvaluations objective evaluations per
// fit, seed 1.
type Settings struct {
	// Period is the seasonal period in steps. 0 (and 1) mean non-seasonal;
	// negative values are an error.
	Period int
	// Model is "" or "auto", "holt-winters", "seasonal-naive" or "naive".
	// See Fit for what "auto" chooses.
	Model string
	// MaxEvaluations bounds the number of objective evaluations of one fit;
	// 0 means DefaultMaxEvaluations. Negative values are an error.
	MaxEvaluations int
	// Seed seeds the random source returned by Rand; 0 means 1. Fit itself
	// is deterministic.
	Seed uint64
	// Start, when set, is where the Holt-Winters parameter search starts
	// instead of α = 0.3, β = 0.03, γ = 0.07, φ = 0.9: a refit passes the
	// previous fit's parameters (a warm start), which lets it converge in
	// far fewer evaluations.
	Start *HoltWintersParams
}

// Rand returns a new random source seeded from s.Seed (0 means 1), for
// Forecaster.Paths:
//
//	rand.New(rand.NewPCG(seed, seed))
func (s Settings) Rand() *rand.Rand {
	seed := s.Seed
	if seed == 0 {
		seed = 1
	}
	return rand.New(rand.NewPCG(seed, seed))
}

func (s Settings) maxEvaluations() int {
	if s.MaxEvaluations == 0 {
		return DefaultMaxEvaluations
	}
	return s.MaxEvaluations
}

// period returns the effective seasonal period: 0 when non-seasonal.
func (s Settings) period() int {
	if s.Period <= 1 {
		return 0
	}
	return s.Period
}

// Forecaster is a fitted model. It is not safe for concurrent use: Update
// changes its state.
type Forecaster interface {
	// Name returns the model's name: "holt-winters", "seasonal-naive" or
	// "naive". The non-seasonal damped Holt model is "holt-winters" with
	// Period 0.
	Name() string
	// Update advances the state by one new observation without refitting
	// the parameters, in O(1). A NaN or ±Inf y is missing: the state
	// advances on the model's own one-step forecast (a zero error) and the
	// residual pool is not changed. The residual pool is the one of the fit.
	Update(y float64)
	// Forecast returns point forecasts for steps 1..h; nil when h < 1.
	Forecast(h int) []float64
	// Paths returns n sample paths of length h: the model's state equations
	// driven by residuals drawn with replacement from the in-sample
	// one-step residuals (bootstrap), using rng. A model without residuals
	// (or with only zero residuals) gives paths that follow its forecast.
	// Paths returns nil when h < 1 or n < 1.
	Paths(h, n int, rng *rand.Rand) [][]float64
}

// Fit fits the model that s.Model names to y, sampled on a regular step.
// Missing observations are NaN or ±Inf; at least 2 must be finite.
//
// "" and "auto" choose by the length of y (missing observations included)
// and the period m = s.Period:
//
//   - Holt-Winters with additive season and damped trend when m > 1 and
//     len(y) >= 2m;
//   - seasonal naive when m > 1 and m <= len(y) < 2m;
//   - damped Holt (Holt-Winters without season) when len(y) >= MinHolt;
//   - naive otherwise.
//
// An explicit "holt-winters" needs len(y) >= 2m when m > 1 and
// len(y) >= MinHolt otherwise; "seasonal-naive" needs m > 1 and
// len(y) >= m; "naive" needs only the 2 finite observations. See
// HoltWinters, SeasonalNaive and Naive for how each treats missing
// observations.
func Fit(y []float64, s Settings) (Forecaster, error) {
	if s.Period < 0 {
		return nil, fmt.Errorf("period %d: %w", s.Period, ErrSettings)
	}
	if s.MaxEvaluations < 0 {
		return nil, fmt.Errorf("max evaluations %d: %w", s.MaxEvaluations, ErrSettings)
	}
	if c := countFinite(y); c < 2 {
		return nil, fmt.Errorf("%d finite of %d observations, need 2: %w", c, len(y), ErrShortHistory)
	}
	m, n := s.period(), len(y)
	name := s.Model
	if name == "" || name == NameAuto {
		switch {
		case m > 0 && n >= 2*m:
			name = NameHoltWinters
		case m > 0 && n >= m:
			name = NameSeasonalNaive
		case n >= MinHolt:
			name = NameHoltWinters
			m = 0
		default:
			name = NameNaive
		}
	}
	switch name {
	case NameHoltWinters:
		return forecaster(fitHoltWinters(y, m, s.maxEvaluations(), s.Start))
	case NameSeasonalNaive:
		if m == 0 {
			return nil, fmt.Errorf("seasonal-naive: period %d: %w", s.Period, ErrSettings)
		}
		return forecaster(fitSeasonalNaive(y, m))
	case NameNaive:
		return forecaster(fitNaive(y))
	}
	return nil, fmt.Errorf("%q: %w", s.Model, ErrUnknownModel)
}

// forecaster returns f as a Forecaster, and a nil interface (not a nil
// pointer in one) on error.
func forecaster[F Forecaster](f F, err error) (Forecaster, error) {
	if err != nil {
		return nil, err
	}
	return f, nil
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return v-v == 0 }

func countFinite(y []float64) int {
	c := 0
	for _, v := range y {
		if finite(v) {
			c++
		}
	}
	return c
}

// newPaths allocates n paths of length h on one backing array.
func newPaths(h, n int) [][]float64 {
	back := make([]float64, h*n)
	out := make([][]float64, n)
	for i := range out {
		out[i] = back[i*h : (i+1)*h : (i+1)*h]
	}
	return out
}

// draw returns a residual drawn with replacement from pool, 0 when pool is
// empty.
func draw(pool []float64, rng *rand.Rand) float64 {
	if len(pool) == 0 {
		return 0
	}
	return pool[rng.IntN(len(pool))]
}
