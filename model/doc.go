// Package model forecasts the signals presage watches and turns the
// forecasts into a breach risk.
//
// Everything here works on []float64 sampled on a regular step: a step is
// one control interval, a period is a number of steps, and there is no
// time.Time, no I/O and no global state. Fits are bounded by a number of
// objective evaluations (Settings.MaxEvaluations), not by wall time, and all
// randomness comes from a caller's seeded *rand.Rand, so the same history and
// settings always give the same answer.
//
// The pieces:
//
//   - Models, each a Forecaster with its equations on its type:
//     HoltWinters (additive season, damped trend; damped Holt without a
//     season), HoltWintersMult (multiplicative season), DoubleSeasonal
//     (Taylor's two-season Holt-Winters, e.g. a day and a week), AR
//     (autoregression on the seasonally adjusted series), Theta,
//     LinearTrend, SeasonalNaive and Naive; LogScale fits any of them to
//     log y, Combination takes the median of several, Calibrated rescales
//     a model's sample paths.
//   - Fit fits the model Settings.Model names, or by default chooses by a
//     rolling-origin backtest on the series itself: the median of the
//     three best models, with intervals calibrated on the backtest errors.
//     Seasonal, Decompose and DetectPeriod find and measure seasons.
//   - Forecaster.Update advances a fitted model by one observation without
//     refitting; Forecast gives point forecasts; Paths gives sample paths
//     from the model's state equations driven by bootstrapped in-sample
//     residuals.
//   - BreachRisk and Quantile summarise sample paths: the share of paths in
//     which the incident Pattern occurs within the horizon, the steps to
//     breach, and prediction quantiles (prediction intervals).
//   - BreachLevel estimates, from paired observations, the load at which a
//     response signal breaches its threshold.
//   - Pattern, Hold and Incidents define the incident pattern, once.
//
// Missing observations are NaN (or ±Inf). They are never read as zero: a
// model advances over a missing observation on its own one-step forecast,
// and a missing observation contributes no residual. Values near the
// float64 limits are handled by working in scaled units; a constant series
// forecasts its constant. No input makes a model panic or forecast NaN:
// what cannot be fitted is an error (ErrShortHistory, ErrSettings).
//
// The package model/eval scores forecasts as the M4 competition does
// (sMAPE, MASE, OWA against Naive2) on the M4 Hourly and NASA-HTTP data.
package model
