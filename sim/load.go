package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
)

// maxTraceLen bounds the steps of a generated trace.
const maxTraceLen = 10_000_000

// The generator's fixed shape; see the package documentation.
const (
	peakHour       = 15.0 // hour of the day the daily cycle peaks (low 12 h apart)
	weekendFactor  = 0.85 // load on Saturdays and Sundays relative to weekdays
	burstMin       = 2 * time.Minute
	burstMax       = 10 * time.Minute
	burstLow       = 0.2 // a burst multiplies the load by 1 + U(burstLow, burstHigh)
	burstHigh      = 0.6
	flashMin       = 2 * time.Hour
	flashMax       = 3 * time.Hour
	flashRiseMin   = 5 * time.Minute
	flashRiseMax   = 15 * time.Minute
	flashFall      = 30 * time.Minute
	flashHeightMin = 0.5 // a flash crowd adds U(flashHeightMin, flashHeightMax) × the mean level
	flashHeightMax = 1.0
	crowdRise      = 10 * time.Minute // a set crowd's default rise
)

// loadParams are the resolved parameters of Generate.
type loadParams struct {
	peak        float64
	duration    time.Duration
	start       time.Time
	seed        uint64
	daily       float64
	trend       float64
	bursts      float64
	flashCrowds int
	crowds      []event // flash crowds at set times
}

// resolveLoad applies defaults as config does and checks the ranges. The
// zero Workload stands for config.DefaultWorkload. Otherwise a zero field takes its
// default only where zero is not a valid setting (peak, duration, start), as
// config.SetDefaults does; elsewhere zero means what it says: seed 0, daily 0
// (no daily cycle), trend 0, bursts 0, flash_crowds 0.
func resolveLoad(l config.Workload) (loadParams, error) {
	if reflect.DeepEqual(l, config.Workload{}) {
		l = config.DefaultWorkload
	}
	d := config.DefaultWorkload
	if l.Peak == 0 {
		l.Peak = d.Peak
	}
	if l.Duration == 0 {
		l.Duration = d.Duration
	}
	if l.Start == "" {
		l.Start = d.Start
	}
	p := loadParams{
		peak:        l.Peak,
		duration:    time.Duration(l.Duration),
		seed:        l.Seed,
		daily:       l.Daily,
		trend:       l.Trend,
		bursts:      l.Bursts,
		flashCrowds: l.FlashCrowds,
	}
	var errs []error
	var err error
	if p.start, err = time.Parse(time.RFC3339, l.Start); err != nil {
		errs = append(errs, fmt.Errorf("sim: load start: %w", err))
	}
	bad := func(name string, v any, want string) {
		errs = append(errs, fmt.Errorf("sim: load %s: must be %s, got %v", name, want, v))
	}
	if !(p.peak > 0) || math.IsInf(p.peak, 0) {
		bad("peak", p.peak, "> 0")
	}
	if p.duration < 0 {
		bad("duration", p.duration, "> 0")
	}
	if !(p.daily >= 0 && p.daily < 1) {
		bad("daily", p.daily, "in [0, 1)")
	}
	if !(p.trend > -1) || math.IsInf(p.trend, 0) {
		bad("trend", p.trend, "> -1")
	}
	if !(p.bursts >= 0) || math.IsInf(p.bursts, 0) {
		bad("bursts", p.bursts, "≥ 0")
	}
	if p.flashCrowds < 0 {
		bad("flash_crowds", p.flashCrowds, "≥ 0")
	}
	for i, c := range l.Crowds {
		at, err := c.StartTime()
		if err != nil {
			errs = append(errs, fmt.Errorf("sim: load crowds[%d] at: %w", i, err))
			continue
		}
		rise := time.Duration(c.Rise)
		if rise == 0 {
			rise = crowdRise
		}
		length := time.Duration(c.Duration)
		if !(length > 0) || !(c.Height > 0) || rise > length {
			bad(fmt.Sprintf("crowds[%d]", i), c, "duration > 0, height > 0, rise ≤ duration")
			continue
		}
		p.crowds = append(p.crowds, event{flash: true, at: at.Sub(p.start), length: length, rise: rise, height: c.Height})
	}
	return p, errors.Join(errs...)
}

