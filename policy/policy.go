package policy

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Mode selects how a service is controlled.
type Mode int

// The modes: None never acts; Reactive acts only on an incident in progress
// (after K consecutive breaches); Predictive also acts on the forecast;
// Static engages the whole playbook at once and keeps it (static
// over-provisioning: the cost of never having an incident the playbook can
// prevent). Clairvoyant decides as Predictive does, on a perfect forecast
// of the load (controller.Options.Forecasters): a replay's bound on what a better
// forecast could buy; only a replay knows the load ahead.
//
// Plan chooses, at every step, the set of actions to have engaged that
// minimises the expected cost over the forecast horizon (incidents priced
// at incident_cost, actions at their cost_per_minute): the planner.
// Oracle is a replay's hindsight bound on the decisions: it knows the
// whole load and the plant's noise; only a replay can run it.
const (
	None Mode = iota
	Reactive
	Predictive
	Static
	Clairvoyant
	Plan
	Oracle
)

var modeNames = [...]string{None: "none", Reactive: "reactive", Predictive: "predictive", Static: "static",
	Clairvoyant: "clairvoyant", Plan: "plan", Oracle: "oracle"}

// Forecasts reports whether the mode acts on the forecast: Predictive,
// Clairvoyant and Plan.
func (m Mode) Forecasts() bool { return m == Predictive || m == Clairvoyant || m == Plan }

// ReplayOnly reports whether only a replay can run the mode: Clairvoyant
// and Oracle know the load ahead.
func (m Mode) ReplayOnly() bool { return m == Clairvoyant || m == Oracle }

func (m Mode) String() string {
	if int(m) >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses a mode's name: "none", "reactive", "predictive",
// "static", "clairvoyant", "plan" or "oracle".
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("policy: unknown mode %q (want none, reactive, predictive, plan, static, clairvoyant or oracle)", s)
}

// Reason is the stable code of a decision's outcome.
type Reason string

// The reason codes. They are stable: logs, metrics, dry-run output and golden
// files use them.
const (
	Disabled          Reason = "Disabled"          // mode none: never act
	NoData            Reason = "NoData"            // a needed signal is missing, stale or NaN
	ReactiveFloor     Reason = "ReactiveFloor"     // incident in progress: engage the next action
	Escalate          Reason = "Escalate"          // risk ≥ trigger and breach within warm-up: engage the next action
	BreachNotImminent Reason = "BreachNotImminent" // risk ≥ trigger but breach further than the next action's warm-up
	Settling          Reason = "Settling"          // the last engaged action is still warming up
	Cooldown          Reason = "Cooldown"          // the action changed too recently
	PlaybookExhausted Reason = "PlaybookExhausted" // every action is engaged
	AtBound           Reason = "AtBound"           // the capped wish equals the current value: engaged with no change
	Holding           Reason = "Holding"           // actions engaged, risk one level down not below clear
	RevertPending     Reason = "RevertPending"     // risk below clear for less than the revert window
	Revert            Reason = "Revert"            // revert the last engaged action
	Steady            Reason = "Steady"            // nothing engaged, nothing to do
	Learning          Reason = "Learning"          // risk ≥ trigger, but the current level's capacity is not learned yet
	Provisioned       Reason = "Provisioned"       // mode static: the whole playbook engaged, kept
	Imminent          Reason = "Imminent"          // the incident pattern is under way and the load will complete it: engage the next action
	Prewarm           Reason = "Prewarm"           // a prewarm window holds an action at a value: set it
	PrewarmEnd        Reason = "PrewarmEnd"        // the prewarm window is over and the risk passed: restore the value it replaced
	Frozen            Reason = "Frozen"            // a freeze window: no action starts (nor reverts, unless allowed)
	Planned           Reason = "Planned"           // mode plan: the plan of least expected cost engages actions (and may revert others)
	PlanDeferred      Reason = "PlanDeferred"      // mode plan: the best plan adds actions, but engaging them a step later costs no more
	Hindsight         Reason = "Hindsight"         // mode oracle: the change the whole load and the plant's noise call for
	ActionInFlight    Reason = "ActionInFlight"    // an actuator call of an earlier decision has not returned: nothing is decided until it does
)

// Reasons lists every reason code.
var Reasons = []Reason{Disabled, NoData, ReactiveFloor, Escalate, BreachNotImminent, Settling,
	Cooldown, PlaybookExhausted, AtBound, Holding, RevertPending, Revert, Steady, Learning, Provisioned, Imminent,
	Prewarm, PrewarmEnd, Frozen, Planned, PlanDeferred, Hindsight, ActionInFlight}

