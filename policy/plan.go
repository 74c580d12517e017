package policy

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// The planner (mode Plan). At every step it chooses the set of actions to
// have engaged, by minimising the expected cost over the forecast horizon
// across the sample paths of the forecast signal:
//
//	J(M) = incident_cost × P(incident within the horizon | M)
//	     + Σ_{a ∈ M} price_a × |engaged_a − baseline_a| × horizon
//	     + Σ_{a ∈ M newly engaged} price_a × |engaged_a − baseline_a| × revert_after_a
//
// A path has an incident under a plan M when the incident pattern (K
// samples in a row, counting the Run samples already above) occurs with
// each sample above the breach level of the actions of M that help by
// then: an action already engaged helps once its warm-up since it was
// engaged has passed, an action engaged now once its warm-up has; an
// action M reverts helps no more. The last term is the switch cost: every
// engagement runs on for at least its revert_after once the risk has
// passed, whatever the horizon shows.
//
// Any set may be chosen, in any order, several actions at once, within
// the constraints: an action in its cooldown keeps its state, an action a
// prewarm window holds stays engaged, a freeze window starts nothing (and
// reverts nothing unless it allows reverts).
//
// Engaging waits for the last responsible moment: an action the best plan
// adds is engaged now only when engaging it one step later would cost more
// (its expected incidents rise by more than a minute of its price saves).
// Reverting waits for revert_after: an engaged action the best plan drops
// is reverted once the plans without it have been the best for that long
// (as an HPA's stabilisation window), so that the noise of one forecast
// does not flap it.
//
// An incident in progress is sunk: no plan prevents it, and the expected
// incidents count the ones to come. The reactive floor still holds: during
// an incident, when the plan adds nothing, the cheapest action whose set
// was seen (or is expected) to take the load now is engaged, or else the
// first action of the playbook not engaged.

// LevelSource says where the breach level of an action set comes from.
type LevelSource uint8

// The sources of a breach level.
const (
	// Unseen: neither seen nor given a prior; the set is assumed to take
	// what its best known subset takes.
	Unseen LevelSource = iota
	// Learned from what the set was seen to take.
	Learned
	// Physics: the simulated plant's equations (a replay's prior).
	Physics
	// Declared by the actions' capacity_gain (a prior).
	Declared
)

var levelSources = [...]string{Unseen: "unseen", Learned: "learned", Physics: "physics prior", Declared: "declared prior"}

func (l LevelSource) String() string {
	if int(l) < len(levelSources) {
		return levelSources[l]
	}
	return fmt.Sprintf("LevelSource(%d)", int(l))
}

// Response is the planner's response model: per action set (by mask: bit
// i set when playbook step i is engaged), the value of the forecast signal
// at which the service breaches with that set engaged (+Inf: it never
// does, as far as anything tells), and where that level comes from.
type Response struct {
	Level  []float64
	Source []LevelSource
}

// PlanInput is what the planner needs beyond the rule policies' Input.
type PlanInput struct {
	// Paths are the sample paths of the forecast signal over the horizon,
	// Paths[p][j] the value j+1 steps ahead; when Point is set, path p is
	// Point[j] + Paths[p][j].
	Paths [][]float64
	Point []float64
	// Clear reports that no path reaches the lowest breach level of any
	// set: every plan is free of incidents (the controller's screening).
	Clear bool
	// Horizon is the forecast horizon in steps.
	Horizon int
	// K is the incident pattern's samples in a row; Run the samples
	// already above the threshold (at most K−1).
	K, Run int
	// Load is the forecast signal now.
	Load float64
	// Floor, when Run > 0 (the latency is above the threshold now), is the
	// load the service was seen to carry while above it: the load now or
	// its mean over the run, whichever is higher. The plan starts from it
	// (an incident under way, "Imminent", is its starting condition): a
	// path is at least Floor over the steps that would complete the
	// pattern, since an overload's backlog outlasts a dip in the load.
	Floor float64
	// Response is the breach level of every action set.
	Response Response
	// Scratch, when set, holds buffers the planner reuses from one step
	// to the next (a service's own: one planner at a time).
	Scratch *PlanScratch
}

// PlanScratch holds the planner's buffers between steps. The zero value
// is ready to use.
type PlanScratch struct {
	vals  []float64
	cand  [][]float64
	th    []float64
	ready []int
	first []int
	memo  map[[MaxPlanSteps]int16]float64
}

