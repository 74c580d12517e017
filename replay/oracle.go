package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// The oracle (policy.Oracle) is a replay's hindsight bound on the
// decisions: it knows the whole load and the plant's noise (it simulates
// the plant's future on copies, sim.Plant.Clone), and chooses which
// playbook actions to hold engaged, and when, to have the fewest samples
// in breach and incidents first and the least cost second.
//
// Method: receding-horizon search with perfect information. After each
// step i the oracle knows the plant's state exactly. It scores a plan over
// the window of the next W steps (i, i+W] by simulating a copy of the
// plant forward with the true loads and noise, lexicographically:
//
//	(samples in breach in the window, incidents that start in it, cost in it)
//
// where a sample is in breach when it completes or extends the incident
// pattern (the latency above the threshold for K samples in a row,
// model.Pattern; oracleScore says why breach comes before incidents), and
// the cost is Σ_a cost_per_minute_a·|v_a − v0_a| over the engaged actions
// a and the window's minutes (v0_a: the knob's value at the start, what a
// revert restores).
//
// A plan is a target set S of actions to hold engaged: each action of the
// playbook is either at its resting value or at its engaged value (within
// its min and max). The plan moves from the engaged set to S one change
// per step (a decision record carries one action), each change no sooner
// than the action's cooldown after its last, the first change being a
// chosen one, the others in a fixed order (engagements first, the longest
// declared warm-up first; then reverts, the last in the playbook first).
// Warm-up is not assumed: the copy's replicas warm as the plant's do.
//
// At each step:
//
//   - The plan "hold the engaged set" is scored from a shadow copy that
//     runs W steps ahead of the plant with the engaged set held (one
//     simulated step per real step while nothing changes).
//   - Nothing engaged and the window free of breach: do nothing (most
//     steps).
//   - Something engaged and the window free of breach: try every cheaper
//     target set (reverts, and swaps for a cheaper action), each with each
//     of its changes as the first; take the cheapest that keeps the window
//     free of breach (a revert as soon as it is safe).
//   - The window holds breach: try every other target set, each with each
//     of its changes as the first, and take the best; then try the same
//     plan one step later, and when it scores at least as well, change
//     nothing now (an engagement just in time, not early).
//   - In both, a target none of whose changes may be made yet (cooldowns)
//     is tried too, its changes made as the cooldowns end; when it is the
//     best, nothing changes now. Without it, reverting a cheap action now
//     could lock it out of the cheaper plan a few steps later (revert the
//     expensive action once its cooldown ends, keeping the cheap one).
//
// The plans are consistent from step to step: the rest of the plan chosen
// at one step is among the next step's candidates (the same target), so
// the oracle's own choices never add breach within a window; only a
// window's new last step can. Richer plans (a target now, another from a
// later step) were tried and were worse: the rest of such a plan is not
// among the next step's candidates, and the search chased plans it could
// not keep (more cost on the example, one more sample in breach in the
// exhaustive comparison's two bursts).
//
// A simulation stops as soon as its partial score (with the cost of the
// rest of the window at its least) can no longer beat the best plan so
// far. The search is deterministic: target sets in increasing order of
// their bit mask, a later plan replacing the best only when strictly
// better.
//
// It is not an exact optimum: the plans are constant target sets over the
// window, not every sequence of changes; the window is finite (W covers
// the plant's replica warm-up, the longest cooldown, the pattern's K
// samples and 30 steps of slack, at least 45 steps); and each step commits
// to the first change of a plan chosen on that window alone.
// docs/evaluation.md ("The oracle") measures how far from the optimum it
// is.

// oracleMaxActions bounds the usable actions of a service: the search
// tries every subset of them. With one action per knob and three knobs
// the bound is a guard for a plant with more knobs.
const oracleMaxActions = 8

// oracleSlack is the steps the window adds beyond the warm-up, the
// cooldown and the pattern; oracleMinWindow and oracleMaxWindow bound it.
const (
	oracleSlack     = 30
	oracleMinWindow = 45
	oracleMaxWindow = 240
)

// errOracle prefixes the oracle's configuration errors.
var errOracle = errors.New("replay: oracle")

// oracleAction is a playbook action the oracle may use: a simulator knob.
type oracleAction struct {
	name     string  // the action's name
	knob     string  // the plant's knob
	rest     float64 // the knob's value when not engaged: its value at the start
	engaged  float64 // the engaged value, within [min, max]
	rate     float64 // cost per step when engaged: cost_per_minute·|engaged − rest|·minutes
	cooldown int     // least steps between two changes
	warmup   time.Duration
}

