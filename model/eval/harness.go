package eval

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/presage-dev/presage/model"
)

// NameNaive2 is the M4 benchmark that OWA is relative to; Run always
// scores it.
const NameNaive2 = "naive2"

// PathCount is the number of sample paths from which Run reads each
// forecast's prediction intervals.
const PathCount = 500

// Task is a rolling-origin evaluation: every series is cut at Origins
// origins, the last at len − Horizon and the others Stride steps before
// each other; at each origin every model is fitted to the history (the
// last Window observations before the origin, all of them when Window is
// 0) and forecasts Horizon steps, scored against the observations that
// follow.
type Task struct {
	Name    string
	Series  []Series
	Horizon int
	// Lag is the seasonal lag of MASE, of Naive2's seasonality test and
	// decomposition, and of the seasonal naive model.
	Lag int
	// Periods are the seasonal periods handed to the models
	// (model.Settings.Periods); Lag is always one of them.
	Periods []int
	// Detect hands the models the periods model.DetectPeriods finds in each
	// history instead of Lag and Periods.
	Detect  bool
	Origins int // ≥ 1
	Stride  int // 0 means Horizon
	Window  int
	// ClipZero sets negative forecasts and interval bounds to 0, as the M4
	// benchmarks do for their non-negative series.
	ClipZero bool
	// Settings are the base model settings (MaxEvaluations, Seed, …);
	// Run sets Model, Period, Periods and Horizon.
	Settings model.Settings
}

// Result is one model's scores over a task.
type Result struct {
	Model string
	// SMAPE and MASE are the means over every series, origin and step;
	// OWA is relative to Naive2 on the same task.
	SMAPE, MASE, OWA float64
	// Cover80 and Cover95 are the shares of observations inside the
	// 80% ([10%, 90%] quantiles of the paths) and 95% ([2.5%, 97.5%])
	// prediction intervals.
	Cover80, Cover95 float64
	// Fits is the number of fits; Failed of them returned an error and were
	// scored with the Naive2 forecast in their place.
	Fits, Failed int
	// Time is the total time spent fitting and forecasting (paths
	// excluded), summed over workers.
	Time time.Duration
	// Chosen counts the models an automatic choice returned, by name.
	Chosen map[string]int
}

type obs struct {
	smape, mase float64
	in80, in95  bool
	intervals   bool
}

type tally struct {
	smape, mase    float64
	n              int
	in80, in95, ni int
	fits, failed   int
	dur            time.Duration
	chosen         map[string]int
}

func (t *tally) add(o obs) {
	t.smape += o.smape
	t.mase += o.mase
	t.n++
	if o.intervals {
		t.ni++
		if o.in80 {
			t.in80++
		}
		if o.in95 {
			t.in95++
		}
	}
}

func (t *tally) merge(u *tally) {
	t.smape += u.smape
	t.mase += u.mase
	t.n += u.n
	t.in80 += u.in80
	t.in95 += u.in95
	t.ni += u.ni
	t.fits += u.fits
	t.failed += u.failed
	t.dur += u.dur
	for k, v := range u.chosen {
		if t.chosen == nil {
			t.chosen = map[string]int{}
		}
		t.chosen[k] += v
	}
}

// Run evaluates the models (names accepted by model.Fit) and Naive2 on the
// task with the given number of workers (≤ 0 means GOMAXPROCS), and returns
// Naive2's result first, then the models' in the order given. Series too
// short for an origin are skipped.
func Run(ctx context.Context, task Task, models []string, workers int) ([]Result, error) {
	if task.Horizon < 1 || task.Origins < 1 || task.Lag < 1 {
		return nil, fmt.Errorf("task %s: horizon, origins and lag must be ≥ 1", task.Name)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	names := append([]string{NameNaive2}, models...)
	type job struct{ series, origin int }
	jobs := make(chan job)
	totals := make([]tally, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			local := make([]tally, len(names))
			for j := range jobs {
				evalOrigin(task, names, task.Series[j.series].Values, j.origin, local)
			}
			mu.Lock()
			for i := range totals {
				totals[i].merge(&local[i])
			}
			mu.Unlock()
		})
	}
	stride := task.Stride
	if stride <= 0 {
		stride = task.Horizon
	}