// Step is one action of a playbook as the policy sees it.
type Step struct {
	Name        string
	Warmup      time.Duration // how long the action takes to help
	Margin      time.Duration // engage when the breach is at most Warmup+Margin away; 0 means one interval
	Cooldown    time.Duration // least time between two changes of this action
	RevertAfter time.Duration // how long the risk must stay below clear before reverting
	Min, Max    float64       // bounds of the knob
	Baseline    float64       // the knob's value when not engaged, if it cannot be read
	Engaged     float64       // the wished value when engaged
	// CostPerMinute is the action's price per minute per unit of its
	// value away from Baseline; CapacityGain its declared gain in the
	// load the service takes (0: none declared). The planner uses both.
	CostPerMinute, CapacityGain float64
}

// Reach is how far ahead a forecast breach engages the step: its warm-up
// plus its margin (one interval when the margin is 0).
func (st Step) Reach(interval time.Duration) time.Duration {
	margin := st.Margin
	if margin <= 0 {
		margin = interval
	}
	return st.Warmup + margin
}

// Settings is a service's policy configuration.
type Settings struct {
	Mode     Mode
	Trigger  float64       // risk at or above which to escalate
	Clear    float64       // risk below which the risk has passed
	Interval time.Duration // control interval
	Playbook []Step
	// IncidentCost is what one incident costs, in the unit of the steps'
	// CostPerMinute: the planner's trade.
	IncidentCost float64
}

// Input is what the controller saw this step.
type Input struct {
	// DataOK is false when a signal the decision needs is missing, stale or NaN.
	DataOK bool
	// Firing reports an incident in progress (the incident pattern holds).
	Firing bool
	// Imminent reports an incident under way but not yet an incident
	// (Underway.Imminent, the rule): the predictive policy engages on it
	// without waiting for the forecast's time to breach, the breach has
	// begun. The planner starts its plan from it instead (PlanInput.Run
	// and Floor).
	Imminent bool
	// Risk is the breach risk at the playbook's current level, and
	// TimeToBreach when it first crosses the trigger (negative: never).
	Risk         float64
	TimeToBreach time.Duration
	// LevelKnown reports whether the risk at the current level rests on
	// what that level was seen to take; when it does not (an action just
	// engaged for the first time), the forecast does not escalate further.
	LevelKnown bool
	// RiskBelow is the breach risk one level down, had the last engaged
	// action been reverted; it decides reverts (below Clear for the
	// action's RevertAfter). The controller gives 1 while the load now is
	// at or above what that level takes, and otherwise, in predictive
	// mode, the share of sample paths that breach there within the
	// action's Reach: the time in which the forecast would engage it again.
	RiskBelow float64
	// Current holds the knob value of each playbook step as read from its
	// target; NaN where it cannot be read (the Step's Baseline is used).
	Current []float64
	// Prewarm holds, per playbook step, the value an active prewarm window
	// holds the step at (at least: further from its baseline is fine); NaN
	// where no window holds it. nil when no prewarm window is active.
	Prewarm []float64
	// Frozen reports an active freeze window: no action starts.
	// AllowRevert lets reverts that restore the replaced values go ahead
	// during it.
	Frozen      bool
	AllowRevert bool
	// Windows names the active prewarm and freeze windows, for messages.
	Windows string
	// Plan is what the planner needs (mode plan); nil in the other modes,
	// and before the forecast signal has been read.
	Plan *PlanInput
	// Terse leaves the Message of a decision that changes nothing empty:
	// a replay keeps the messages of changes only, and formatting one at
	// every step was a twentieth of its time.
	Terse bool
}

// Underway is what the Imminent rule reads: the incident pattern under
// way, and the load against what the engaged actions were seen to take.
type Underway struct {
	// Run is the samples in a row above the latency threshold now, K the
	// pattern's samples; a Run of K or more is an incident in progress,
	// not one under way.
	Run, K int
	// Load is the forecast signal now, RunLoad its mean over the K−1 last
	// samples (the run's), Level what the engaged actions were seen to
	// take (+Inf while unknown).
	Load, RunLoad, Level float64
}