// oracleScore is a plan's score over a window, compared lexicographically:
// samples in breach, then incidents, then cost. Breach first, not the
// incidents: the count of incidents is not monotone in the latency (a
// plan that keeps the latency above the threshold between two breaches
// merges them into one incident), and a search that put it first chose
// exactly that, cheap plans with long incidents. Every avoidable incident
// has a sample in breach, so the oracle still avoids each one it can.
type oracleScore struct {
	incidents, breach int
	cost              float64
}

func (a oracleScore) less(b oracleScore) bool {
	if a.breach != b.breach {
		return a.breach < b.breach
	}
	if a.incidents != b.incidents {
		return a.incidents < b.incidents
	}
	return a.cost < b.cost
}

// oracle is the state of one service's oracle run.
type oracle struct {
	acts    []oracleAction
	order   []int     // the fixed order of engagements (by acts index)
	loads   []float64 // the load of each step; NaN where the plant idles and reports nothing
	above   float64   // the incident threshold
	k       int       // the pattern's samples in a row
	window  int       // W
	plant   *sim.Plant
	scratch sim.Plant // a copy simulated forward by a plan
	dt      time.Duration

	cur  uint  // the engaged set, a bit per acts index
	last []int // the step of each action's last change; a large negative number if none
	run  int   // samples above the threshold in a row, after the last step

	// The shadow: a copy of the plant run ahead with cur held, covering
	// the steps (i, shadowTo] after step i; valid is false after a change.
	shadow              sim.Plant
	shadowRun, shadowTo int
	valid               bool
	ring                []shadowSample // indexed by step % len(ring)
	ringStarts, ringHot int            // incidents started and samples in breach in (i, shadowTo]

	// checkShadow (tests) checks the shadow's score against a fresh
	// simulation of holding the engaged set at every step.
	checkShadow bool
}

type shadowSample struct{ start, breach bool }

// newOracle returns the oracle of a service whose plant is plant, run
// over loads (one per step, NaN where there is none) on interval.
func newOracle(svc config.Service, r config.Resolved, plant *sim.Plant, loads []float64, interval time.Duration) (*oracle, error) {
	o := &oracle{loads: loads, plant: plant, dt: interval}
	p := controller.IncidentPattern(r)
	o.above, o.k = p.Above, max(1, p.Consecutive)
	knobs := map[string]bool{}
	longest := 0
	for j, a := range svc.Playbook {
		if a.Actuator.Kind != config.ActuatorSim || knobs[a.Actuator.Knob] {
			continue // no effect on the plant, or its knob already used by an earlier action
		}
		st := r.Playbook[j]
		rest, err := plant.Get(a.Actuator.Knob)
		if err != nil {
			return nil, fmt.Errorf("%w: service %s action %s: %w", errOracle, svc.Name, st.Name, err)
		}
		eng := math.Min(math.Max(st.Engaged, st.Min), st.Max)
		if eng == rest {
			continue // engaging it changes nothing
		}
		knobs[a.Actuator.Knob] = true
		cd := int((st.Cooldown + interval - 1) / interval)
		longest = max(longest, cd)
		o.acts = append(o.acts, oracleAction{name: st.Name, knob: a.Actuator.Knob, rest: rest, engaged: eng,
			rate: st.CostPerMinute * math.Abs(eng-rest) * interval.Minutes(), cooldown: cd, warmup: st.Warmup})
	}
	if len(o.acts) > oracleMaxActions {
		return nil, fmt.Errorf("%w: service %s has %d actions on simulator knobs; the oracle tries every subset of at most %d",
			errOracle, svc.Name, len(o.acts), oracleMaxActions)
	}
	warm := int((time.Duration(plant.Params().ReplicaWarmup) + interval - 1) / interval)
	o.window = min(max(warm+longest+o.k+oracleSlack, oracleMinWindow), oracleMaxWindow)
	o.last = make([]int, len(o.acts))
	for a := range o.last {
		o.last[a] = math.MinInt / 2
	}
	o.order = make([]int, len(o.acts))
	for a := range o.order {
		o.order[a] = a
	}
	slices.SortStableFunc(o.order, func(a, b int) int { return cmp.Compare(o.acts[b].warmup, o.acts[a].warmup) })
	o.ring = make([]shadowSample, o.window+1)
	return o, nil
}