// Mask returns the set of steps engaged or prewarmed: bit i set when
// playbook step i is (the index of Response).
func (s State) Mask() uint {
	var m uint
	for _, e := range s.Engaged {
		m |= 1 << e.Step
	}
	for _, e := range s.Prewarmed {
		m |= 1 << e.Step
	}
	return m
}

// engagement returns step i's engagement in st (stack or prewarm).
func engagement(st State, i int) (Engagement, bool) {
	for _, e := range st.Engaged {
		if e.Step == i {
			return e, true
		}
	}
	for _, e := range st.Prewarmed {
		if e.Step == i {
			return e, true
		}
	}
	return Engagement{}, false
}

// MaxPlanSteps bounds the playbook the planner weighs: every set of its
// actions, at every step.
const MaxPlanSteps = 8

// planner is one step's planning problem.
type planner struct {
	s        Settings
	in       Input
	p        *PlanInput
	st       State
	now      time.Time
	n        int
	cur      uint // engaged now
	forced   uint // held engaged by a prewarm window
	locked   uint // in cooldown: keep their state
	horizon  int
	ready    []int       // per step: steps ahead from which it helps when engaged now or already
	cand     [][]float64 // the paths that could breach under some plan, floor applied
	th       []float64   // scratch: the threshold per step ahead
	memo     map[[MaxPlanSteps]int16]float64
	first    []int // riskAt's count of first completions per step ahead
	deferred int   // the step whose engagement is evaluated one step later, or -1
}

// Plan is the planner's decision at now (see the comment above); Decide
// calls it for mode Plan, once the prewarm windows and the data checks
// have had their say.
func plan(s Settings, in Input, d Decision, now time.Time) Decision {
	pl := newPlanner(s, in, d.Next, now)
	if pl == nil {
		d.Reason = Learning
		if !in.Terse {
			d.Message = "no forecast yet: planning needs the forecast signal"
		}
		return d
	}
	// The risk at the engaged set decides the release of a prewarmed step
	// whose window is over, as in the rule policies, which go on with it.
	d.Risk, d.TimeToBreach = pl.riskAt(pl.cur, s.Trigger)
	in.Risk = d.Risk
	pl.in = in
	rd, ok := release(s, in, d, now)
	if ok && len(rd.Changes) > 0 {
		return rd
	}
	d.Next.PrewarmClearSince = rd.Next.PrewarmClearSince

	best, bestCost, bestRisk := pl.best()
	curCost, curRisk := pl.cost(pl.cur), d.Risk

	add := best &^ pl.cur
	var deferred uint
	for i := range pl.n {
		if add&(1<<i) == 0 {
			continue
		}
		pl.deferred = i
		later := pl.cost(best) - pl.price(i)*pl.s.Interval.Minutes()
		pl.deferred = -1
		if later <= bestCost {
			deferred |= 1 << i
		}
	}
	add &^= deferred
	if in.Firing && add == 0 {
		if i, ok := pl.floor(); ok {
			return pl.apply(d, 1<<i, 0, ReactiveFloor, fmt.Sprintf("incident in progress; the plan adds nothing: %s", pl.s.Playbook[i].Name))
		}
	}

	// Reverts wait until the plans without the action have been the best
	// for its revert_after, and none starts while the latency is above
	// the threshold: taking capacity away during a breach never helps,
	// even when no plan can prevent the incident.
	drop := pl.cur &^ best &^ pl.locked &^ pl.forced
	if in.Firing || pl.p.Run > 0 {
		drop = 0
	}
	var due uint
	since := d.Next.PlanClearSince
	next := map[int]time.Time{}
	for i := range pl.n {
		if drop&(1<<i) == 0 {
			continue
		}
		t, ok := since[i]
		if !ok {
			t = now
		}
		next[i] = t
		if now.Sub(t) >= pl.s.Playbook[i].RevertAfter {
			due |= 1 << i
		}
	}
	d.Next.PlanClearSince = next
	if len(next) == 0 {
		d.Next.PlanClearSince = nil
	}

	why := func() string {
		return fmt.Sprintf("plan %s: expected cost %.1f (incident risk %.2f), against %.1f keeping %s (risk %.2f); %s",
			pl.names(best), bestCost, bestRisk, curCost, pl.names(pl.cur), curRisk, pl.levels(best))
	}
	switch {
	case add != 0 || due != 0:
		reason := Planned
		if add == 0 {
			reason = Revert
		}
		return pl.apply(d, add, due, reason, why())
	case deferred != 0:
		d.Reason = PlanDeferred
		if !in.Terse {
			d.Message = fmt.Sprintf("%s later costs no more: %s", pl.names(deferred), why())
		}
	case drop != 0:
		d.Reason = RevertPending
		if !in.Terse {
			d.Message = fmt.Sprintf("%s to revert once the plan has kept it out for its revert_after: %s", pl.names(drop), why())
		}
	case pl.cur != 0:
		d.Reason = Holding
		if !in.Terse {
			d.Message = why()
		}
	default:
		d.Reason = Steady
		if !in.Terse {
			d.Message = why()
		}
	}
	return d
}