// Imminent is the rule for an incident under way: the latency has been
// above the threshold for K−1 samples, one short of the incident
// pattern, at a load the engaged actions were seen not to take. Acting on
// the first sample above would engage on every noisy spike; one short of
// K still leaves a fast action (the queue acts on the next step) time to
// keep the K-th sample under. The load is the current sample's or the
// mean over the run's samples: an overload's backlog outlasts it, so a
// one-minute spike far above the level keeps the latency up for minutes
// after the load is back under. docs/evaluation.md measures the choices.
func (u Underway) Imminent() bool {
	return u.Run > 0 && u.Run < u.K && u.Run >= u.K-1 && (u.Load >= u.Level || u.RunLoad >= u.Level)
}

// Beneath is what the revert rule reads of the playbook level one down
// (had the last engaged action been reverted).
type Beneath struct {
	// Load is the forecast signal now; Level what the level one down was
	// seen to take (+Inf while unknown, NaN when the service forecasts its
	// latency, where the latency itself is the test).
	Load, Level float64
	// LatencyAbove reports the latency above the threshold now.
	LatencyAbove bool
}

// Holds reports whether the level one down would breach now: the load is
// at or above what it was seen to take, or, while that is not known (or
// the service forecasts its latency), the latency is above the threshold.
// An action is not reverted while it holds (reactive always; predictive
// with forecast.revert reach, before its forecast has its say).
func (b Beneath) Holds() bool {
	if math.IsNaN(b.Level) || math.IsInf(b.Level, 1) {
		return b.LatencyAbove
	}
	return b.Load >= b.Level
}

// Engagement records one engaged action and the value it replaced.
type Engagement struct {
	Step     int       `json:"step"`      // index in the playbook
	From     float64   `json:"from"`      // the value replaced, restored on revert
	To       float64   `json:"to"`        // the value set
	At       time.Time `json:"at"`        // when it was engaged
	NoChange bool      `json:"no_change"` // engaged at bound: nothing was applied
}

// State is a service's policy state. The zero value is nothing engaged.
type State struct {
	// Engaged is the stack of engaged actions in playbook order.
	Engaged []Engagement `json:"engaged"`
	// Changed is when each step last changed, by step name.
	Changed map[string]time.Time `json:"changed,omitempty"`
	// ClearSince is when the risk one level down last went below clear;
	// zero when it is not below clear.
	ClearSince time.Time `json:"clear_since"`
	// Prewarmed holds the steps a prewarm window set and no engagement of
	// the stack owns, with the value each replaced (From, restored when it
	// is released) and the value set. Outside the playbook order: a
	// prewarm holds any step. When the forecast engages a prewarmed step,
	// the stack takes it over, From included.
	Prewarmed []Engagement `json:"prewarmed,omitempty"`
	// PrewarmClearSince is when the risk at the current level last went
	// below clear with a prewarmed step no window holds any more; zero
	// otherwise.
	PrewarmClearSince time.Time `json:"prewarm_clear_since,omitzero"`
	// PlanClearSince is, in mode plan, when the plans without each engaged
	// step (by index) began to be the best, for the steps the best plan
	// leaves out; the step is reverted once that is its revert_after ago.
	// Not kept in the state file: after a restart the window starts anew.
	PlanClearSince map[int]time.Time `json:"-"`
}

// Level returns the number of engaged actions.
func (s State) Level() int { return len(s.Engaged) }

// clone returns a copy of s whose slices a Decision may change without
// touching s's. Changed is shared, not copied (copying it at every step was
// 6% of a replay's time): it is copied on write, by setChanged, so a
// Decision still never changes its input.
func (s State) clone() State {
	out := State{ClearSince: s.ClearSince, PrewarmClearSince: s.PrewarmClearSince, Changed: s.Changed,
		PlanClearSince: s.PlanClearSince}
	out.Engaged = append([]Engagement(nil), s.Engaged...)
	if len(s.Prewarmed) > 0 {
		out.Prewarmed = append([]Engagement(nil), s.Prewarmed...)
	}
	return out
}

// setChanged records that the named step changed at t, in a new map: the
// old one may be shared with the state the decision started from.
func (s *State) setChanged(name string, t time.Time) {
	m := make(map[string]time.Time, len(s.Changed)+1)
	for k, v := range s.Changed {
		m[k] = v
	}
	m[name] = t
	s.Changed = m
}

// Change is a change of one knob that a Decision asks for.
type Change struct {
	Step   int     // index in the playbook
	Name   string  // the step's name
	Revert bool    // true: revert, false: engage
	From   float64 // the value replaced
	Wish   float64 // the uncapped wish
	To     float64 // the capped value to set
}