// Generate returns a synthetic load on the given step, seeded by l.Seed, with
// a daily cycle, a weekend dip, a trend, short bursts and flash crowds (see
// the package documentation), scaled so that its largest value is
// l.Peak × capacity. The zero Workload stands for config.DefaultWorkload; otherwise
// only peak, duration and start take their defaults when zero (as
// config.SetDefaults does). l.Trace is ignored. The same l gives the same
// trace.
func Generate(l config.Workload, step time.Duration, capacity float64) (*metrics.Grid, error) {
	p, err := resolveLoad(l)
	if err != nil {
		return nil, err
	}
	if step <= 0 {
		return nil, fmt.Errorf("sim: generate: step must be > 0, got %v", step)
	}
	if !(capacity > 0) || math.IsInf(capacity, 0) {
		return nil, fmt.Errorf("sim: generate: capacity must be > 0, got %v", capacity)
	}
	n := (p.duration + step - 1) / step
	if n > maxTraceLen {
		return nil, fmt.Errorf("sim: generate: %v of %v steps is more than %d steps", p.duration, step, maxTraceLen)
	}
	if days := p.duration.Hours() / 24; p.bursts*days > 1e6 {
		return nil, fmt.Errorf("sim: generate: %v bursts a day over %v is more than 1e6 bursts", p.bursts, p.duration)
	}
	tr, _ := generate(p, step)
	if err := Scale(tr, p.peak, capacity); err != nil {
		return nil, fmt.Errorf("sim: generate: %w", err)
	}
	return tr, nil
}

// event is a burst or a flash crowd, placed relative to the trace's start.
type event struct {
	flash  bool
	at     time.Duration // start
	length time.Duration // whole length, rise and fall included
	rise   time.Duration // flash crowds: linear rise at the start
	height float64
}

// generate returns the unscaled load (mean level about 1) and the events in it.
func generate(p loadParams, step time.Duration) (*metrics.Grid, []event) {
	rng := rand.New(rand.NewPCG(p.seed, 0x6c6f6164)) // stream "load"
	uniform := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	span := func(lo, hi time.Duration) time.Duration {
		return time.Duration(uniform(float64(lo), float64(hi)))
	}

	// Bursts: a Poisson process of rate p.bursts per day.
	var events []event
	day := float64(24 * time.Hour)
	for at := 0.0; p.bursts > 0; {
		at += rng.ExpFloat64() / p.bursts * day
		if at >= float64(p.duration) {
			break
		}
		events = append(events, event{at: time.Duration(at), length: span(burstMin, burstMax), height: uniform(burstLow, burstHigh)})
	}
	// Flash crowds: exactly p.flashCrowds, anywhere they fit.
	for range p.flashCrowds {
		length := span(flashMin, flashMax)
		at := time.Duration(rng.Float64() * float64(max(0, p.duration-length)))
		events = append(events, event{
			flash: true, at: at, length: length,
			rise: span(flashRiseMin, flashRiseMax), height: uniform(flashHeightMin, flashHeightMax),
		})
	}

	// Crowds at set times, drawn after the random events so that adding
	// one leaves the others where they were.
	events = append(events, p.crowds...)

	n := int((p.duration + step - 1) / step)
	tr := &metrics.Grid{Start: p.start, Step: step, Values: make([]float64, n)}
	trend := func(off time.Duration) float64 { return math.Pow(1+p.trend, float64(off)/day) }
	for i := range tr.Values {
		off := time.Duration(i) * step
		t := p.start.Add(off)
		h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
		v := (1 + p.daily*math.Cos(2*math.Pi*(h-peakHour)/24)) * trend(off)
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v *= weekendFactor
		}
		tr.Values[i] = v
	}
	// Bursts multiply the level; flash crowds then add to it. Each event
	// covers the steps whose start lies in [at, at+length).
	window := func(e event) (int, int) {
		first := int(max(0, min((e.at+step-1)/step, time.Duration(n))))
		end := int(max(0, min((e.at+e.length+step-1)/step, time.Duration(n))))
		return first, end
	}
	for _, e := range events {
		if e.flash {
			continue
		}
		first, end := window(e)
		for i := first; i < end; i++ {
			tr.Values[i] *= 1 + e.height
		}
	}
	for _, e := range events {
		if !e.flash {
			continue
		}
		first, end := window(e)
		for i := first; i < end; i++ {
			off := time.Duration(i) * step
			tr.Values[i] += e.height * trend(off) * flashShape(off-e.at, e)
		}
	}
	return tr, events
}