// newPlanner returns the step's planning problem, nil without a forecast.
func newPlanner(s Settings, in Input, st State, now time.Time) *planner {
	p := in.Plan
	n := len(s.Playbook)
	if p == nil || len(p.Response.Level) < 1<<n {
		return nil
	}
	sc := p.Scratch
	if sc == nil {
		sc = &PlanScratch{}
	}
	pl := &planner{s: s, in: in, p: p, st: st, now: now, n: n, cur: st.Mask(), deferred: -1}
	pl.horizon = max(p.Horizon, 1)
	sc.ready = grow(sc.ready, n)
	sc.first = grow(sc.first, pl.horizon)
	sc.th = grow(sc.th, pl.horizon)
	sc.vals = grow(sc.vals, pl.horizon*len(p.Paths))
	if sc.memo == nil {
		sc.memo = make(map[[MaxPlanSteps]int16]float64)
	}
	clear(sc.memo)
	pl.ready, pl.th, pl.memo, pl.cand, pl.first = sc.ready, sc.th, sc.memo, sc.cand[:0], sc.first
	for i, step := range s.Playbook {
		if _, ok := floor(s, in, i); ok {
			pl.forced |= 1 << i
		}
		if t, ok := st.Changed[step.Name]; ok && now.Sub(t) < step.Cooldown {
			pl.locked |= 1 << i
		}
		pl.ready[i] = pl.steps(step.Warmup)
		if e, ok := engagement(st, i); ok {
			pl.ready[i] = 0
			if !e.NoChange {
				pl.ready[i] = pl.steps(e.At.Add(step.Warmup).Sub(now))
			}
		}
	}
	if !p.Clear {
		low := math.Inf(1)
		for _, l := range p.Response.Level {
			low = min(low, l)
		}
		for j := range pl.th {
			pl.th[j] = low
		}
		used := 0
		for k := range p.Paths {
			buf := sc.vals[used : used+pl.horizon]
			pl.values(k, buf)
			if pl.breaches(buf, pl.th) {
				pl.cand = append(pl.cand, buf)
				used += pl.horizon
			}
		}
	}
	sc.cand = pl.cand
	return pl
}

// steps returns d in control steps, rounded up, at least 0.
func (pl *planner) steps(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + pl.s.Interval - 1) / pl.s.Interval)
}

// feasible reports whether the plan m keeps the constraints.
func (pl *planner) feasible(m uint) bool {
	if m&pl.forced != pl.forced || (m^pl.cur)&pl.locked != 0 {
		return false
	}
	if pl.in.Frozen {
		return m&^pl.cur == 0 && (pl.in.AllowRevert || m == pl.cur)
	}
	return true
}

// best returns the feasible plan of least expected cost (the fewest
// changes from the engaged set among equals, then the smallest mask), its
// cost and its risk.
func (pl *planner) best() (m uint, cost, risk float64) {
	m, cost = pl.cur, math.Inf(1)
	for c := range uint(1) << pl.n {
		if !pl.feasible(c) {
			continue
		}
		j := pl.actionCost(c)
		if j > cost+1e-9 {
			continue // no risk makes it cheaper than the best so far
		}
		j += pl.s.IncidentCost * pl.riskOf(c)
		if j < cost-1e-9 || (math.Abs(j-cost) <= 1e-9 && bits.OnesCount(c^pl.cur) < bits.OnesCount(m^pl.cur)) {
			m, cost = c, j
		}
	}
	if math.IsInf(cost, 1) {
		return pl.cur, pl.cost(pl.cur), pl.riskOf(pl.cur)
	}
	return m, cost, pl.riskOf(m)
}