// Decision is the outcome of Decide.
type Decision struct {
	Reason  Reason
	Message string
	// Changes are the knob changes to apply, in order; none when nothing
	// is to be applied. The rule policies change one knob at a time; the
	// planner may change several at once.
	Changes []Change
	Next    State // the state once Changes (if any) are applied
	// Risk and TimeToBreach are, in mode plan, the planner's incident risk
	// and time to breach with the engaged actions (the share of sample
	// paths with an incident under their breach levels, and when that
	// share first reaches the trigger; negative: never). The other modes
	// take them as given (Input).
	Risk         float64
	TimeToBreach time.Duration
}

// Decide returns what to do at now given the input and the state. It is pure.
//
// Schedules come first: a prewarm window sets the steps it holds (one per
// decision, whatever the data, the forecast or the cooldown say: a
// prewarm starts on time), then the usual decision runs, except that no
// step goes below a value a prewarm window holds it at. During a freeze
// window, every decision but an allowed revert is held back as Frozen.
func Decide(s Settings, in Input, st State, now time.Time) Decision {
	d := decide(s, in, st, now)
	if in.Frozen && s.Mode != None {
		return freeze(in, st, d)
	}
	return d
}

func decide(s Settings, in Input, st State, now time.Time) Decision {
	next := st.clone()
	d := Decision{Next: next}
	if s.Mode == None {
		d.Reason, d.Message = Disabled, "policy none never acts"
		return d
	}
	if !in.Frozen {
		if pd, ok := prewarm(s, in, d, now); ok {
			return pd
		}
	}
	switch {
	case !in.DataOK:
		d.Reason, d.Message = NoData, "a needed signal is missing, stale or NaN: no action, no revert"
		return d
	}
	if s.Mode == Static {
		return provision(s, in, d, now)
	}
	if s.Mode == Plan {
		return plan(s, in, d, now)
	}

	imminent := s.Mode.Forecasts() && in.Imminent && !in.Firing
	forecastHigh := s.Mode.Forecasts() && in.Risk >= s.Trigger && !in.Firing && !imminent
	if in.Firing || imminent || forecastHigh {
		d.Next.ClearSince = time.Time{}
		return escalate(s, in, d, now, forecastHigh, imminent)
	}

	if rd, ok := release(s, in, d, now); ok {
		return rd
	}
	if st.Level() == 0 {
		d.Next.ClearSince = time.Time{}
		d.Reason = Steady
		switch {
		case in.Terse:
		case s.Mode == Reactive:
			d.Message = "nothing engaged; no incident in progress"
		default:
			d.Message = fmt.Sprintf("nothing engaged; risk %.2f below trigger %.2f", in.Risk, s.Trigger)
		}
		return d
	}
	return revert(s, in, d, now)
}