// flashShape is a flash crowd's profile at u into it: a linear rise over
// e.rise, a plateau at 1, a linear fall over the last flashFall.
func flashShape(u time.Duration, e event) float64 {
	f := 1.0
	if u < e.rise {
		f = float64(u) / float64(e.rise)
	}
	if left := e.length - u; left < flashFall {
		f = min(f, float64(left)/float64(flashFall))
	}
	return f
}

// ScaleQuantile multiplies tr's values in place so that their q-quantile
// (0 < q ≤ 1; type 7, linear between order statistics, over the values that
// are not NaN) is peak × capacity; with q = 1 it is Scale. The values above
// the quantile end up above peak × capacity. It is an error if q is out of
// range, if peak or capacity is not > 0, or if the quantile is not > 0.
func ScaleQuantile(tr *metrics.Grid, peak, capacity, q float64) error {
	if q == 1 {
		return Scale(tr, peak, capacity)
	}
	if !(q > 0 && q < 1) {
		return fmt.Errorf("sim: scale at quantile %v: must be within (0, 1]", q)
	}
	target := peak * capacity
	if !(peak > 0 && capacity > 0) || math.IsInf(target, 0) {
		return fmt.Errorf("sim: scale to peak %v × capacity %v: must be > 0", peak, capacity)
	}
	vs := make([]float64, 0, len(tr.Values))
	for _, v := range tr.Values {
		if !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	var top float64
	if len(vs) > 0 {
		i := q * float64(len(vs)-1)
		lo := int(i)
		top = vs[lo]
		if lo+1 < len(vs) {
			top += (i - float64(lo)) * (vs[lo+1] - vs[lo])
		}
	}
	if !(top > 0) || math.IsInf(top, 1) {
		return fmt.Errorf("sim: scale: the trace's %v-quantile is %v, not > 0", q, top)
	}
	k := target / top
	for i, v := range tr.Values {
		tr.Values[i] = v * k
	}
	return nil
}

// Scale multiplies tr's values in place so that the largest is
// peak × capacity exactly. NaN values stay NaN. It is an error if peak or
// capacity is not > 0 or if tr has no value > 0.
func Scale(tr *metrics.Grid, peak, capacity float64) error {
	target := peak * capacity
	if !(peak > 0 && capacity > 0) || math.IsInf(target, 0) {
		return fmt.Errorf("sim: scale to peak %v × capacity %v: must be > 0", peak, capacity)
	}
	top := math.Inf(-1)
	for _, v := range tr.Values {
		if v > top {
			top = v
		}
	}
	if !(top > 0) || math.IsInf(top, 1) {
		return errors.New("sim: scale: the trace has no value > 0")
	}
	k := target / top
	for i, v := range tr.Values {
		if v == top {
			tr.Values[i] = target // exactly, whatever the rounding of v·k
		} else {
			tr.Values[i] = v * k
		}
	}
	return nil
}