feed:
	for i, s := range task.Series {
		for o := task.Origins - 1; o >= 0; o-- {
			origin := len(s.Values) - task.Horizon - o*stride
			if origin < 2*task.Lag {
				continue
			}
			select {
			case jobs <- job{i, origin}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, len(names))
	for i, t := range totals {
		r := Result{Model: names[i], SMAPE: t.smape / float64(t.n), MASE: t.mase / float64(t.n),
			Fits: t.fits, Failed: t.failed, Time: t.dur, Chosen: t.chosen}
		r.Cover80, r.Cover95 = math.NaN(), math.NaN()
		if t.ni > 0 {
			r.Cover80 = float64(t.in80) / float64(t.ni)
			r.Cover95 = float64(t.in95) / float64(t.ni)
		}
		out[i] = r
	}
	for i := range out {
		out[i].OWA = OWA(out[i].SMAPE, out[i].MASE, out[0].SMAPE, out[0].MASE)
	}
	return out, nil
}

// evalOrigin scores every model at one origin of one series into tallies.
func evalOrigin(task Task, names []string, values []float64, origin int, tallies []tally) {
	start := 0
	if task.Window > 0 {
		start = max(0, origin-task.Window)
	}
	train := values[start:origin]
	test := values[origin : origin+task.Horizon]
	if countFinite(test) == 0 {
		return
	}
	scale := MASEScale(train, task.Lag)
	if !(scale > 0) {
		return // MASE undefined: M4 has no such series
	}
	h := task.Horizon
	naive2 := Naive2(train, h, task.Lag)
	periods := append([]int{task.Lag}, task.Periods...)
	if task.Detect {
		periods = model.DetectPeriods(train, 0)
	}
	for i, name := range names {
		t := &tallies[i]
		var fc []float64
		var paths [][]float64
		if name == NameNaive2 {
			fc = naive2
		} else {
			s := task.Settings
			s.Model, s.Period, s.Periods, s.Horizon = name, 0, periods, h
			began := time.Now()
			f, err := model.Fit(train, s)
			if err == nil {
				fc = f.Forecast(h)
			}
			t.dur += time.Since(began)
			t.fits++
			if err != nil {
				t.failed++
				fc = naive2
			} else {
				paths = f.Paths(h, PathCount, s.Rand())
				if name == model.NameAuto || name == model.NameCombination {
					if t.chosen == nil {
						t.chosen = map[string]int{}
					}
					t.chosen[describe(f)]++
				}
			}
		}
		for j := range h {
			y := test[j]
			if !finite(y) {
				continue
			}
			f := fc[j]
			if task.ClipZero {
				f = math.Max(f, 0)
			}
			o := obs{smape: smape(y, f)}
			o.mase = math.Abs(y-f) / scale
			if paths != nil {
				q := model.Quantiles(paths, j+1, 0.025, 0.1, 0.9, 0.975)
				if task.ClipZero {
					for k := range q {
						q[k] = math.Max(q[k], 0)
					}
				}
				o.intervals = true
				o.in80 = y >= q[1] && y <= q[2]
				o.in95 = y >= q[0] && y <= q[3]
			}
			t.add(o)
		}
	}
}

// describe names a fitted model with its period, as "holt-winters/24".
func describe(f model.Forecaster) string {
	if c, ok := f.(*model.Calibrated); ok {
		return describe(c.Forecaster)
	}
	if l, ok := f.(*model.LogScale); ok {
		return "log " + describe(l.Forecaster)
	}
	if c, ok := f.(*model.Combination); ok {
		parts := make([]string, 0, 3)
		for _, m := range c.Members() {
			parts = append(parts, describe(m))
		}
		slices.Sort(parts)
		return "combination(" + strings.Join(parts, ",") + ")"
	}
	name := f.Name()
	switch p := f.(type) {
	case *model.DoubleSeasonal:
		ps := p.Periods()
		name += fmt.Sprintf("/%d/%d", ps[0], ps[1])
	case interface{ Period() int }:
		if p.Period() > 0 {
			name += fmt.Sprintf("/%d", p.Period())
		}
	}
	return name
}

func countFinite(y []float64) int {
	c := 0
	for _, v := range y {
		if finite(v) {
			c++
		}
	}
	return c
}

// WriteTable prints results as an aligned table: model, sMAPE, MASE, OWA,
// the 80% and 95% coverage in percent, fits, failures and fit time.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tsMAPE\tMASE\tOWA\tcover80\tcover95\tfits\tfailed\ttime\tms/fit\t")
	for _, r := range results {
		cov := func(v float64) string {
			if math.IsNaN(v) {
				return "-"
			}
			return fmt.Sprintf("%.1f%%", 100*v)
		}
		perFit := "-"
		if r.Fits > 0 {
			perFit = fmt.Sprintf("%.2f", r.Time.Seconds()*1000/float64(r.Fits))
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%s\t%s\t%d\t%d\t%.2fs\t%s\t\n", r.Model, r.SMAPE, r.MASE, r.OWA,
			cov(r.Cover80), cov(r.Cover95), r.Fits, r.Failed, r.Time.Seconds(), perFit)
	}
	return tw.Flush()
}

// WriteChoices prints, for each result with choices, how often each model
// was a member of what the automatic choice returned, most frequent first,
// as "auto members (of 414 fits): log ar/24/168 ×400, ar/24/168 ×300, …".
func WriteChoices(w io.Writer, results []Result) {
	for _, r := range results {
		if len(r.Chosen) == 0 {
			continue
		}
		members := map[string]int{}
		for k, v := range r.Chosen {
			for _, m := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, "combination("), ")"), ",") {
				members[m] += v
			}
		}
		type kv struct {
			k string
			v int
		}
		var all []kv
		for k, v := range members {
			all = append(all, kv{k, v})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || (all[i].v == all[j].v && all[i].k < all[j].k) })
		fmt.Fprintf(w, "%s members (of %d fits):", r.Model, r.Fits-r.Failed)
		for i, e := range all {
			if i > 0 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, " %s ×%d", e.k, e.v)
		}
		fmt.Fprintln(w)
	}
}
