package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Model names accepted in Settings.Model and returned by Forecaster.Name.
const (
	NameAuto            = "auto"
	NameHoltWinters     = "holt-winters"
	NameHoltWintersMult = "holt-winters-mult"
	NameDoubleSeasonal  = "double-seasonal"
	NameSeasonalNaive   = "seasonal-naive"
	NameNaive           = "naive"
	NameTheta           = "theta"
	NameAR              = "ar"
	NameLinearTrend     = "linear-trend"
	NameCombination     = "combination"
)

// Names returns the model names Fit accepts, "auto" first.
func Names() []string {
	return []string{NameAuto, NameHoltWinters, NameHoltWintersMult, NameDoubleSeasonal,
		NameSeasonalNaive, NameNaive, NameTheta, NameAR, NameLinearTrend, NameCombination}
}

// MinHolt is the least number of observations (len(y), missing ones
// included) for which the automatic choice fits a non-seasonal damped Holt
// model instead of naive, and the least that Fit accepts for an explicit
// "holt-winters" without a season.
const MinHolt = 10

// DefaultMaxEvaluations is the bound on objective evaluations per fit used
// when Settings.MaxEvaluations is zero.
const DefaultMaxEvaluations = 300

// DefaultOrigins is the number of rolling origins of the automatic
// choice's backtest when Settings.Origins is zero.
const DefaultOrigins = 3

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
// fit, seed 1, a backtest horizon of one period and DefaultOrigins origins.
type Settings struct {
	// Period is the seasonal period in steps. 0 (and 1) mean non-seasonal;
	// negative values are an error.
	Period int
	// Periods are further seasonal periods in steps, e.g. {24, 168} for a
	// day and a week of hours. The seasonal periods are Period and Periods
	// together, deduplicated, shortest first; values ≤ 1 are ignored and
	// negative ones are an error. A model with one season uses the
	// shortest; "double-seasonal" uses the shortest and the longest.
	Periods []int
	// Model is "" or one of the names returned by Names. See Fit for what
	// "auto" chooses.
	Model string
	// MaxEvaluations bounds the number of objective evaluations of one
	// parameter fit; 0 means DefaultMaxEvaluations. Negative values are an
	// error. "auto" and "combination" make one fit per candidate model and
	// one more per chosen model, each bounded by MaxEvaluations.
	MaxEvaluations int
	// Seed seeds the random source returned by Rand; 0 means 1. Fit itself
	// is deterministic.
	Seed uint64
	// Start, when set, is where the Holt-Winters parameter search starts
	// instead of α = 0.3, β = 0.03, γ = 0.07, φ = 0.9: a refit passes the
	// previous fit's parameters (a warm start), which lets it converge in
	// far fewer evaluations. "auto" passes it to its Holt-Winters fits.
	Start *HoltWintersParams
	// Horizon is the number of steps ahead that the backtest of "auto" and
	// "combination" scores; 0 means the shortest seasonal period, or
	// MinHolt steps without a season. Negative values are an error.
	Horizon int
	// Origins is the number of rolling origins of that backtest, Horizon
	// steps apart; 0 means DefaultOrigins, or more when needed for the
	// origins to span the shortest period: max(DefaultOrigins, ⌈m/H⌉).
	// Negative values are an error.
	Origins int
	// Candidates names the models "auto" backtests, among those that suit
	// the series; nil means the default set (see Fit), ["all"] every model.
	Candidates []string
	// Events marks the steps in a known event's window, from the first
	// observation of y (Events[i] for y[i]) on into the future (Events[i]
	// for i ≥ len(y) are the steps Forecast and Update reach). nil (or no
	// event in y) fits as without; see Events for the model.
	Events []bool
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

// periods returns the seasonal periods > 1, sorted and deduplicated.
func (s Settings) periods() []int {
	var ps []int
	for _, p := range append([]int{s.Period}, s.Periods...) {
		if p > 1 && !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// period returns the shortest seasonal period: 0 when non-seasonal.
func (s Settings) period() int {
	if ps := s.periods(); len(ps) > 0 {
		return ps[0]
	}
	return 0
}

// longPeriod returns the longest seasonal period when there are two or
// more, else 0.
func (s Settings) longPeriod() int {
	if ps := s.periods(); len(ps) > 1 {
		return ps[len(ps)-1]
	}
	return 0
}

func (s Settings) horizon() int {
	switch {
	case s.Horizon > 0:
		return s.Horizon
	case s.period() > 0:
		return s.period()
	}
	return MinHolt
}

func (s Settings) origins() int {
	if s.Origins > 0 {
		return s.Origins
	}
	h := s.horizon()
	return max(DefaultOrigins, (s.period()+h-1)/h)
}

func (s Settings) check() error {
	if s.Period < 0 {
		return fmt.Errorf("period %d: %w", s.Period, ErrSettings)
	}
	for _, p := range s.Periods {
		if p < 0 {
			return fmt.Errorf("period %d: %w", p, ErrSettings)
		}
	}
	if s.MaxEvaluations < 0 {
		return fmt.Errorf("max evaluations %d: %w", s.MaxEvaluations, ErrSettings)
	}
	if s.Horizon < 0 {
		return fmt.Errorf("horizon %d: %w", s.Horizon, ErrSettings)
	}
	if s.Origins < 0 {
		return fmt.Errorf("origins %d: %w", s.Origins, ErrSettings)
	}
	return nil
}

// Forecaster is a fitted model. It is not safe for concurrent use: Update
// changes its state.
type Forecaster interface {
	// Name returns the model's name, one of those returned by Names
	// except "auto". The non-seasonal damped Holt model is "holt-winters"
	// with Period 0.
	Name() string
	// Update advances the state by one new observation without refitting
	// the parameters, in O(1) (O(p) for "ar", O(k) for a combination of k
	// models). A NaN or ±Inf y is missing: the state advances on the
	// model's own one-step forecast (a zero error) and the residual pool is
	// not changed. The residual pool is the one of the fit.
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
// An explicit model needs: "holt-winters" len(y) >= 2m with a period m,
// len(y) >= MinHolt without; "holt-winters-mult" m > 1, len(y) >= 2m and
// every finite observation > 0; "double-seasonal" two periods m < m₂ and
// len(y) >= 2m₂; "seasonal-naive" m > 1 and len(y) >= m; "theta" and "ar"
// 3 finite observations; "linear-trend" and "naive" only the 2. Each
// model's type documents its equations and how it treats missing
// observations. Explicit models search their parameters until
// s.MaxEvaluations or gonum's default convergence.
//
// "", "auto" and "combination" choose by a rolling-origin backtest on y
// itself. With H = s.Horizon (default: the shortest period m), K origins
// (s.Origins, default max(DefaultOrigins, ⌈m/H⌉)) and n = len(y), the
// backtest needs n >= 2m + K·H (2·MinHolt + K·H without a season). With
// less, the choice goes by length instead:
//
//   - Holt-Winters with additive season and damped trend when m > 1 and
//     n >= 2m;
//   - seasonal naive when m > 1 and m <= n < 2m;
//   - damped Holt (Holt-Winters without season) when n >= MinHolt;
//   - naive otherwise.
//
// The backtest:
//
//  1. Each candidate is fitted to the first n₀ = n − K·H observations and
//     run forward over the rest with Update, forecasting H steps at the K
//     origins n₀, n₀+H, …, n−H. The candidates are seasonal naive (each
//     period), additive Holt-Winters (damped Holt without a season),
//     double-seasonal Holt-Winters (two periods), AR, AR of log y (when at
//     least LogShareMin of the observations are > 0; see LogScale) and
//     linear trend (naive without a season); s.Candidates can name others
//     ("theta", "holt-winters-mult", or ["all"]). Their parameter searches
//     stop early at AutoTolerance and weigh gross errors linearly (Huber's
//     loss, AutoHuber): outliers are dampened in the parameters, though
//     every observation still moves the state. A candidate that fails to
//     fit or forecasts a non-finite value is dropped.
//  2. Each candidate's score is its mean sMAPE, |y−f|/(|y|+|f|), over the
//     finite observations after n₀ when every finite observation is > 0,
//     else its mean absolute error. The CombinationSize best are combined
//     (Combination: the median at each step), which scores better than
//     the single best on the M4 Hourly series (docs/evaluation.md).
//  3. The members are refitted on all of y (Holt-Winters from its backtest
//     parameters); a member whose refit fails keeps its backtest fit run to
//     the end of y.
//  4. The intervals are calibrated (Calibrated). At each origin o, the
//     combination chosen from the other origins gives a forecast f and its
//     best member CalibrationPaths sample paths; each error y − f divided
//     by the distance from the member's forecast to the 90% (above) or 10%
//     (below) quantile of its paths gives a ratio, and the
//     CalibrationQuantile of origin o's ratios, within [CalibrationMin,
//     CalibrationMax], is the factor by which every K-th path's deviations
//     are scaled. The factors make the 80% band cover 80% of the backtest
//     errors made out of the choice's sight, and cycling through them
//     carries their spread into the tails.
//
// The work is bounded by (candidates + CombinationSize) parameter searches
// of at most s.MaxEvaluations evaluations and K·CalibrationPaths paths of
// H steps. s.Start seeds the Holt-Winters searches.
func Fit(y []float64, s Settings) (Forecaster, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if c := countFinite(y); c < 2 {
		return nil, fmt.Errorf("%d finite of %d observations, need 2: %w", c, len(y), ErrShortHistory)
	}
	if len(s.Events) > 0 {
		return fitEvents(y, s)
	}
	switch s.Model {
	case "", NameAuto, NameCombination:
		return fitAuto(y, s)
	}
	if !slices.Contains(Names(), s.Model) {
		return nil, fmt.Errorf("%q: %w", s.Model, ErrUnknownModel)
	}
	return spec{name: s.Model, m1: s.period(), m2: s.longPeriod()}.fit(y, budget{evals: s.maxEvaluations()}, s.Start)
}

// byLength is the choice of "auto" without a backtest.
func byLength(y []float64, s Settings) (Forecaster, error) {
	m, n := s.period(), len(y)
	switch {
	case m > 0 && n >= 2*m:
		return forecaster(fitHoltWinters(y, m, budget{evals: s.maxEvaluations()}, s.Start))
	case m > 0 && n >= m:
		return forecaster(fitSeasonalNaive(y, m))
	case n >= MinHolt:
		return forecaster(fitHoltWinters(y, 0, budget{evals: s.maxEvaluations()}, s.Start))
	}
	return forecaster(fitNaive(y))
}

// forecaster returns f as a Forecaster, and a nil interface (not a nil
// pointer in one) on error.
func forecaster[F Forecaster](f F, err error) (Forecaster, error) {
	if err != nil {
		return nil, err
	}
	return f, nil
}

// bound clamps ±Inf to ±math.MaxFloat64: a forecast that overflows the
// float64 range is reported at its edge.
func bound(v float64) float64 {
	switch {
	case v > math.MaxFloat64:
		return math.MaxFloat64
	case v < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return v
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

// PathsInto fills out with the sample paths f.Paths(h, len(out), rng)
// would return, h being len(out[0]) (every out[i] must have that length),
// drawn from rng in the same order: the same paths, in the caller's
// memory. It allocates nothing for Holt-Winters and the naive models; for
// the others it copies the paths Paths returns.
func PathsInto(f Forecaster, out [][]float64, rng *rand.Rand) {
	if len(out) == 0 || len(out[0]) == 0 {
		return
	}
	if pf, ok := f.(pathFiller); ok {
		pf.fillPaths(out, rng)
		return
	}
	for i, p := range f.Paths(len(out[0]), len(out), rng) {
		copy(out[i], p)
	}
}

// pathFiller is a Forecaster that draws its sample paths into the caller's
// memory.
type pathFiller interface {
	fillPaths(out [][]float64, rng *rand.Rand)
}

var (
	_ pathFiller = (*HoltWinters)(nil)
	_ pathFiller = (*Naive)(nil)
	_ pathFiller = (*SeasonalNaive)(nil)
)

// NewPaths returns n paths of length h in one backing array, for PathsInto.
func NewPaths(h, n int) [][]float64 { return newPaths(h, n) }

// newPaths allocates n paths of length h on one backing array.
func newPaths(h, n int) [][]float64 {
	back := make([]float64, h*n)
	out := make([][]float64, n)
	for i := range out {
		out[i] = back[i*h : (i+1)*h : (i+1)*h]
	}
	return out
}

// drawer draws residuals with replacement from a pool, 0 when the pool is
// empty. Each 64-bit value of the random source gives two draws: each
// 32-bit half r is mapped to the index ⌊r·n/2³²⌋ (Lemire's multiply-shift
// without the rejection step), whose bias, below n/2³² in probability, is
// nothing next to the bootstrap's own error for pools of up to millions of
// residuals. It halves the random source's work of IntN per draw, which
// was most of a sample path's time.
type drawer struct {
	pool []float64
	n    uint64
	rng  *rand.Rand
	bits uint64 // the low half, when have is set, is the next draw's
	have bool
}

func newDrawer(pool []float64, rng *rand.Rand) drawer {
	if uint64(len(pool)) > math.MaxUint32 {
		panic("model: residual pool too large")
	}
	return drawer{pool: pool, n: uint64(len(pool)), rng: rng}
}

// draw returns the next residual.
func (d *drawer) draw() float64 {
	if d.n == 0 {
		return 0
	}
	if d.have {
		d.have = false
		return d.pool[(d.bits&math.MaxUint32)*d.n>>32]
	}
	d.bits, d.have = d.rng.Uint64(), true
	return d.pool[(d.bits>>32)*d.n>>32]
}

// fill sets every value of out to the next draw: the same draws, in the
// same order, as calling draw for each, two to a random value in one go.
func (d *drawer) fill(out []float64) {
	if d.n == 0 {
		clear(out)
		return
	}
	j := 0
	if d.have && len(out) > 0 {
		out[0] = d.draw()
		j = 1
	}
	pool, n := d.pool, d.n
	for ; j+2 <= len(out); j += 2 {
		u := d.rng.Uint64()
		out[j] = pool[(u>>32)*n>>32]
		out[j+1] = pool[(u&math.MaxUint32)*n>>32]
	}
	if j < len(out) {
		out[j] = d.draw()
	}
}

// maxAbs returns the largest magnitude of the finite values of y, 1 when
// there is none or it is 0.
func maxAbs(y []float64) float64 {
	big := 0.0
	for _, v := range y {
		if finite(v) {
			big = math.Max(big, math.Abs(v))
		}
	}
	if big == 0 {
		return 1
	}
	return big
}
