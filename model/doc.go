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
//   - Fit chooses and fits a Forecaster: Holt-Winters with additive season
//     and damped trend (ETS(A,Ad,A)), its non-seasonal variant (damped Holt,
//     ETS(A,Ad,N)), seasonal naive or naive.
//   - Forecaster.Update advances a fitted model by one observation without
//     refitting; Forecast gives point forecasts; Paths gives sample paths
//     from the model's state equations driven by bootstrapped in-sample
//     residuals.
//   - BreachRisk and Quantile summarise sample paths: the share of paths in
//     which the incident Pattern occurs within the horizon, the steps to
//     breach, and prediction quantiles.
//   - BreachLevel estimates, from paired observations, the load at which a
//     response signal breaches its threshold.
//   - Pattern, Hold and Incidents define the incident pattern, once.
//
// Missing observations are NaN (or ±Inf). They are never read as zero: a
// model advances over a missing observation on its own one-step forecast,
// and a missing observation contributes no residual.
package model
