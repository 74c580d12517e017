package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/model/eval"
)

// forecastHelp is presage forecast's description.
const forecastHelp = `Forecast every series of a CSV file H steps ahead with prediction intervals,
or (-eval) score the models on the M4 Hourly and NASA-HTTP data.

The input has the header series,timestamp,value and one row per observation;
a timestamp is RFC 3339, "2006-01-02 15:04:05" in the -tz zone (default
UTC; a repeated local hour is read in row order, a missing one moves later
by the gap) or an integer index, each series' rows are in time
order on a regular step (the smallest gap between its rows; missing steps
and empty or NaN values are gaps, never zeros). The output has the header
series,step,forecast,lo,hi with steps 1..H for every series, in input order;
lo and hi bound the -level prediction interval, read from the model's sample
paths. Series are fitted in parallel on every core.

-period takes one period or two ("24,168": a day and a week of hours); 0
detects them per series from the autocorrelation. -model auto (the default)
chooses by a rolling-origin backtest of H steps on each series and combines
the three best models; see 'go doc github.com/presage-dev/presage/model.Fit'.

-eval reads the data folder (-data, else $PRESAGE_DATA; see
../shared/data/README.md) and prints, per model, sMAPE, MASE and OWA as the
M4 competition defines them, the 80% and 95% interval coverage and the fit
time: on the M4 Hourly training series with the last 48 hours held out, on
three rolling origins 48 hours apart, and on the NASA-HTTP requests per 5
minutes (horizon 12, 56 origins 6 hours apart over the last two weeks).
Without data it says so and exits 0.`

func runForecast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast", "-in CSV [-tz ZONE] -horizon H [-period P] [-model auto|NAME] [-level 0.8] -out CSV\n       presage forecast -eval [-data DIR] [-models LIST]", forecastHelp, stderr)
	in := fs.String("in", "", "input CSV `file` (- for stdin): series,timestamp,value")
	out := fs.String("out", "-", "output CSV `file` (- for stdout): series,step,forecast,lo,hi")
	horizon := fs.Int("horizon", 0, "forecast horizon in `steps` (required without -eval)")
	period := fs.String("period", "0", "seasonal `periods` in steps, one or two comma-separated (24 or 24,168); 0 detects them")
	modelName := fs.String("model", model.NameAuto, "`model`: "+strings.Join(model.Names(), ", "))
	level := fs.Float64("level", 0.8, "prediction interval `level`, in (0, 1)")
	paths := fs.Int("paths", 500, "sample `paths` per series from which the interval is read")
	seed := fs.Uint64("seed", 1, "random `seed` of the sample paths")
	workers := fs.Int("workers", 0, "`number` of series fitted at once; 0 means one per core")
	evalMode := fs.Bool("eval", false, "score the models on the M4 Hourly and NASA-HTTP data instead")
	data := fs.String("data", "", "data `folder` of -eval (default $PRESAGE_DATA)")
	tz := addZoneFlag(fs, "-in")
	evalModels := fs.String("models", strings.Join(eval.DefaultModels, ","), "comma-separated `list` of models -eval scores")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, format+"\n", a...)
		return errUsage
	}
	if *evalMode {
		names, err := modelList(*evalModels)
		if err != nil {
			return usageErr("-models: %v", err)
		}
		skip := func(err error) { fmt.Fprintf(stderr, "forecast -eval: %v\n", err) }
		return eval.Benchmark(ctx, *data, names, *workers, stdout, skip)
	}
	switch {
	case *in == "":
		return usageErr("-in is required")
	case *horizon < 1:
		return usageErr("-horizon must be ≥ 1, got %d", *horizon)
	case !(*level > 0 && *level < 1):
		return usageErr("-level must be in (0, 1), got %g", *level)
	case *paths < 2:
		return usageErr("-paths must be ≥ 2, got %d", *paths)
	case !slices.Contains(model.Names(), *modelName):
		return usageErr("-model: unknown model %q; one of %s", *modelName, strings.Join(model.Names(), ", "))
	}
	periods, err := eval.ParsePeriods(*period)
	if err != nil {
		return usageErr("-period: %v", err)
	}
	o := eval.ForecastOptions{Settings: model.Settings{Model: *modelName, Seed: *seed}, Horizon: *horizon,
		Periods: periods, Level: *level, Paths: *paths, Workers: *workers}
	return forecastFile(ctx, *in, *out, tz.options(), o, stdout)
}

// forecastFile reads the forecast input in (- for stdin) with the options
// fo, forecasts every series and writes the forecast output to out (- for stdout).
func forecastFile(ctx context.Context, in, out string, fo file.Options, o eval.ForecastOptions, stdout io.Writer) error {
	r, name := io.Reader(os.Stdin), "stdin"
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, in
	}
	input, err := fo.ParseForecastInput(r, name)
	if err != nil {
		return err
	}
	series := make([]eval.Series, len(input))
	for i, s := range input {
		series[i] = eval.Series{ID: s.Name, Values: s.Values}
	}
	fcs, err := eval.ForecastAll(ctx, series, o)
	if err != nil {
		return err
	}
	results := make([]file.Forecast, len(fcs))
	for i, f := range fcs {
		results[i] = file.Forecast{Series: f.ID, Values: f.Values, Lo: f.Lo, Hi: f.Hi}
	}
	return writeFile(out, stdout, func(w io.Writer) error { return file.WriteForecasts(w, results) })
}

// modelList reads -models: model names, comma-separated.
func modelList(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(model.Names(), name) {
			return nil, fmt.Errorf("unknown model %q; one of %s", name, strings.Join(model.Names(), ", "))
		}
		out = append(out, name)
	}
	return out, nil
}
