package policy

import (
	"fmt"
	"math"
	"time"
)

// The schedule windows' part of a decision: a prewarm window holds steps
// at a value (prewarm), the value it replaced comes back once the window
// is over and the risk has passed (release), and a freeze window holds
// back what starts an action (freeze). floor and further say what a
// window holds a step at.

// floor returns the value a prewarm window holds step i at, within its
// bounds; ok is false when none does.
func floor(s Settings, in Input, i int) (float64, bool) {
	if i >= len(in.Prewarm) || i >= len(s.Playbook) || math.IsNaN(in.Prewarm[i]) {
		return 0, false
	}
	st := s.Playbook[i]
	return math.Min(math.Max(in.Prewarm[i], st.Min), st.Max), true
}

// further returns whichever of a and b is further from the step's baseline
// in the direction of its engaged value (the larger, for a step whose
// engaged value is above its baseline).
func further(st Step, a, b float64) float64 {
	if st.Engaged < st.Baseline {
		return math.Min(a, b)
	}
	return math.Max(a, b)
}

// prewarm sets the first step that an active prewarm window holds at a
// value the step is not at yet; ok is false when every held step is there.
func prewarm(s Settings, in Input, d Decision, now time.Time) (Decision, bool) {
	for i := range s.Playbook {
		v, ok := floor(s, in, i)
		if !ok {
			continue
		}
		step := s.Playbook[i]
		cur := current(s, in, d.Next, i)
		if further(step, cur, v) == cur {
			continue // at or beyond the window's value
		}
		owned := false
		for k := range d.Next.Engaged {
			if d.Next.Engaged[k].Step == i {
				d.Next.Engaged[k].To, d.Next.Engaged[k].NoChange, owned = v, false, true
			}
		}
		for k := range d.Next.Prewarmed {
			if d.Next.Prewarmed[k].Step == i {
				d.Next.Prewarmed[k].To, owned = v, true
			}
		}
		if !owned {
			d.Next.Prewarmed = append(d.Next.Prewarmed, Engagement{Step: i, From: cur, To: v, At: now})
		}
		d.Next.setChanged(step.Name, now)
		d.Next.PrewarmClearSince = time.Time{}
		d.Changes = []Change{{Step: i, Name: step.Name, From: cur, Wish: in.Prewarm[i], To: v}}
		d.Reason = Prewarm
		d.Message = fmt.Sprintf("prewarm %s: %s %g → %g", in.Windows, step.Name, cur, v)
		return d, true
	}
	return d, false
}

// release restores, once no window holds it and the risk at the current
// level has stayed below clear for the step's revert window, the value a
// prewarm replaced (the highest step first). ok is false when there is no
// prewarmed step left without a window.
func release(s Settings, in Input, d Decision, now time.Time) (Decision, bool) {
	k := -1
	for j, p := range d.Next.Prewarmed {
		if _, held := floor(s, in, p.Step); !held && (k < 0 || p.Step > d.Next.Prewarmed[k].Step) {
			k = j
		}
	}
	if k < 0 {
		d.Next.PrewarmClearSince = time.Time{}
		return d, false
	}
	p := d.Next.Prewarmed[k]
	step := s.Playbook[p.Step]
	if in.Risk >= s.Clear {
		d.Next.PrewarmClearSince = time.Time{}
		d.Reason = Holding
		d.Message = fmt.Sprintf("prewarm over; %s kept at %g while the risk %.2f ≥ clear %.2f", step.Name, p.To, in.Risk, s.Clear)
		return d, true
	}
	if d.Next.PrewarmClearSince.IsZero() {
		d.Next.PrewarmClearSince = now
	}
	if since := now.Sub(d.Next.PrewarmClearSince); since < step.RevertAfter {
		d.Reason = RevertPending
		d.Message = fmt.Sprintf("prewarm over; risk %.2f below clear for %s of %s before %s goes back to %g", in.Risk, since, step.RevertAfter, step.Name, p.From)
		return d, true
	}
	if t, ok := d.Next.Changed[step.Name]; ok && now.Sub(t) < step.Cooldown {
		d.Reason = Cooldown
		if !in.Terse {
			d.Message = fmt.Sprintf("%s changed %s ago, cooldown %s", step.Name, now.Sub(t), step.Cooldown)
		}
		return d, true
	}
	d.Next.Prewarmed = append(d.Next.Prewarmed[:k:k], d.Next.Prewarmed[k+1:]...)
	d.Next.PrewarmClearSince = time.Time{}
	d.Next.setChanged(step.Name, now)
	d.Reason = PrewarmEnd
	d.Message = fmt.Sprintf("prewarm over, risk below clear %.2f for %s: %s %g → %g", s.Clear, step.RevertAfter, step.Name, p.To, p.From)
	if p.To != p.From {
		d.Changes = []Change{{Step: p.Step, Name: step.Name, Revert: true, From: p.To, Wish: p.From, To: p.From}}
	}
	return d, true
}

// freeze holds d back during a freeze window, unless it is a revert and
// the window allows reverts.
func freeze(in Input, st State, d Decision) Decision {
	if in.AllowRevert && (d.Reason == Revert || d.Reason == PrewarmEnd) {
		return d
	}
	f := Decision{Reason: Frozen, Next: st.clone()}
	if len(d.Changes) == 0 {
		// Nothing held back but a wait: the revert timers run on.
		f.Next.ClearSince, f.Next.PrewarmClearSince = d.Next.ClearSince, d.Next.PrewarmClearSince
	}
	f.Message = fmt.Sprintf("freeze %s: %s held back: %s", in.Windows, d.Reason, d.Message)
	return f
}
