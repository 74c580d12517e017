package eval

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/presage-dev/presage/model"
)

// ForecastOptions configures ForecastAll.
type ForecastOptions struct {
	// Settings are the base model settings (Model, Seed, MaxEvaluations,
	// …); ForecastAll sets Horizon, Period and Periods.
	Settings model.Settings
	// Horizon is how many steps ahead to forecast, ≥ 1.
	Horizon int
	// Periods are the seasonal periods, one or two (ParsePeriods); nil
	// detects each series' own (model.DetectPeriods).
	Periods []int
	// Level is the prediction interval's level, in (0, 1): the interval is
	// read between the (1 − Level)/2 and (1 + Level)/2 quantiles of the
	// sample paths.
	Level float64
	// Paths is the number of sample paths per series, ≥ 2.
	Paths int
	// Workers is how many series are fitted at once; ≤ 0 means GOMAXPROCS.
	Workers int
}

// Forecast is one series' forecast: Values[j] is the point forecast j+1
// steps after the series' end, Lo[j] and Hi[j] bound its prediction
// interval.
type Forecast struct {
	ID             string
	Values, Lo, Hi []float64
}

// ForecastAll fits a model to every series on a pool of workers and
// forecasts it o.Horizon steps ahead with its prediction interval; the
// forecasts are in the order of series. The random source of each series'
// paths is seeded by o.Settings (model.Settings.Rand), so the result does
// not depend on the workers. A series that cannot be fitted is an error
// naming it.
func ForecastAll(ctx context.Context, series []Series, o ForecastOptions) ([]Forecast, error) {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]Forecast, len(series))
	errs := make([]error, len(series))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(series)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = forecastOne(series[i], o)
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
	return out, nil
}

// forecastOne fits s and reads its interval from o.Paths sample paths.
func forecastOne(s Series, o ForecastOptions) (Forecast, error) {
	periods := o.Periods
	if periods == nil {
		periods = model.DetectPeriods(s.Values, 0)
	}
	set := o.Settings
	set.Horizon = o.Horizon
	if len(periods) > 0 {
		set.Period, set.Periods = periods[0], periods[1:]
	}
	f, err := model.Fit(s.Values, set)
	if err != nil {
		return Forecast{}, fmt.Errorf("series %q: %w", s.ID, err)
	}
	h := o.Horizon
	res := Forecast{ID: s.ID, Values: f.Forecast(h), Lo: make([]float64, h), Hi: make([]float64, h)}
	ps := f.Paths(h, o.Paths, set.Rand())
	for j := range h {
		q := model.Quantiles(ps, j+1, (1-o.Level)/2, (1+o.Level)/2)
		res.Lo[j], res.Hi[j] = q[0], q[1]
	}
	return res, nil
}

// ParsePeriods reads a list of seasonal periods in steps: "0" (none given:
// detect them), "24" or "24,168". Periods of 0 or 1 are left out; nil
// means detect.
func ParsePeriods(s string) ([]int, error) {
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