// rate returns the cost per step of holding the set engaged.
func (o *oracle) rate(set uint) float64 {
	var c float64
	for a := range o.acts {
		if set&(1<<a) != 0 {
			c += o.acts[a].rate
		}
	}
	return c
}

// free reports whether action a may change at step j.
func (o *oracle) free(last []int, a, j int) bool { return j-last[a] >= o.acts[a].cooldown }

// next returns the action to change at step j on the way from set to
// target (engagements in o.order, then reverts from the last action
// back), or -1 when none may change now.
func (o *oracle) next(set, target uint, last []int, j int) int {
	diff := set ^ target
	for _, a := range o.order {
		if diff&target&(1<<a) != 0 && o.free(last, a, j) {
			return a
		}
	}
	for a := len(o.acts) - 1; a >= 0; a-- {
		if diff&set&(1<<a) != 0 && o.free(last, a, j) {
			return a
		}
	}
	return -1
}

// value returns action a's knob value in the set.
func (o *oracle) value(set uint, a int) float64 {
	if set&(1<<a) != 0 {
		return o.acts[a].engaged
	}
	return o.acts[a].rest
}

// stepPlant steps p with step j's load and returns its signals and
// whether the step has a load (as sim.Source does: none, and the plant
// idles with no arrivals and reports nothing).
func (o *oracle) stepPlant(p *sim.Plant, j int) (sim.Signals, bool) {
	load := o.loads[j]
	if math.IsNaN(load) || math.IsInf(load, 0) || load < 0 {
		p.Step(0, o.dt)
		nan := math.NaN()
		return sim.Signals{LatencyP99: nan, Requests: nan, PoolInUse: nan, PoolLimit: nan}, false
	}
	return p.Step(load, o.dt), true
}

// observe advances a run of samples above the threshold by one step's
// latency and reports whether the sample starts an incident and whether
// it is in breach (NaN is not above the threshold, as in model.Incidents).
func (o *oracle) observe(run *int, latency float64) (start, breach bool) {
	if latency > o.above {
		*run++
	} else {
		*run = 0
	}
	return *run == o.k, *run >= o.k
}

// end returns the last step of the window after step i.
func (o *oracle) end(i int) int { return min(i+o.window, len(o.loads)-1) }

// advanceShadow makes the shadow cover (i, end(i)] with the engaged set
// held, rebuilding it from the plant after a change.
func (o *oracle) advanceShadow(i int) {
	if !o.valid {
		o.plant.CopyTo(&o.shadow)
		o.shadowRun, o.shadowTo, o.ringStarts, o.ringHot, o.valid = o.run, i, 0, 0, true
	}
	for o.shadowTo < o.end(i) {
		j := o.shadowTo + 1
		sig, _ := o.stepPlant(&o.shadow, j)
		start, breach := o.observe(&o.shadowRun, sig.LatencyP99)
		o.ring[j%len(o.ring)] = shadowSample{start, breach}
		o.ringStarts += b2i(start)
		o.ringHot += b2i(breach)
		o.shadowTo = j
	}
}

