package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/presage-dev/presage/model"
)

// DefaultModels are the models Benchmark scores when none are named.
var DefaultModels = []string{
	model.NameNaive, model.NameSeasonalNaive, model.NameHoltWinters, model.NameHoltWintersMult,
	model.NameDoubleSeasonal, model.NameTheta, model.NameAR, model.NameLinearTrend, model.NameAuto,
}

// m4Published are the published M4 Hourly results (sMAPE, MASE, OWA) on
// the real test set, from the data README.
const m4Published = `published M4 Hourly results on the real test set (sMAPE / MASE / OWA):
  Naive2 18.383 / 2.395 / 1.000; seasonal naive 13.912 / 1.193 / 0.627;
  Theta 18.138 / 2.455 / 1.006; SES 18.094 / 2.385 / 0.990;
  best entry 8.913 / 0.801 / 0.410; M4 winner 9.328 / 0.893 / 0.440`

// Benchmark scores the models (names accepted by model.Fit) on the data
// folder's series with workers at once (≤ 0 means GOMAXPROCS) and writes,
// for each task, its title, WriteTable, WriteChoices and the wall time to
// w:
//
//   - M4 Hourly, the last 48 hours of the training series held out
//     (horizon 48, periods 24 and 168), at one origin and then at three
//     origins 48 hours apart, followed by the published M4 results;
//   - NASA-HTTP requests per 5 minutes: horizon 12 (1 hour), 56 origins 6
//     hours apart over the last two weeks, four weeks of history, periods
//     288 and 2016.
//
// What the folder lacks (dir, see DataDir, or a data set) is skipped:
// skip, when not nil, receives an error wrapping ErrNoData that says what.
func Benchmark(ctx context.Context, dir string, models []string, workers int, w io.Writer, skip func(error)) error {
	if skip == nil {
		skip = func(error) {}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	dir, err := DataDir(dir)
	if errors.Is(err, ErrNoData) {
		skip(fmt.Errorf("skipped: %w", err))
		return nil
	}
	if err != nil {
		return err
	}
	run := func(task Task, title string) error {
		began := time.Now()
		res, err := Run(ctx, task, models, workers)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s\n", title)
		if err := WriteTable(w, res); err != nil {
			return err
		}
		WriteChoices(w, res)
		fmt.Fprintf(w, "wall time %.1fs on %d workers\n", time.Since(began).Seconds(), workers)
		return nil
	}
	m4, err := LoadM4Hourly(dir)
	switch {
	case errors.Is(err, ErrNoData):
		skip(fmt.Errorf("M4 Hourly skipped: %w", err))
	case err != nil:
		return err
	default:
		task := Task{Name: "m4-hourly", Series: m4, Horizon: 48, Lag: 24, Periods: []int{24, 168}, Origins: 1, ClipZero: true}
		if err := run(task, fmt.Sprintf("M4 Hourly, last 48 hours of the %d training series held out (horizon 48, periods 24 and 168)", len(m4))); err != nil {
			return err
		}
		task.Origins = 3
		if err := run(task, "M4 Hourly, rolling origin: 3 origins 48 hours apart, the last at the end of the training series"); err != nil {
			return err
		}
		fmt.Fprintln(w, m4Published)
	}
	nasa, err := LoadNASA(dir)
	switch {
	case errors.Is(err, ErrNoData):
		skip(fmt.Errorf("NASA-HTTP skipped: %w", err))
	case err != nil:
		return err
	default:
		task := Task{Name: "nasa-http", Series: []Series{nasa}, Horizon: 12, Lag: 288, Periods: []int{288, 2016},
			Origins: 56, Stride: 72, Window: 4 * 2016}
		if err := run(task, "NASA-HTTP requests per 5 minutes: horizon 12 (1 hour), 56 origins 6 hours apart over the last 2 weeks, 4 weeks of history, periods 288 and 2016"); err != nil {
			return err
		}
	}
	return nil
}
