package controller

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// The view: what a person looking at presage (the live page, package ui)
// reads of each service, copied at the end of the service's step and read
// under a lock of its own, never the service's state itself (Overview,
// ServiceView).
//
// The view is kept only with Options.View (run and recommend serving the
// page); a replay, which nobody looks at, has none and pays nothing.
//
// Every step keeps, in fixed rings of float32 over the last ViewHistory
// (at most maxViewSteps steps), what the controller does not keep
// already: the latency, the forecast's quantiles at the horizon, the
// risk, the breach level and the level; its last record; and, in a ring
// of maxViewDecisions, the decisions that changed something or whose
// reason changed. That is a lock and a dozen stores per service per step.
//
// What costs more is copied only while someone looks at the service's
// page (Watch: a wall-clock deadline the page's handler pushes forward at
// each request): the load from the controller's own history ring, the
// band of the forecast over the horizon ahead (drawn from the service's
// model with a random source of the view's own, so that looking changes
// no decision), the learned capacity of each action set, and, under the
// planner, the sets it weighed (policy.Weigh). Nobody looking, a step
// pays one atomic load per service for it.
const (
	// ViewHistory is how far back the view keeps the per-step series.
	ViewHistory      = 6 * time.Hour
	maxViewSteps     = 4000
	maxViewDecisions = 100
	maxViewWindows   = 32
	viewPaths        = 100 // paths of the band ahead
)

// view is one service's view (newView).
type view struct {
	watched atomic.Int64 // Unix nanoseconds (wall clock) until which someone looks; 0: nobody

	mu      sync.Mutex
	n, next int // values held, index of the next write
	t       []int64
	lat     []float32
	risk    []float32
	breach  []float32
	level   []int16
	fc      [3][]float32

	last    Record
	stepped bool
	changed time.Time // the last decision that changed something
	engaged []int     // playbook steps engaged or prewarmed (reused)

	decs       []Decision // ring of maxViewDecisions
	dn, dnext  int
	lastReason policy.Reason
	wins       []schedule.Window

	// Filled while watched; at is the step that filled them.
	at      time.Time
	load    []float64
	ahead   Band
	caps    []Capacity
	options []policy.Option
	rng     *rand.Rand
	paths   [][]float64
}

// Band is the forecast over the horizon ahead: its 10%, 50% and 90%
// quantiles over sample paths at each step ahead.
type Band struct {
	Times       []time.Time
	Lo, Mid, Hi []float64
	At          time.Time // when it was forecast; no Times: no model yet
}

// Capacity is the learned capacity of one set of actions: the value of
// the forecast signal at which the service breaches with it engaged
// (+Inf while unknown).
type Capacity struct {
	Set     []string
	Level   float64
	Source  string // learned, declared prior, ...; "" outside mode plan
	Engaged bool
}

// Decision is one decision of a service as the view keeps it.
type Decision struct {
	Time    time.Time
	Reason  policy.Reason
	Message string
	Level   int
	Actions []string // "engage async-queue 0 → 1", with the error when it failed
}

// Summary is a service's state at its last step.
type Summary struct {
	Name      string
	Mode      policy.Mode
	Signal    string
	Threshold float64 // seconds of latency (incident.above)
	Stepped   bool    // a step has run
	Time      time.Time
	Level     int
	Engaged   []string
	Firing    bool
	Risk      float64
	// TimeToBreach is negative when the risk does not cross the trigger
	// within the horizon.
	TimeToBreach time.Duration
	Latency      float64
	Load         float64
	BreachLevel  float64
	Reason       policy.Reason
	Message      string
	Changed      time.Time // the last decision that changed something; zero: none yet
	Windows      []schedule.Window
	NextWindows  []schedule.Window
}

// ServiceView is what the view holds of one service, copied.
type ServiceView struct {
	Summary
	Interval, Horizon time.Duration
	Playbook          []string
	// Times are the steps of the series below, oldest first.
	Times       []time.Time
	Latency     []float64
	Risk        []float64
	BreachLevel []float64
	Level       []int
	// Forecast holds the forecast's 10%, 50% and 90% quantiles at the
	// horizon, made at Times[i] (for Times[i] + Horizon).
	Forecast [3][]float64
	// Watched is the step that filled the fields below (zero: none yet,
	// they are empty): the load over LoadTimes from the controller's
	// history, the band ahead, the capacities, the planner's sets.
	Watched    time.Time
	LoadTimes  []time.Time
	Load       []float64
	Ahead      Band
	Capacities []Capacity
	Options    []policy.Option
	// Windows are the schedule windows seen active or next over the
	// series, Decisions the last decisions, newest first.
	Windows   []schedule.Window
	Decisions []Decision
}