// price returns what step i costs per minute engaged.
func (pl *planner) price(i int) float64 {
	st := pl.s.Playbook[i]
	return st.CostPerMinute * math.Abs(st.Engaged-st.Baseline)
}

// cost returns the expected cost of plan m over the horizon.
func (pl *planner) cost(m uint) float64 {
	return pl.actionCost(m) + pl.s.IncidentCost*pl.riskOf(m)
}

// actionCost returns what plan m's actions cost over the horizon, switch
// costs included.
func (pl *planner) actionCost(m uint) float64 {
	minutes := float64(pl.horizon) * pl.s.Interval.Minutes()
	j := 0.0
	for i := range pl.n {
		if m&(1<<i) == 0 {
			continue
		}
		j += pl.price(i) * minutes
		if pl.cur&(1<<i) == 0 {
			j += pl.price(i) * pl.s.Playbook[i].RevertAfter.Minutes()
		}
	}
	return j
}

// helping returns the actions of plan m that help j+1 steps ahead.
func (pl *planner) helping(m uint, j int) uint {
	var e uint
	for i := range pl.n {
		if m&(1<<i) == 0 {
			continue
		}
		if j+1 >= pl.readyAt(i) {
			e |= 1 << i
		}
	}
	return e
}

// readyAt returns the steps ahead from which step i helps if the plan
// has it: one more when its engagement is deferred a step.
func (pl *planner) readyAt(i int) int {
	if i == pl.deferred && pl.cur&(1<<i) == 0 {
		return pl.ready[i] + 1
	}
	return pl.ready[i]
}

// riskOf returns the share of paths with an incident under plan m. Plans
// whose actions help from the same steps share their risk (memo).
func (pl *planner) riskOf(m uint) float64 {
	if len(pl.cand) == 0 {
		return 0
	}
	var key [MaxPlanSteps]int16
	for i := range pl.n {
		key[i] = -1
		if m&(1<<i) != 0 {
			key[i] = int16(min(pl.readyAt(i), pl.horizon+1))
		}
	}
	if r, ok := pl.memo[key]; ok {
		return r
	}
	pl.thresholds(m)
	n := 0
	for _, v := range pl.cand {
		if pl.breaches(v, pl.th) {
			n++
		}
	}
	r := float64(n) / float64(len(pl.p.Paths))
	pl.memo[key] = r
	return r
}

// thresholds fills pl.th with the breach level plan m has at each step
// ahead: that of its actions that help by then.
func (pl *planner) thresholds(m uint) {
	level := pl.p.Response.Level
	for j := range pl.th {
		pl.th[j] = level[pl.helping(m, j)]
	}
}

// riskAt returns the risk of plan m (riskOf) and its time to breach: how
// far ahead the share of paths with an incident first reaches trigger
// (negative: never within the horizon).
func (pl *planner) riskAt(m uint, trigger float64) (float64, time.Duration) {
	if len(pl.cand) == 0 {
		return 0, -1
	}
	pl.thresholds(m)
	first := grow(pl.first, pl.horizon)
	clear(first)
	n := 0
	for _, v := range pl.cand {
		if j := pl.completes(v, pl.th); j >= 0 {
			first[j]++
			n++
		}
	}
	total := float64(len(pl.p.Paths))
	cum := 0
	for j, c := range first {
		if cum += c; cum > 0 && float64(cum)/total >= trigger {
			return float64(n) / total, time.Duration(j+1) * pl.s.Interval
		}
	}
	return float64(n) / total, -1
}

// values fills v with path k's values, held at the floor at least over
// the steps that would complete a pattern under way.
func (pl *planner) values(k int, v []float64) {
	path := pl.p.Paths[k]
	n := min(len(v), len(path))
	if point := pl.p.Point; point != nil {
		point, path = point[:n], path[:n]
		for j := range point {
			v[j] = path[j] + point[j]
		}
	} else {
		copy(v, path[:n])
	}
	for j := n; j < len(v); j++ {
		v[j] = math.NaN()
	}
	if need, run := max(pl.p.K, 1), max(pl.p.Run, 0); run > 0 {
		for j := range min(need-min(run, need-1), len(v)) {
			v[j] = max(v[j], pl.p.Floor) // NaN stays NaN
		}
	}
}

// breaches reports whether the values v complete the incident pattern
// above the thresholds th, counting the run already above.
func (pl *planner) breaches(v, th []float64) bool { return pl.completes(v, th) >= 0 }