// escalate engages the next action: on an incident in progress (the
// reactive floor), on one under way (imminent) or on the forecast
// (predictive), which alone waits for the time to breach and a learned
// level.
func escalate(s Settings, in Input, d Decision, now time.Time, predictive, imminent bool) Decision {
	st := d.Next
	i := st.Level()
	if i >= len(s.Playbook) {
		d.Reason = PlaybookExhausted
		if !in.Terse {
			d.Message = fmt.Sprintf("all %d actions engaged", len(s.Playbook))
		}
		return d
	}
	step := s.Playbook[i]
	if reach := step.Reach(s.Interval); predictive && (in.TimeToBreach < 0 || in.TimeToBreach > reach) {
		d.Reason = BreachNotImminent
		if !in.Terse {
			d.Message = fmt.Sprintf("risk %.2f ≥ trigger but breach in %s, beyond %s's warm-up %s + %s",
				in.Risk, fmtTTB(in.TimeToBreach), step.Name, step.Warmup, reach-step.Warmup)
		}
		return d
	}
	if predictive && !in.LevelKnown {
		d.Reason = Learning
		if !in.Terse {
			d.Message = fmt.Sprintf("risk %.2f ≥ trigger, but what the %d engaged action(s) can take is not learned yet: escalating on an incident only", in.Risk, st.Level())
		}
		return d
	}
	if i > 0 {
		last := st.Engaged[i-1]
		if ready := last.At.Add(s.Playbook[last.Step].Warmup); !last.NoChange && now.Before(ready) {
			d.Reason = Settling
			if !in.Terse {
				d.Message = fmt.Sprintf("%s warming up until %s", s.Playbook[last.Step].Name, ready.Format(time.RFC3339))
			}
			return d
		}
	}
	if t, ok := st.Changed[step.Name]; ok && now.Sub(t) < step.Cooldown {
		d.Reason = Cooldown
		if !in.Terse {
			d.Message = fmt.Sprintf("%s changed %s ago, cooldown %s", step.Name, now.Sub(t), step.Cooldown)
		}
		return d
	}
	wish := step.Engaged
	from, to, e := engage(s, in, &d.Next, i, now)
	if to == from && e.From != from {
		// A prewarmed step taken over at its value: the stack now owns
		// restoring what the prewarm replaced.
		d.Next.Engaged = append(d.Next.Engaged, e)
		d.Reason = AtBound
		d.Message = fmt.Sprintf("%s already at %g, held by a prewarm: engaged with no change, reverts to %g", step.Name, from, e.From)
		return d
	}
	if to == from {
		e.NoChange = true // a prewarm that replaced this very value
		d.Next.Engaged = append(d.Next.Engaged, e)
		d.Reason = AtBound
		d.Message = fmt.Sprintf("%s already at %g (wish %g, bounds [%g, %g]): engaged with no change", step.Name, from, wish, step.Min, step.Max)
		return d
	}
	d.Next.Engaged = append(d.Next.Engaged, e)
	d.Next.setChanged(step.Name, now)
	d.Changes = []Change{{Step: i, Name: step.Name, From: from, Wish: wish, To: to}}
	switch {
	case predictive:
		d.Reason = Escalate
		d.Message = fmt.Sprintf("risk %.2f ≥ trigger %.2f, breach in %s ≤ warm-up %s + %s: %s %g → %g",
			in.Risk, s.Trigger, fmtTTB(in.TimeToBreach), step.Warmup, step.Reach(s.Interval)-step.Warmup, step.Name, from, to)
	case imminent:
		d.Reason = Imminent
		d.Message = fmt.Sprintf("latency above the threshold at a load the current level does not take: %s %g → %g", step.Name, from, to)
	default:
		d.Reason = ReactiveFloor
		d.Message = fmt.Sprintf("incident in progress: %s %g → %g", step.Name, from, to)
	}
	if to != wish {
		d.Message += fmt.Sprintf(" (wish %g capped to [%g, %g])", wish, step.Min, step.Max)
	}
	return d
}

// provision engages the next action of the playbook at once (static
// over-provisioning), ignoring forecast, warm-up and cooldown; once all are
// engaged it keeps them.
func provision(s Settings, in Input, d Decision, now time.Time) Decision {
	i := d.Next.Level()
	d.Reason = Provisioned
	if i >= len(s.Playbook) {
		d.Message = fmt.Sprintf("all %d actions engaged and kept", len(s.Playbook))
		return d
	}
	step := s.Playbook[i]
	from, to, e := engage(s, in, &d.Next, i, now)
	d.Next.Engaged = append(d.Next.Engaged, e)
	d.Message = fmt.Sprintf("static provisioning: %s %g → %g", step.Name, from, to)
	if to != from {
		d.Changes = []Change{{Step: i, Name: step.Name, From: from, Wish: step.Engaged, To: to}}
	}
	return d
}