// newView returns a view of the last steps steps (at least 2, at most
// maxViewSteps).
func newView(steps int) *view {
	v := &view{}
	steps = max(2, min(steps, maxViewSteps))
	v.t = make([]int64, steps)
	v.lat, v.risk, v.breach = make([]float32, steps), make([]float32, steps), make([]float32, steps)
	v.level = make([]int16, steps)
	for i := range v.fc {
		v.fc[i] = make([]float32, steps)
	}
	v.decs = make([]Decision, maxViewDecisions)
	return v
}

// Watch marks the service's page as looked at until until (wall clock):
// the steps until then copy what only the page needs (see view). It
// reports false for an unknown service, and without Options.View.
func (c *Controller) Watch(name string, until time.Time) bool {
	s := c.service(name)
	if s == nil || s.view == nil {
		return false
	}
	u := until.UnixNano()
	for {
		old := s.view.watched.Load()
		if old >= u || s.view.watched.CompareAndSwap(old, u) {
			return true
		}
	}
}

// looking reports whether someone looks at the service's page now; the
// wall clock is read only while someone has looked. A nil view (no
// Options.View) is never looked at.
func (v *view) looking() bool {
	if v == nil {
		return false
	}
	u := v.watched.Load()
	if u == 0 {
		return false
	}
	if time.Now().UnixNano() < u {
		return true
	}
	v.watched.CompareAndSwap(u, 0)
	return false
}

func (c *Controller) service(name string) *service {
	for _, s := range c.services {
		if s.cfg.Name == name {
			return s
		}
	}
	return nil
}

// weigh keeps the sets the planner weighed at this step while someone
// looks at the service's page (called after Decide, with its input).
func (c *Controller) weigh(s *service, in policy.Input, now time.Time) {
	if s.settings.Mode != policy.Plan || !s.view.looking() {
		return
	}
	opts := policy.Weigh(s.settings, in, s.st, now)
	s.view.mu.Lock()
	s.view.options = opts
	s.view.mu.Unlock()
}

