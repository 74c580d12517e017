package policy

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func settings(mode Mode) Settings {
	return Settings{
		Mode: mode, Trigger: 0.5, Clear: 0.2, Interval: time.Minute,
		Playbook: []Step{
			{Name: "queue", Warmup: time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute, Min: 0, Max: 1, Baseline: 0, Engaged: 1},
			{Name: "replicas", Warmup: 5 * time.Minute, Margin: 5 * time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute, Min: 0, Max: 3, Baseline: 0, Engaged: 5},
			{Name: "cpu", Warmup: 2 * time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute, Min: 0.4, Max: 1, Baseline: 1, Engaged: 0.5},
		},
	}
}

func engaged(steps ...int) State {
	st := State{Changed: map[string]time.Time{}}
	names := []string{"queue", "replicas", "cpu"}
	tos := []float64{1, 3, 0.5}
	froms := []float64{0, 0, 1}
	for _, i := range steps {
		st.Engaged = append(st.Engaged, Engagement{Step: i, From: froms[i], To: tos[i], At: at(-60)})
		st.Changed[names[i]] = at(-60)
	}
	return st
}

func TestDecide(t *testing.T) {
	nan := math.NaN()
	ok := Input{DataOK: true, Risk: 0, TimeToBreach: -1, RiskBelow: 0}
	risky := Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, RiskBelow: 0.8, LevelKnown: true}
	tests := []struct {
		name     string
		mode     Mode
		in       Input
		st       State
		now      time.Time
		reason   Reason
		change   *Change
		level    int // level after the decision
		clearSet bool
	}{
		{name: "none never acts", mode: None, in: Input{DataOK: true, Firing: true, Risk: 1}, reason: Disabled},
		{name: "missing data: no action", mode: Predictive, in: Input{DataOK: false, Firing: true, Risk: 1}, reason: NoData},
		{name: "missing data: no revert", mode: Predictive, in: Input{DataOK: false, RiskBelow: 0}, st: engaged(0), reason: NoData, level: 1},
		{name: "steady", mode: Predictive, in: ok, reason: Steady},
		{name: "static engages at once", mode: Static, in: ok, st: engaged(0), reason: Provisioned,
			change: &Change{Step: 1, Name: "replicas", From: 0, Wish: 5, To: 3}, level: 2},
		{name: "static keeps everything", mode: Static, in: ok, st: engaged(0, 1, 2), reason: Provisioned, level: 3},
		{name: "reactive steady despite risk", mode: Reactive, in: risky, reason: Steady},
		{name: "escalate", mode: Predictive, in: risky, reason: Escalate,
			change: &Change{Step: 0, Name: "queue", From: 0, Wish: 1, To: 1}, level: 1},
		{name: "escalate reads current value", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, LevelKnown: true, Current: []float64{nan, 1, 1}},
			st: engaged(0), reason: Escalate, change: &Change{Step: 1, Name: "replicas", From: 1, Wish: 5, To: 3}, level: 2},
		{name: "learning the engaged level", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute}, st: engaged(0), reason: Learning, level: 1},
		{name: "margin widens the window", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: 10 * time.Minute, LevelKnown: true},
			st: engaged(0), reason: Escalate, change: &Change{Step: 1, Name: "replicas", From: 0, Wish: 5, To: 3}, level: 2},
		{name: "breach not imminent", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: 10 * time.Minute}, reason: BreachNotImminent},
		{name: "breach time unknown", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: -1}, reason: BreachNotImminent},
		{name: "reactive floor ignores forecast", mode: Reactive, in: Input{DataOK: true, Firing: true, TimeToBreach: -1}, reason: ReactiveFloor,
			change: &Change{Step: 0, Name: "queue", From: 0, Wish: 1, To: 1}, level: 1},
		{name: "reactive floor in predictive mode", mode: Predictive, in: Input{DataOK: true, Firing: true, Risk: 0, TimeToBreach: -1}, reason: ReactiveFloor,
			change: &Change{Step: 0, Name: "queue", From: 0, Wish: 1, To: 1}, level: 1},
		{name: "imminent engages without waiting for the forecast", mode: Predictive, in: Input{DataOK: true, Imminent: true, TimeToBreach: -1},
			st: engaged(0), reason: Imminent, change: &Change{Step: 1, Name: "replicas", From: 0, Wish: 5, To: 3}, level: 2},
		{name: "reactive ignores imminent", mode: Reactive, in: Input{DataOK: true, Imminent: true, TimeToBreach: -1}, reason: Steady},
		{name: "imminent waits for the last action's warm-up", mode: Predictive, in: Input{DataOK: true, Imminent: true, TimeToBreach: -1},
			st: State{Engaged: []Engagement{{Step: 0, From: 0, To: 1, At: at(0)}}}, now: at(0).Add(30 * time.Second), reason: Settling, level: 1},
		{name: "settling after engagement", mode: Predictive, in: Input{DataOK: true, Firing: true},
			st: State{Engaged: []Engagement{{Step: 0, From: 0, To: 1, At: at(0)}}}, now: at(0).Add(30 * time.Second), reason: Settling, level: 1},
		{name: "cooldown on engage", mode: Predictive, in: risky,
			st: State{Changed: map[string]time.Time{"queue": at(-2)}}, now: at(0), reason: Cooldown},
		{name: "playbook exhausted", mode: Predictive, in: risky, st: engaged(0, 1, 2), reason: PlaybookExhausted, level: 3},
		{name: "at bound", mode: Predictive, in: Input{DataOK: true, Firing: true, Current: []float64{1}}, reason: AtBound, level: 1},
		{name: "holding", mode: Predictive, in: Input{DataOK: true, Risk: 0.3, RiskBelow: 0.3}, st: engaged(0), reason: Holding, level: 1},
		{name: "revert pending", mode: Predictive, in: ok, st: engaged(0, 1), reason: RevertPending, level: 2, clearSet: true},
		{name: "revert last first", mode: Predictive, in: ok,
			st: func() State { s := engaged(0, 1); s.ClearSince = at(-15); return s }(), reason: Revert,
			change: &Change{Step: 1, Name: "replicas", Revert: true, From: 3, Wish: 0, To: 0}, level: 1},
		{name: "cooldown on revert", mode: Predictive, in: ok,
			st: func() State { s := engaged(0); s.ClearSince = at(-20); s.Changed["queue"] = at(-1); return s }(), reason: Cooldown, level: 1, clearSet: true},
		{name: "reactive revert", mode: Reactive, in: ok,
			st: func() State { s := engaged(0); s.ClearSince = at(-15); return s }(), reason: Revert,
			change: &Change{Step: 0, Name: "queue", Revert: true, From: 1, Wish: 0, To: 0}},
		{name: "prewarm sets a step out of order", mode: Predictive, in: Input{DataOK: true, TimeToBreach: -1, Prewarm: []float64{nan, 2, nan}, Windows: "sale"},
			reason: Prewarm, change: &Change{Step: 1, Name: "replicas", From: 0, Wish: 2, To: 2}},
		{name: "prewarm needs no data and no forecast", mode: Reactive, in: Input{DataOK: false, Prewarm: []float64{nan, 5}},
			reason: Prewarm, change: &Change{Step: 1, Name: "replicas", From: 0, Wish: 5, To: 3}},
		{name: "prewarm ignores cooldown", mode: Predictive, in: Input{DataOK: true, Prewarm: []float64{1}},
			st: State{Changed: map[string]time.Time{"queue": at(-1)}}, reason: Prewarm, change: &Change{Step: 0, Name: "queue", From: 0, Wish: 1, To: 1}},
		{name: "prewarm raises an engaged step", mode: Predictive, in: Input{DataOK: true, RiskBelow: 0.8, Prewarm: []float64{nan, nan, 0.4}},
			st: engaged(0, 1, 2), reason: Prewarm, change: &Change{Step: 2, Name: "cpu", From: 0.5, Wish: 0.4, To: 0.4}, level: 3},
		{name: "prewarm in place: the usual decision", mode: Predictive, in: Input{DataOK: true, TimeToBreach: -1, Prewarm: []float64{nan, 2}, Current: []float64{0, 2, 1}},
			st: State{Prewarmed: []Engagement{{Step: 1, From: 0, To: 2}}}, reason: Steady},
		{name: "none ignores prewarm", mode: None, in: Input{DataOK: true, Prewarm: []float64{1}}, reason: Disabled},
		{name: "escalate takes a prewarmed step over at its value", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, LevelKnown: true},
			st: State{Prewarmed: []Engagement{{Step: 0, From: 0, To: 1}}}, reason: AtBound, level: 1},
		{name: "escalate above a prewarm's value", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, LevelKnown: true, Prewarm: []float64{nan, 2}},
			st:     func() State { s := engaged(0); s.Prewarmed = []Engagement{{Step: 1, From: 0, To: 2}}; return s }(),
			reason: Escalate, change: &Change{Step: 1, Name: "replicas", From: 2, Wish: 5, To: 3}, level: 2},
		{name: "revert stops at the prewarm's value", mode: Predictive, in: Input{DataOK: true, TimeToBreach: -1, Prewarm: []float64{nan, 2}},
			st: func() State { s := engaged(0, 1); s.ClearSince = at(-15); return s }(), reason: Revert,
			change: &Change{Step: 1, Name: "replicas", Revert: true, From: 3, Wish: 2, To: 2}, level: 1},
		{name: "prewarm over, risk passed: restore", mode: Predictive, in: ok,
			st: State{Prewarmed: []Engagement{{Step: 1, From: 0, To: 2}}, PrewarmClearSince: at(-15)}, reason: PrewarmEnd,
			change: &Change{Step: 1, Name: "replicas", Revert: true, From: 2, Wish: 0, To: 0}},
		{name: "prewarm over, risk high: hold", mode: Predictive, in: Input{DataOK: true, Risk: 0.3, TimeToBreach: -1},
			st: State{Prewarmed: []Engagement{{Step: 1, From: 0, To: 2}}, PrewarmClearSince: at(-15)}, reason: Holding},
		{name: "prewarm over: wait the revert window", mode: Predictive, in: ok,
			st: State{Prewarmed: []Engagement{{Step: 1, From: 0, To: 2}}}, reason: RevertPending},
		{name: "frozen: no escalation", mode: Predictive, in: Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, LevelKnown: true, Frozen: true}, reason: Frozen},
		{name: "frozen: no reactive floor", mode: Reactive, in: Input{DataOK: true, Firing: true, Frozen: true, AllowRevert: true}, reason: Frozen},
		{name: "frozen: no prewarm", mode: Predictive, in: Input{DataOK: true, Prewarm: []float64{1}, Frozen: true}, reason: Frozen},
		{name: "frozen: quiet steps say so too", mode: Predictive, in: Input{DataOK: true, Frozen: true}, reason: Frozen},
		{name: "frozen: revert held back", mode: Predictive, in: Input{DataOK: true, Frozen: true},
			st: func() State { s := engaged(0); s.ClearSince = at(-15); return s }(), reason: Frozen, level: 1, clearSet: true},
		{name: "frozen: revert allowed", mode: Predictive, in: Input{DataOK: true, Frozen: true, AllowRevert: true},
			st: func() State { s := engaged(0); s.ClearSince = at(-15); return s }(), reason: Revert,
			change: &Change{Step: 0, Name: "queue", Revert: true, From: 1, Wish: 0, To: 0}},
		{name: "frozen: prewarm release allowed", mode: Predictive, in: Input{DataOK: true, Frozen: true, AllowRevert: true},
			st: State{Prewarmed: []Engagement{{Step: 1, From: 0, To: 2}}, PrewarmClearSince: at(-15)}, reason: PrewarmEnd,
			change: &Change{Step: 1, Name: "replicas", Revert: true, From: 2, Wish: 0, To: 0}},
		{name: "release at-bound engagement", mode: Predictive, in: ok,
			st: State{Engaged: []Engagement{{Step: 0, From: 1, To: 1, At: at(-1), NoChange: true}}, ClearSince: at(-15)}, reason: Revert},
	}
	seen := map[Reason]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = at(0)
			}
			before := tt.st.clone()
			d := Decide(settings(tt.mode), tt.in, tt.st, now)
			seen[d.Reason] = true
			if d.Reason != tt.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tt.reason)
			}
			if d.Message == "" {
				t.Errorf("empty message")
			}
			switch {
			case tt.change == nil && len(d.Changes) != 0:
				t.Errorf("changes = %+v, want none", d.Changes)
			case tt.change != nil && len(d.Changes) != 1:
				t.Errorf("no change, want %+v", *tt.change)
			case tt.change != nil && d.Changes[0] != *tt.change:
				t.Errorf("change = %+v, want %+v", d.Changes[0], *tt.change)
			}
			if got := d.Next.Level(); got != tt.level {
				t.Errorf("level = %d, want %d", got, tt.level)
			}
			if got := !d.Next.ClearSince.IsZero(); got != tt.clearSet {
				t.Errorf("clear since set = %v, want %v", got, tt.clearSet)
			}
			if len(before.Engaged) != len(tt.st.Engaged) {
				t.Errorf("Decide changed its input state")
			}
		})
	}
	for _, r := range Reasons {
		if !seen[r] && !planReasons[r] && r != Hindsight && r != ActionInFlight { // Hindsight is the replay's oracle's, ActionInFlight the controller's, never Decide's
			t.Errorf("no test case covers reason %s", r)
		}
	}
}