// completes returns the step ahead (from 0) at which the values v complete
// the incident pattern above the thresholds th, counting the run already
// above; -1 when they do not.
func (pl *planner) completes(v, th []float64) int {
	need := max(pl.p.K, 1)
	run := min(max(pl.p.Run, 0), need-1)
	th = th[:len(v)]
	for j, x := range v {
		// Branch-free on whether the sample is above (a conditional move):
		// paths cross their thresholds at random, and a mispredicted
		// branch per sample was most of the scan's time.
		r := run + 1
		if !(x > th[j]) {
			r = 0
		}
		run = r
		if run >= need {
			return j
		}
	}
	return -1
}

// floor returns the action the reactive floor engages: the cheapest one
// not engaged, free to change, whose set with the engaged ones takes the
// load now, else the first such action of the playbook.
func (pl *planner) floor() (int, bool) {
	best, first := -1, -1
	for i := range pl.n {
		b := uint(1) << i
		if pl.cur&b != 0 || pl.locked&b != 0 || pl.in.Frozen {
			continue
		}
		if first < 0 {
			first = i
		}
		if pl.p.Response.Level[pl.cur|b] > pl.p.Load && (best < 0 || pl.price(i) < pl.price(best)) {
			best = i
		}
	}
	if best < 0 {
		best = first
	}
	return best, best >= 0
}

// apply engages the steps of add and reverts those of due.
func (pl *planner) apply(d Decision, add, due uint, reason Reason, msg string) Decision {
	s, in, now := pl.s, pl.in, pl.now
	for i := range pl.n {
		if due&(1<<i) == 0 {
			continue
		}
		step := s.Playbook[i]
		k := slices.IndexFunc(d.Next.Engaged, func(e Engagement) bool { return e.Step == i })
		if k < 0 {
			continue // prewarmed: release() restores it once its window is over
		}
		e := d.Next.Engaged[k]
		d.Next.Engaged = slices.Delete(slices.Clone(d.Next.Engaged), k, k+1)
		if _, ok := d.Next.PlanClearSince[i]; ok {
			d.Next.PlanClearSince = maps.Clone(d.Next.PlanClearSince)
			delete(d.Next.PlanClearSince, i)
		}
		if e.NoChange {
			continue
		}
		d.Next.setChanged(step.Name, now)
		d.Changes = append(d.Changes, Change{Step: i, Name: step.Name, Revert: true, From: e.To, Wish: e.From, To: e.From})
	}
	for i := range pl.n {
		if add&(1<<i) == 0 {
			continue
		}
		step := s.Playbook[i]
		from, to, e := engage(s, in, &d.Next, i, now)
		k := 0
		for k < len(d.Next.Engaged) && d.Next.Engaged[k].Step < i {
			k++
		}
		d.Next.Engaged = slices.Insert(d.Next.Engaged, k, e)
		if to == from {
			continue
		}
		d.Next.setChanged(step.Name, now)
		d.Changes = append(d.Changes, Change{Step: i, Name: step.Name, From: from, Wish: step.Engaged, To: to})
	}
	if len(d.Next.PlanClearSince) == 0 {
		d.Next.PlanClearSince = nil
	}
	d.Next.ClearSince = time.Time{}
	d.Reason = reason
	var parts []string
	for _, c := range d.Changes {
		op := "engage"
		if c.Revert {
			op = "revert"
		}
		parts = append(parts, fmt.Sprintf("%s %s %g → %g", op, c.Name, c.From, c.To))
	}
	if len(parts) == 0 {
		parts = append(parts, "engaged with no change")
	}
	d.Message = strings.Join(parts, ", ") + ": " + msg
	return d
}

// names returns the names of the steps of m, "{}" for none.
func (pl *planner) names(m uint) string {
	var out []string
	for i := range pl.n {
		if m&(1<<i) != 0 {
			out = append(out, pl.s.Playbook[i].Name)
		}
	}
	return "{" + strings.Join(out, ", ") + "}"
}

// levels describes the breach levels of the engaged set and of m, with
// their sources.
func (pl *planner) levels(m uint) string {
	r := pl.p.Response
	desc := func(x uint) string {
		return fmt.Sprintf("%s takes %.4g (%s)", pl.names(x), r.Level[x], r.Source[x])
	}
	if m == pl.cur {
		return desc(m)
	}
	return desc(pl.cur) + ", " + desc(m)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