// observe copies the service's step into its view (see view): from
// Step's goroutine, after every service has stepped.
func (c *Controller) observe(s *service, rec Record) {
	v := s.view
	if v == nil {
		return
	}
	watched := v.looking()
	var load []float64
	var ahead Band
	var caps []Capacity
	if watched {
		load = s.hist.last(len(v.t))
		ahead = c.ahead(s, rec.Time)
		caps = c.capacities(s)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.next
	v.t[i] = rec.Time.UnixNano()
	v.lat[i], v.risk[i], v.breach[i] = float32(rec.Latency), float32(rec.Risk), float32(rec.BreachLevel)
	v.level[i] = int16(rec.Level)
	for k := range v.fc {
		v.fc[k][i] = float32(rec.Forecast[k])
	}
	if v.next++; v.next == len(v.t) {
		v.next = 0
	}
	v.n = min(v.n+1, len(v.t))
	v.last, v.stepped = rec, true
	v.engaged = v.engaged[:0]
	for _, e := range s.st.Engaged {
		v.engaged = append(v.engaged, e.Step)
	}
	for _, e := range s.st.Prewarmed {
		v.engaged = append(v.engaged, e.Step)
	}
	if len(rec.Actions) > 0 {
		v.changed = rec.Time
	}
	if len(rec.Actions) > 0 || rec.Reason != v.lastReason {
		v.decs[v.dnext] = Decision{Time: rec.Time, Reason: rec.Reason, Message: rec.Message, Level: rec.Level, Actions: applied(rec.Actions)}
		v.dnext = (v.dnext + 1) % len(v.decs)
		v.dn = min(v.dn+1, len(v.decs))
	}
	v.lastReason = rec.Reason
	for _, w := range rec.Windows {
		v.window(w)
	}
	for _, w := range rec.NextWindows {
		v.window(w)
	}
	if watched {
		v.at, v.load, v.ahead, v.caps = rec.Time, load, ahead, caps
	}
}

// reset empties the view of a service this replica no longer steps
// (Options.Owner: another replica owns it): the page then shows it as not
// stepped, not as it was when it was lost.
func (v *view) reset() {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n, v.next, v.dn, v.dnext = 0, 0, 0, 0
	v.last, v.stepped, v.changed, v.lastReason = Record{}, false, time.Time{}, ""
	v.engaged, v.wins = v.engaged[:0], nil
	v.at, v.load, v.ahead, v.caps, v.options = time.Time{}, nil, Band{}, nil, nil
}

// window adds w to the windows seen, once, dropping the oldest beyond
// maxViewWindows.
func (v *view) window(w schedule.Window) {
	for _, o := range v.wins {
		if o.Name == w.Name && o.Start.Equal(w.Start) {
			return
		}
	}
	if len(v.wins) == maxViewWindows {
		v.wins = slices.Delete(v.wins, 0, 1)
	}
	v.wins = append(v.wins, schedule.Window{Name: w.Name, Kind: w.Kind, Start: w.Start, End: w.End})
}

// applied describes a decision's changes.
func applied(as []Applied) []string {
	var out []string
	for _, a := range as {
		d := string(a.Op) + " " + a.Action.Action + " " + fmtNum(a.From) + " → " + fmtNum(a.To)
		switch {
		case a.Err != nil:
			d += ": failed: " + config.RedactError(a.Err).Error()
		case a.InFlight:
			d += ": under way"
		}
		out = append(out, d)
	}
	return out
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ahead draws the band of the forecast over the horizon from the
// service's model with the view's own random source.
func (c *Controller) ahead(s *service, now time.Time) Band {
	b := Band{At: now}
	if s.fc == nil || !s.settings.Mode.Forecasts() {
		return b
	}
	v := s.view
	h := s.horizon
	if len(v.paths) != viewPaths || len(v.paths[0]) != h {
		v.paths = model.NewPaths(h, viewPaths)
	}
	if v.rng == nil {
		v.rng = rand.New(rand.NewPCG(s.cfg.Forecast.Seed, ^nameStream(s.cfg.Name)))
	}
	model.PathsInto(s.fc, v.paths, v.rng)
	b.Times = make([]time.Time, h)
	b.Lo, b.Mid, b.Hi = make([]float64, h), make([]float64, h), make([]float64, h)
	for j := range h {
		q := model.Quantiles(v.paths, j+1, 0.1, 0.5, 0.9)
		b.Times[j] = now.Add(time.Duration(j+1) * c.interval)
		b.Lo[j], b.Mid[j], b.Hi[j] = q[0], q[1], q[2]
	}
	return b
}

// capacities returns the learned capacity of each action set: by
// playbook level (the first actions) for the rules, by set for the
// planner.
func (c *Controller) capacities(s *service) []Capacity {
	book := s.settings.Playbook
	if s.signal == metrics.Latency {
		return nil // the latency is its own capacity: the threshold
	}
	var out []Capacity
	if s.settings.Mode == policy.Plan {
		r := c.response(s)
		cur := s.st.Mask()
		for m := range r.Level {
			cp := Capacity{Level: r.Level[m], Source: r.Source[m].String(), Engaged: uint(m) == cur}
			for i := range book {
				if m&(1<<i) != 0 {
					cp.Set = append(cp.Set, book[i].Name)
				}
			}
			out = append(out, cp)
		}
		return out
	}
	level := s.st.Level()
	for l := range s.levels {
		cp := Capacity{Level: math.Inf(1), Engaged: l == level}
		if s.levels[l].known {
			cp.Level, cp.Source = s.levels[l].level, "learned"
		}
		for i := range min(l, len(book)) {
			cp.Set = append(cp.Set, book[i].Name)
		}
		out = append(out, cp)
	}
	return out
}

// Overview returns every service's summary, in configuration order; nil
// without Options.View.
func (c *Controller) Overview() []Summary {
	if len(c.services) == 0 || c.services[0].view == nil {
		return nil
	}
	out := make([]Summary, 0, len(c.services))
	for _, s := range c.services {
		s.view.mu.Lock()
		out = append(out, c.summary(s))
		s.view.mu.Unlock()
	}
	return out
}

// summary returns the service's summary; s.view.mu is held.
func (c *Controller) summary(s *service) Summary {
	v := s.view
	r := v.last
	sum := Summary{Name: s.cfg.Name, Mode: s.settings.Mode, Signal: string(s.signal), Threshold: s.pattern.Above,
		Stepped: v.stepped, TimeToBreach: -1, Latency: math.NaN(), Load: math.NaN(), Risk: math.NaN(), BreachLevel: math.Inf(1)}
	if !v.stepped {
		return sum
	}
	sum.Time, sum.Level, sum.Firing = r.Time, r.Level, r.Firing
	for _, i := range v.engaged {
		sum.Engaged = append(sum.Engaged, s.settings.Playbook[i].Name)
	}
	sum.Risk, sum.TimeToBreach, sum.Latency, sum.Load, sum.BreachLevel = r.Risk, r.TimeToBreach, r.Latency, r.Load, r.BreachLevel
	sum.Reason, sum.Message, sum.Changed = r.Reason, config.RedactText(r.Message), v.changed
	for _, w := range r.Windows {
		sum.Windows = append(sum.Windows, schedule.Window{Name: w.Name, Kind: w.Kind, Start: w.Start, End: w.End})
	}
	for _, w := range r.NextWindows {
		sum.NextWindows = append(sum.NextWindows, schedule.Window{Name: w.Name, Kind: w.Kind, Start: w.Start, End: w.End})
	}
	return sum
}

// ServiceView returns a copy of what the view holds of the named service;
// false for an unknown service, and without Options.View.
func (c *Controller) ServiceView(name string) (ServiceView, bool) {
	s := c.service(name)
	if s == nil || s.view == nil {
		return ServiceView{}, false
	}
	v := s.view
	out := ServiceView{Interval: c.interval, Horizon: time.Duration(s.horizon) * c.interval}
	for _, st := range s.settings.Playbook {
		out.Playbook = append(out.Playbook, st.Name)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	out.Summary = c.summary(s)
	n := v.n
	out.Times = make([]time.Time, n)
	out.Latency, out.Risk, out.BreachLevel = make([]float64, n), make([]float64, n), make([]float64, n)
	out.Level = make([]int, n)
	for k := range out.Forecast {
		out.Forecast[k] = make([]float64, n)
	}
	first := v.next - n
	if first < 0 {
		first += len(v.t)
	}
	for j := range n {
		i := (first + j) % len(v.t)
		out.Times[j] = time.Unix(0, v.t[i]).UTC()
		out.Latency[j], out.Risk[j], out.BreachLevel[j] = float64(v.lat[i]), float64(v.risk[i]), float64(v.breach[i])
		out.Level[j] = int(v.level[i])
		for k := range out.Forecast {
			out.Forecast[k][j] = float64(v.fc[k][i])
		}
	}
	if !v.at.IsZero() {
		out.Watched = v.at
		out.Load = slices.Clone(v.load)
		out.LoadTimes = loadTimes(out.Times, len(out.Load), v.at, c.interval)
		out.Ahead = v.ahead // its slices are never written after the step made them
		out.Capacities = v.caps
		out.Options = v.options
	}
	out.Windows = slices.Clone(v.wins)
	for k := range v.dn {
		d := v.decs[(v.dnext-1-k+2*len(v.decs))%len(v.decs)]
		d.Message = config.RedactText(d.Message)
		out.Decisions = append(out.Decisions, d)
	}
	slices.SortStableFunc(out.Decisions, func(a, b Decision) int { return -cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) })
	return out, true
}

// loadTimes returns the times of the newest n values of the history, the
// newest at the step at: the steps' own times where the view has them
// (times, oldest first, ending at or after at), one interval apart
// before.
func loadTimes(times []time.Time, n int, at time.Time, interval time.Duration) []time.Time {
	end := len(times)
	for end > 0 && times[end-1].After(at) {
		end--
	}
	out := make([]time.Time, n)
	for k := range n { // k-th from the newest
		if j := end - 1 - k; j >= 0 {
			out[n-1-k] = times[j]
			continue
		}
		out[n-1-k] = at.Add(-time.Duration(k) * interval)
		if end > 0 {
			out[n-1-k] = times[0].Add(-time.Duration(k-end+1) * interval)
		}
	}
	return out
}