// TestEscalateAndRevertSequence walks a playbook up and down.
func TestEscalateAndRevertSequence(t *testing.T) {
	s := settings(Predictive)
	var st State
	risky := Input{DataOK: true, Risk: 0.9, TimeToBreach: time.Minute, RiskBelow: 0.9, LevelKnown: true}
	var got []string
	for m := 0; m < 90; m++ {
		in := risky
		if m >= 20 {
			in = Input{DataOK: true, Risk: 0, TimeToBreach: -1, RiskBelow: 0}
		}
		d := Decide(s, in, st, at(m))
		for _, c := range d.Changes {
			op := "+"
			if c.Revert {
				op = "-"
			}
			got = append(got, op+c.Name)
		}
		st = d.Next
	}
	want := []string{"+queue", "+replicas", "+cpu", "-cpu", "-replicas", "-queue"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

// TestTerse runs the escalate-and-revert sequence twice, with and without
// Input.Terse: the decisions are the same, and the terse messages are
// empty exactly for the decisions that change nothing.
func TestTerse(t *testing.T) {
	for _, mode := range []Mode{Predictive, Reactive} {
		s := settings(mode)
		var st, stTerse State
		risky := Input{DataOK: true, Firing: true, Risk: 0.9, TimeToBreach: time.Minute, RiskBelow: 0.9, LevelKnown: true}
		changes, quiet := 0, 0
		for m := 0; m < 90; m++ {
			in := risky
			if m >= 20 {
				in = Input{DataOK: true, Risk: 0, TimeToBreach: -1, RiskBelow: 0}
			}
			d := Decide(s, in, st, at(m))
			in.Terse = true
			dt := Decide(s, in, stTerse, at(m))
			if d.Reason != dt.Reason || !engagedSame(d.Next, dt.Next) || len(d.Changes) != len(dt.Changes) {
				t.Fatalf("%s minute %d: terse decision %s %+v, full %s %+v", mode, m, dt.Reason, dt.Changes, d.Reason, d.Changes)
			}
			if d.Message == "" {
				t.Fatalf("%s minute %d: %s without a message", mode, m, d.Reason)
			}
			switch {
			case len(d.Changes) != 0 && dt.Message != d.Message:
				t.Errorf("%s minute %d: terse message of a change %q, want %q", mode, m, dt.Message, d.Message)
			case len(d.Changes) == 0 && dt.Message != "":
				t.Errorf("%s minute %d: terse message of %s %q, want none", mode, m, dt.Reason, dt.Message)
			}
			if len(d.Changes) != 0 {
				changes++
			} else {
				quiet++
			}
			st, stTerse = d.Next, dt.Next
		}
		if changes == 0 || quiet == 0 {
			t.Fatalf("%s: %d changes and %d other decisions: the sequence tests nothing", mode, changes, quiet)
		}
	}
}

func engagedSame(a, b State) bool {
	return slices.Equal(a.Engaged, b.Engaged) && slices.Equal(a.Prewarmed, b.Prewarmed)
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{None, Reactive, Predictive, Static} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("aggressive"); err == nil {
		t.Error("ParseMode(aggressive): no error")
	}
}

// TestPrewarmWindow walks a prewarm window with a risky spell inside it and
// after it: the window's value holds during the window whatever the
// forecast, the forecast adds on top, and after the window the usual
// revert rule brings everything back to what it replaced.
func TestPrewarmWindow(t *testing.T) {
	s := settings(Predictive)
	var st State
	var got []string
	replicas := 0.0
	for m := 0; m < 150; m++ {
		in := Input{DataOK: true, TimeToBreach: -1}
		if m >= 10 && m < 100 {
			in.Prewarm, in.Windows = []float64{math.NaN(), 2, math.NaN()}, "sale"
		}
		if m >= 30 && m < 40 {
			in.Risk, in.RiskBelow, in.TimeToBreach, in.LevelKnown = 0.9, 0.9, time.Minute, true
		}
		d := Decide(s, in, st, at(m))
		for _, c := range d.Changes {
			op := "+"
			if c.Revert {
				op = "-"
			}
			got = append(got, fmt.Sprintf("%d%s%s=%g", m, op, c.Name, c.To))
			if c.Name == "replicas" {
				replicas = c.To
			}
		}
		if m >= 10 && m < 100 && replicas < 2 {
			t.Fatalf("minute %d: replicas %g below the prewarm's 2 (%s: %s)", m, replicas, d.Reason, d.Message)
		}
		st = d.Next
	}
	// cpu waits for the replicas' 5m warm-up; each revert waits 15m of
	// low risk; replicas first go back to the window's 2, and to the 0 the
	// prewarm replaced 15m after the window.
	want := []string{"10+replicas=2", "30+queue=1", "31+replicas=3", "36+cpu=0.5",
		"55-cpu=1", "71-replicas=2", "87-queue=0", "115-replicas=0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes:\n got %v\nwant %v", got, want)
	}
	if st.Level() != 0 || len(st.Prewarmed) != 0 {
		t.Errorf("final state %+v, want nothing engaged or prewarmed", st)
	}
}

// The state's Changed map is shared between a state and the next one a
// decision returns and copied on write: a decision that changes a step
// leaves the map of the state it started from as it was.
func TestDecideLeavesInputChanged(t *testing.T) {
	st := engaged(0)
	risky := Input{DataOK: true, Risk: 0.8, TimeToBreach: time.Minute, RiskBelow: 0.8, LevelKnown: true}
	d := Decide(settings(Predictive), risky, st, at(0))
	if d.Reason != Escalate || d.Next.Changed["replicas"] != at(0) {
		t.Fatalf("decision %s, next changed %v: want Escalate with replicas changed now", d.Reason, d.Next.Changed)
	}
	if len(st.Changed) != 1 || st.Changed["queue"] != at(-60) {
		t.Errorf("input state's Changed became %v", st.Changed)
	}
	ok := Input{DataOK: true, RiskBelow: 0}
	st.ClearSince = at(-20)
	d = Decide(settings(Predictive), ok, st, at(0))
	if d.Reason != Revert || len(st.Changed) != 1 || st.Changed["queue"] != at(-60) {
		t.Errorf("revert: reason %s, input state's Changed %v", d.Reason, st.Changed)
	}
}

// TestImminent is the rule for an incident under way, case by case.
func TestImminent(t *testing.T) {
	for _, tt := range []struct {
		name string
		u    Underway
		want bool
	}{
		{"one short of K at a load the level does not take", Underway{Run: 2, K: 3, Load: 110, RunLoad: 100, Level: 100}, true},
		{"the run's mean at the level", Underway{Run: 2, K: 3, Load: 90, RunLoad: 100, Level: 100}, true},
		{"under the level now and on average", Underway{Run: 2, K: 3, Load: 90, RunLoad: 95, Level: 100}, false},
		{"two short of K", Underway{Run: 1, K: 3, Load: 200, RunLoad: 200, Level: 100}, false},
		{"an incident in progress, not under way", Underway{Run: 3, K: 3, Load: 200, RunLoad: 200, Level: 100}, false},
		{"nothing above", Underway{Run: 0, K: 1, Load: 200, RunLoad: 200, Level: 100}, false},
		{"the level unknown", Underway{Run: 2, K: 3, Load: 1e9, RunLoad: 1e9, Level: math.Inf(1)}, false},
	} {
		if got := tt.u.Imminent(); got != tt.want {
			t.Errorf("%s: %+v imminent %v, want %v", tt.name, tt.u, got, tt.want)
		}
	}
}

// TestBeneath is the revert rule's test of the level one down.
func TestBeneath(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    Beneath
		want bool
	}{
		{"the load at what the level takes", Beneath{Load: 100, Level: 100}, true},
		{"the load under it, the latency above", Beneath{Load: 90, Level: 100, LatencyAbove: true}, false},
		{"the level unknown: the latency decides", Beneath{Load: 1e9, Level: math.Inf(1), LatencyAbove: false}, false},
		{"the level unknown, the latency above", Beneath{Load: 1, Level: math.Inf(1), LatencyAbove: true}, true},
		{"a latency forecast: the latency decides", Beneath{Load: 0.9, Level: math.NaN(), LatencyAbove: true}, true},
	} {
		if got := tt.b.Holds(); got != tt.want {
			t.Errorf("%s: %+v holds %v, want %v", tt.name, tt.b, got, tt.want)
		}
	}
}