func revert(s Settings, in Input, d Decision, now time.Time) Decision {
	st := d.Next
	top := st.Engaged[st.Level()-1]
	step := s.Playbook[top.Step]
	if in.RiskBelow >= s.Clear {
		d.Next.ClearSince = time.Time{}
		d.Reason = Holding
		if !in.Terse {
			d.Message = fmt.Sprintf("%d engaged; risk without %s %.2f ≥ clear %.2f", st.Level(), step.Name, in.RiskBelow, s.Clear)
		}
		return d
	}
	if st.ClearSince.IsZero() {
		d.Next.ClearSince = now
	}
	if since := now.Sub(d.Next.ClearSince); since < step.RevertAfter {
		d.Reason = RevertPending
		if !in.Terse {
			d.Message = fmt.Sprintf("risk without %s %.2f below clear for %s of %s", step.Name, in.RiskBelow, since, step.RevertAfter)
		}
		return d
	}
	if t, ok := st.Changed[step.Name]; ok && !top.NoChange && now.Sub(t) < step.Cooldown {
		d.Reason = Cooldown
		if !in.Terse {
			d.Message = fmt.Sprintf("%s changed %s ago, cooldown %s", step.Name, now.Sub(t), step.Cooldown)
		}
		return d
	}
	d.Next.Engaged = d.Next.Engaged[:st.Level()-1]
	d.Next.ClearSince = time.Time{}
	d.Reason = Revert
	if v, ok := floor(s, in, top.Step); ok && further(step, top.From, v) != top.From {
		// A prewarm window holds the step above what it replaced: go back
		// to the window's value only, and let the prewarm own the rest.
		d.Next.Prewarmed = append(d.Next.Prewarmed, Engagement{Step: top.Step, From: top.From, To: v, At: now})
		d.Message = fmt.Sprintf("risk without %s below clear %.2f for %s: %s back to the prewarm's %g (%s)", step.Name, s.Clear, step.RevertAfter, step.Name, v, in.Windows)
		if top.To == v {
			return d
		}
		d.Next.setChanged(step.Name, now)
		d.Changes = []Change{{Step: top.Step, Name: step.Name, Revert: true, From: top.To, Wish: v, To: v}}
		return d
	}
	if top.NoChange {
		d.Message = fmt.Sprintf("risk passed: %s released (it had made no change)", step.Name)
		return d
	}
	d.Next.setChanged(step.Name, now)
	d.Changes = []Change{{Step: top.Step, Name: step.Name, Revert: true, From: top.To, Wish: top.From, To: top.From}}
	d.Message = fmt.Sprintf("risk without %s below clear %.2f for %s: %s %g → %g", step.Name, s.Clear, step.RevertAfter, step.Name, top.To, top.From)
	return d
}

// Undo returns next as it would be had change c of the decision that
// made it from prev not been applied (its actuator failed): c's step is
// engaged, prewarmed and last changed as in prev; the decision's other
// changes stay. Engagements keep the order they have in next, c's step
// (when prev engaged it) in playbook order among them.
func Undo(prev, next State, c Change) State {
	out := next.clone()
	drop := func(e Engagement) bool { return e.Step == c.Step }
	out.Engaged = slices.DeleteFunc(out.Engaged, drop)
	out.Prewarmed = slices.DeleteFunc(out.Prewarmed, drop)
	for _, e := range prev.Engaged {
		if e.Step == c.Step {
			k := 0
			for k < len(out.Engaged) && out.Engaged[k].Step < c.Step {
				k++
			}
			out.Engaged = slices.Insert(out.Engaged, k, e)
		}
	}
	for _, e := range prev.Prewarmed {
		if e.Step == c.Step {
			out.Prewarmed = append(out.Prewarmed, e)
		}
	}
	if t, ok := prev.Changed[c.Name]; ok {
		out.setChanged(c.Name, t)
	} else if _, ok := out.Changed[c.Name]; ok {
		m := maps.Clone(out.Changed)
		delete(m, c.Name)
		out.Changed = m
	}
	return out
}

func fmtTTB(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.String()
}

// current returns step i's value: as read, else as the state set it, else
// its baseline.
func current(s Settings, in Input, st State, i int) float64 {
	if i < len(in.Current) && !math.IsNaN(in.Current[i]) {
		return in.Current[i]
	}
	for _, e := range st.Engaged {
		if e.Step == i {
			return e.To
		}
	}
	for _, e := range st.Prewarmed {
		if e.Step == i {
			return e.To
		}
	}
	return s.Playbook[i].Baseline
}

// engage returns the engagement of step i by the stack: from, the step's
// value now; to, its engaged value within its bounds and never below a
// prewarm's value; and e from from to to at now (NoChange when they are
// equal), except that when a prewarm holds the step, e.From is the value
// the prewarm replaced (the stack takes it over, and it is removed from
// next.Prewarmed).
func engage(s Settings, in Input, next *State, i int, now time.Time) (from, to float64, e Engagement) {
	step := s.Playbook[i]
	from = current(s, in, *next, i)
	to = math.Min(math.Max(step.Engaged, step.Min), step.Max)
	if v, ok := floor(s, in, i); ok {
		to = further(step, to, v) // never below a prewarm's value
	}
	e = Engagement{Step: i, From: from, To: to, At: now, NoChange: to == from}
	for k, p := range next.Prewarmed {
		if p.Step == i {
			next.Prewarmed = append(next.Prewarmed[:k:k], next.Prewarmed[k+1:]...)
			e.From, e.NoChange = p.From, false
			break
		}
	}
	return from, to, e
}