// dropShadow removes step i from the shadow's window (the plant has run it).
func (o *oracle) dropShadow(i int) {
	if o.valid && i <= o.shadowTo {
		s := o.ring[i%len(o.ring)]
		o.ringStarts -= b2i(s.start)
		o.ringHot -= b2i(s.breach)
		o.ring[i%len(o.ring)] = shadowSample{}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// simulate scores the plan that, from the decision after step i, waits
// delay steps, makes the change first (an action index, or -1 for the
// fixed order) and then moves to target one change per step. It stops
// early, returning a partial score that is not less than bound, once the
// plan cannot beat bound.
func (o *oracle) simulate(i int, target uint, first, delay int, bound oracleScore) oracleScore {
	p := &o.scratch
	o.plant.CopyTo(p)
	var lastBuf [oracleMaxActions]int
	last := lastBuf[:len(o.acts)]
	copy(last, o.last)
	set, run := o.cur, o.run
	var sc oracleScore
	end := o.end(i)
	for j := i; j < end; j++ {
		if j >= i+delay && set != target {
			a := -1
			if j == i+delay && first >= 0 && o.free(last, first, j) {
				a = first
			} else {
				a = o.next(set, target, last, j)
			}
			if a >= 0 {
				set ^= 1 << a
				last[a] = j
				if err := p.Set(o.acts[a].knob, o.value(set, a)); err != nil {
					panic(fmt.Sprintf("replay: oracle: %v", err)) // the values were checked when the run began
				}
			}
		}
		sc.cost += o.rate(set)
		sig, _ := o.stepPlant(p, j+1)
		start, breach := o.observe(&run, sig.LatencyP99)
		sc.incidents += b2i(start)
		sc.breach += b2i(breach)
		lb := sc
		lb.cost += float64(end-1-j) * o.rate(set&target)
		if !lb.less(bound) {
			return lb
		}
	}
	return sc
}

// holdScore returns the score of holding the engaged set over the window
// after step i (from the shadow).
func (o *oracle) holdScore(i int) oracleScore {
	return oracleScore{incidents: o.ringStarts, breach: o.ringHot, cost: float64(o.end(i)-i) * o.rate(o.cur)}
}

// firstBreach returns how many steps after step i the shadow's first
// sample in breach is, or -1 when the window holds none.
func (o *oracle) firstBreach(i int) int {
	if o.ringHot == 0 {
		return -1
	}
	for j := i + 1; j <= o.shadowTo; j++ {
		if o.ring[j%len(o.ring)].breach {
			return j - i
		}
	}
	return -1
}

// oracleChange is the change the oracle makes after a step.
type oracleChange struct {
	act    int // acts index
	engage bool
}

// decide returns the change to make after step i, if any, and the score
// of holding the engaged set (for the record).
func (o *oracle) decide(i int) (ch oracleChange, ok bool, hold oracleScore) {
	hold = o.holdScore(i)
	if o.checkShadow {
		sim := o.simulate(i, o.cur, -1, 0, oracleScore{breach: math.MaxInt})
		if sim.breach != hold.breach || sim.incidents != hold.incidents || math.Abs(sim.cost-hold.cost) > 1e-9*(1+hold.cost) {
			panic(fmt.Sprintf("replay: oracle: step %d: the shadow scores holding %+v, a simulation %+v", i, hold, sim))
		}
	}
	if i >= len(o.loads)-1 || len(o.acts) == 0 {
		return ch, false, hold
	}
	clean := hold.incidents == 0 && hold.breach == 0
	if clean && o.cur == 0 {
		return ch, false, hold
	}
	best, bestTarget, bestFirst := hold, o.cur, -1
	curRate := o.rate(o.cur)
	for target := uint(0); target < 1<<len(o.acts); target++ {
		if target == o.cur || (clean && o.rate(target) >= curRate) {
			continue
		}
		diff := target ^ o.cur
		now := false
		for a := range o.acts {
			if diff&(1<<a) == 0 || !o.free(o.last, a, i) {
				continue
			}
			now = true
			if sc := o.simulate(i, target, a, 0, best); sc.less(best) {
				best, bestTarget, bestFirst = sc, target, a
			}
		}
		if !now {
			// No change of the target's may be made yet: the plan
			// waits for the cooldowns; when it is the best, nothing
			// changes now (a cheaper change now may lock an action
			// the better plan needs).
			if sc := o.simulate(i, target, -1, 0, best); sc.less(best) {
				best, bestTarget, bestFirst = sc, target, -1
			}
		}
	}
	if bestFirst < 0 {
		return ch, false, hold
	}
	if !clean {
		// Just in time: the same plan a step later, when no worse, waits.
		bound := best
		bound.cost = math.Inf(1)
		later := o.simulate(i, bestTarget, bestFirst, 1, bound)
		if later.less(best) || later == best {
			return ch, false, hold
		}
	}
	return oracleChange{act: bestFirst, engage: bestTarget&(1<<bestFirst) != 0}, true, hold
}

// apply makes the change on the plant after step i and returns it as the
// actions applied.
func (o *oracle) apply(i int, ch oracleChange) (actuators.Action, error) {
	a := &o.acts[ch.act]
	from, to, op := a.rest, a.engaged, actuators.Engage
	if !ch.engage {
		from, to, op = a.engaged, a.rest, actuators.Revert
	}
	if err := o.plant.Set(a.knob, to); err != nil {
		return actuators.Action{}, fmt.Errorf("%w: action %s: %w", errOracle, a.name, err)
	}
	o.cur ^= 1 << ch.act
	o.last[ch.act] = i
	o.valid = false
	return actuators.Action{Action: a.name, Op: op, From: from, To: to, Reason: string(policy.Hindsight)}, nil
}

// replayOracle replays one service under the oracle: the plant is stepped
// as sim.Source steps it, each step's decision filed into decs; it
// returns the plant's records and cost.
func replayOracle(ctx context.Context, o ReplayOptions, loads map[string]*metrics.Grid, svc config.Service,
	decs *ServiceDecisions, start, end time.Time, interval time.Duration, steps int) ([]sim.Record, sim.Cost, error) {
	one := *o.Config
	one.Services = []config.Service{svc}
	resolved, err := one.Resolve()
	if err != nil {
		return nil, sim.Cost{}, fmt.Errorf("replay: %w", err)
	}
	src, _, err := sim.Build(&one, loads, nil)
	if err != nil {
		return nil, sim.Cost{}, err
	}
	plant := src.Plant(svc.Name)
	grid := loads[svc.Name]
	ls := make([]float64, 0, steps)
	for t := start; t.Before(end); t = t.Add(interval) {
		ls = append(ls, grid.At(t))
	}
	or, err := newOracle(svc, resolved[0], plant, ls, interval)
	if err != nil {
		return nil, sim.Cost{}, err
	}
	history, err := or.play(ctx, svc.Name, start, steps, decs.add)
	if err != nil {
		return nil, sim.Cost{}, err
	}
	return history, plant.Cost(), nil
}

// play steps the plant over the whole load, deciding after each step, and
// returns the plant's records; add receives each step's decision record.
func (o *oracle) play(ctx context.Context, service string, start time.Time, steps int, add func(controller.Record)) ([]sim.Record, error) {
	// Every knob the oracle may use must take both of its values.
	for _, a := range o.acts {
		for _, v := range []float64{a.engaged, a.rest} {
			if err := o.plant.Clone().Set(a.knob, v); err != nil {
				return nil, fmt.Errorf("%w: service %s action %s: %w", errOracle, service, a.name, err)
			}
		}
	}
	history := make([]sim.Record, 0, max(steps, len(o.loads)))
	for i := range o.loads {
		if i%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t := start.Add(time.Duration(i) * o.dt)
		sig, _ := o.stepPlant(o.plant, i)
		history = append(history, sim.Record{UnixNano: t.UnixNano(), Load: o.loads[i], Signals: sig})
		o.observe(&o.run, sig.LatencyP99)
		o.dropShadow(i)
		o.advanceShadow(i)
		ch, changed, hold := o.decide(i)
		var applied []actuators.Action
		if changed {
			a, err := o.apply(i, ch)
			if err != nil {
				return nil, err
			}
			applied = append(applied, a)
		}
		ttb := time.Duration(-1)
		if n := o.firstBreach(i); n >= 0 {
			ttb = time.Duration(n) * o.dt
		}
		add(oracleRecord(service, t, sig, bits.OnesCount(o.cur), o.run >= o.k, hold, ttb, o.window, o.dt, applied))
	}
	return history, nil
}

// oracleRecord builds the decision record of one step of the oracle:
// applied holds the actions changed after the step (the search makes at
// most one change a step: see decide), hold the score of holding the
// engaged set over the window of w steps before the decision.
func oracleRecord(service string, t time.Time, sig sim.Signals, level int, firing bool, hold oracleScore, ttb time.Duration,
	w int, interval time.Duration, applied []actuators.Action) controller.Record {
	risk := 0.0
	if hold.breach > 0 {
		risk = 1 // the oracle knows: the window holds breach unless it acts
	}
	nan := math.NaN()
	r := controller.Record{Time: t, Service: service, Mode: policy.Oracle, Latency: sig.LatencyP99, Load: sig.Requests,
		Risk: risk, TimeToBreach: ttb, Forecast: [3]float64{nan, nan, nan}, BreachLevel: math.Inf(1),
		Level: level, Firing: firing}
	switch {
	case len(applied) > 0:
		r.Reason = policy.Hindsight
		var parts []string
		for k := range applied {
			a := &applied[k]
			a.Service, a.Risk, a.At = service, risk, t
			parts = append(parts, fmt.Sprintf("%s %s %g → %g", a.Op, a.Action, a.From, a.To))
			r.Actions = append(r.Actions, controller.Applied{Action: *a})
		}
		r.Message = fmt.Sprintf("hindsight over the next %s: %s (holding the engaged set: %d incident(s), %d sample(s) in breach)",
			time.Duration(w)*interval, strings.Join(parts, ", "), hold.incidents, hold.breach)
	case level == 0:
		r.Reason = policy.Steady
	default:
		r.Reason = policy.Holding
	}
	return r
}
