package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/model/eval"
)

// forecastHeader is the header of presage forecast's input CSV.
var forecastHeader = []string{"series", "timestamp", "value"}

// maxGrid bounds the length of one series on its regular grid, gaps
// included.
const maxGrid = 10_000_000

func runForecast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast", "-in CSV -horizon H [-period P] [-model auto|NAME] [-level 0.8] -out CSV\n       presage forecast -eval [-data DIR] [-models LIST]", `Forecast every series of a CSV file H steps ahead with prediction intervals,
or (-eval) score the models on the M4 Hourly and NASA-HTTP data.

The input has the header series,timestamp,value and one row per observation;
a timestamp is RFC 3339 or an integer index, each series' rows are in time
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
Without data it says so and exits 0.`, stderr)
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
	evalModels := fs.String("models", strings.Join(evalModelNames, ","), "comma-separated `list` of models -eval scores")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	if *evalMode {
		names, err := modelList(*evalModels)
		if err != nil {
			fmt.Fprintf(stderr, "-models: %v\n", err)
			return errUsage
		}
		return runEval(ctx, *data, names, *workers, stdout, stderr)
	}
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, format+"\n", a...)
		return errUsage
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
	periods, err := parsePeriods(*period)
	if err != nil {
		return usageErr("-period: %v", err)
	}
	var r io.Reader = os.Stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	series, err := readForecastInput(r)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	base := model.Settings{Model: *modelName, Horizon: *horizon, Seed: *seed}
	results, err := forecastAll(ctx, series, base, periods, *horizon, *level, *paths, *workers)
	if err != nil {
		return err
	}
	return writeFile(*out, stdout, func(w io.Writer) error { return writeForecasts(w, results) })
}

// inputSeries is one series of the input, on its regular grid.
type inputSeries struct {
	name   string
	values []float64
}

// forecastResult is one series' forecast and interval.
type forecastResult struct {
	name       string
	fc, lo, hi []float64
}

// parsePeriods parses -period: "0" (detect), "24" or "24,168".
func parsePeriods(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 0 {
			return nil, fmt.Errorf("%q is not a number of steps ≥ 0", f)
		}
		if p > 1 {
			out = append(out, p)
		}
	}
	if len(out) > 2 {
		return nil, fmt.Errorf("%q: at most two periods", s)
	}
	return out, nil
}

// row is one parsed input row.
type row struct {
	line int
	t    int64
	v    float64
}

// readForecastInput reads the long CSV: header series,timestamp,value. Each
// series' timestamps, all RFC 3339 or all integers, increase; the series is
// laid on the grid of its smallest gap, with NaN where there is no row.
func readForecastInput(r io.Reader) ([]inputSeries, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty input: want the header series,timestamp,value")
	}
	if err != nil {
		return nil, err
	}
	for i, h := range header {
		if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), forecastHeader[i]) {
			return nil, fmt.Errorf("line 1: header %q, want series,timestamp,value", strings.Join(header, ","))
		}
	}
	var order []string
	rows := map[string][]row{}
	kinds := map[string]bool{} // series → timestamps are RFC 3339
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // csv errors name the line
		}
		line, _ := cr.FieldPos(0)
		name := rec[0]
		if name == "" {
			return nil, fmt.Errorf("line %d: empty series name", line)
		}
		ts := strings.TrimSpace(rec[1])
		var t int64
		isTime := false
		if i, err := strconv.ParseInt(ts, 10, 64); err == nil {
			t = i
		} else if tm, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			t, isTime = tm.UnixNano(), true
		} else {
			return nil, fmt.Errorf("line %d: timestamp %q is neither RFC 3339 nor an integer", line, rec[1])
		}
		v := math.NaN()
		switch vs := strings.TrimSpace(rec[2]); {
		case vs == "", strings.EqualFold(vs, "nan"):
		default:
			if v, err = strconv.ParseFloat(vs, 64); err != nil {
				return nil, fmt.Errorf("line %d: value %q is not a number", line, rec[2])
			}
			if math.IsInf(v, 0) {
				v = math.NaN()
			}
		}
		prev, seen := rows[name]
		if !seen {
			order = append(order, name)
			kinds[name] = isTime
		} else {
			if kinds[name] != isTime {
				return nil, fmt.Errorf("line %d: series %q mixes RFC 3339 and integer timestamps", line, name)
			}
			if last := prev[len(prev)-1]; t <= last.t {
				return nil, fmt.Errorf("line %d: series %q: timestamp %s not after the one on line %d", line, name, ts, last.line)
			}
		}
		rows[name] = append(prev, row{line: line, t: t, v: v})
	}
	if len(order) == 0 {
		return nil, errors.New("no rows after the header")
	}
	out := make([]inputSeries, 0, len(order))
	for _, name := range order {
		rs := rows[name]
		var step int64 = math.MaxInt64
		for i := 1; i < len(rs); i++ {
			step = min(step, rs[i].t-rs[i-1].t)
		}
		if len(rs) == 1 {
			step = 1
		}
		for i := 1; i < len(rs); i++ {
			if (rs[i].t-rs[0].t)%step != 0 {
				return nil, fmt.Errorf("line %d: series %q: timestamp off the regular step of its smallest gap", rs[i].line, name)
			}
		}
		n := (rs[len(rs)-1].t-rs[0].t)/step + 1
		if n > maxGrid {
			return nil, fmt.Errorf("line %d: series %q spans %d steps, more than %d", rs[len(rs)-1].line, name, n, maxGrid)
		}
		s := inputSeries{name: name, values: make([]float64, n)}
		for i := range s.values {
			s.values[i] = math.NaN()
		}
		for _, r := range rs {
			s.values[(r.t-rs[0].t)/step] = r.v
		}
		out = append(out, s)
	}
	return out, nil
}

// forecastAll fits every series on a pool of workers; the results are in
// input order. periods nil detects each series' periods.
func forecastAll(ctx context.Context, series []inputSeries, base model.Settings, periods []int, h int, level float64, nPaths, workers int) ([]forecastResult, error) {
	results := make([]forecastResult, len(series))
	errs := make([]error, len(series))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(series)) {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = forecastOne(series[i], base, periods, h, level, nPaths)
			}
		})
	}
feed:
	for i := range series {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

func forecastOne(s inputSeries, base model.Settings, periods []int, h int, level float64, nPaths int) (forecastResult, error) {
	if periods == nil {
		periods = model.DetectPeriods(s.values, 0)
	}
	set := base
	if len(periods) > 0 {
		set.Period, set.Periods = periods[0], periods[1:]
	}
	f, err := model.Fit(s.values, set)
	if err != nil {
		return forecastResult{}, fmt.Errorf("series %q: %w", s.name, err)
	}
	res := forecastResult{name: s.name, fc: f.Forecast(h), lo: make([]float64, h), hi: make([]float64, h)}
	ps := f.Paths(h, nPaths, set.Rand())
	for j := range h {
		q := model.Quantiles(ps, j+1, (1-level)/2, (1+level)/2)
		res.lo[j], res.hi[j] = q[0], q[1]
	}
	return res, nil
}

func writeForecasts(w io.Writer, results []forecastResult) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"series", "step", "forecast", "lo", "hi"}); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range results {
		for j := range r.fc {
			if err := cw.Write([]string{r.name, strconv.Itoa(j + 1), num(r.fc[j]), num(r.lo[j]), num(r.hi[j])}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// evalModelNames are the models -eval scores by default.
var evalModelNames = []string{
	model.NameNaive, model.NameSeasonalNaive, model.NameHoltWinters, model.NameHoltWintersMult,
	model.NameDoubleSeasonal, model.NameTheta, model.NameAR, model.NameLinearTrend, model.NameAuto,
}

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

// m4Published are the published M4 Hourly results (sMAPE, MASE, OWA) on
// the real test set, from the data README.
const m4Published = `published M4 Hourly results on the real test set (sMAPE / MASE / OWA):
  Naive2 18.383 / 2.395 / 1.000; seasonal naive 13.912 / 1.193 / 0.627;
  Theta 18.138 / 2.455 / 1.006; SES 18.094 / 2.385 / 0.990;
  best entry 8.913 / 0.801 / 0.410; M4 winner 9.328 / 0.893 / 0.440`

// runEval scores the models on the data folder's M4 Hourly and NASA-HTTP
// series; without data it says so and returns nil.
func runEval(ctx context.Context, dir string, names []string, workers int, stdout, stderr io.Writer) error {
	dir, err := eval.DataDir(dir)
	if errors.Is(err, eval.ErrNoData) {
		fmt.Fprintf(stderr, "forecast -eval: skipped: %v\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	run := func(task eval.Task, title string) error {
		began := time.Now()
		res, err := eval.Run(ctx, task, names, workers)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s\n", title)
		if err := eval.WriteTable(stdout, res); err != nil {
			return err
		}
		eval.WriteChoices(stdout, res)
		fmt.Fprintf(stdout, "wall time %.1fs on %d workers\n", time.Since(began).Seconds(), workers)
		return nil
	}
	m4, err := eval.LoadM4Hourly(dir)
	switch {
	case errors.Is(err, eval.ErrNoData):
		fmt.Fprintf(stderr, "forecast -eval: M4 Hourly skipped: %v\n", err)
	case err != nil:
		return err
	default:
		task := eval.Task{Name: "m4-hourly", Series: m4, Horizon: 48, Lag: 24, Periods: []int{24, 168}, Origins: 1, ClipZero: true}
		if err := run(task, fmt.Sprintf("M4 Hourly, last 48 hours of the %d training series held out (horizon 48, periods 24 and 168)", len(m4))); err != nil {
			return err
		}
		task.Origins = 3
		if err := run(task, "M4 Hourly, rolling origin: 3 origins 48 hours apart, the last at the end of the training series"); err != nil {
			return err
		}
		fmt.Fprintln(stdout, m4Published)
	}
	nasa, err := eval.LoadNASA(dir)
	switch {
	case errors.Is(err, eval.ErrNoData):
		fmt.Fprintf(stderr, "forecast -eval: NASA-HTTP skipped: %v\n", err)
	case err != nil:
		return err
	default:
		task := eval.Task{Name: "nasa-http", Series: []eval.Series{nasa}, Horizon: 12, Lag: 288, Periods: []int{288, 2016},
			Origins: 56, Stride: 72, Window: 4 * 2016}
		if err := run(task, "NASA-HTTP requests per 5 minutes: horizon 12 (1 hour), 56 origins 6 hours apart over the last 2 weeks, 4 weeks of history, periods 288 and 2016"); err != nil {
			return err
		}
	}
	return nil
}
