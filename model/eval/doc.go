// Package eval scores forecasts the way the M4 competition does and runs
// rolling-origin evaluations of the models of package model on real data.
//
// The scores (Makridakis, Spiliotis & Assimakopoulos 2020, "The M4
// Competition: 100,000 time series and 61 forecasting methods", IJF 36(1)):
// SMAPE, MASE with a seasonal-naive scale (MASEScale), and OWA relative to
// the Naive2 benchmark, all averaged over every series and step before the
// ratios are taken. Naive2 is the naive forecast of the series seasonally
// adjusted by classical multiplicative decomposition when the M4 90%
// autocorrelation test says it is seasonal.
//
// Run cuts every series of a Task at rolling origins, fits each model to the
// history before an origin and scores its forecast of what follows, with
// the coverage of its 80% and 95% prediction intervals (read from the
// model's sample paths) and the time spent fitting. LoadM4Hourly and
// LoadNASA read the data folder described in ../shared/data/README.md
// (DataDir: a flag or PRESAGE_DATA); without it they return ErrNoData, and
// the tests that need it skip. Benchmark runs the standard tasks on that
// folder (M4 Hourly, NASA-HTTP) and writes their tables: `presage forecast
// -eval`.
//
// ForecastAll is `presage forecast`'s driver: it fits a model to each of
// many series on a pool of workers and reads each forecast's prediction
// interval from the model's sample paths, the same answer whatever the
// number of workers.
//
// Unlike package model, eval does I/O: it reads the data files.
package eval
