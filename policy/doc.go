// Package policy decides, purely, what a service's playbook should do next.
//
// Decide takes what the controller saw this step (whether the data is usable,
// whether an incident is in progress, the breach risk at the playbook's
// current level and at the level below), the policy's state and the step's
// time, and returns a Decision that carries a stable reason code, the
// uncapped wish and the capped value, and the next state. It does no I/O and
// never reads the clock.
//
// The decision, in the order it is taken:
//
//	mode none ───────────────────────────────────────────► Disabled
//	data missing, stale or NaN ──────────────────────────► NoData
//	mode static: engage the next action, keep them all ──► Provisioned
//	incident in progress (reactive floor) ─┐
//	incident under way (predictive only) ──┤
//	risk ≥ trigger (predictive only) ──────┤
//	    no action left ──────────────────────────────────► PlaybookExhausted
//	    breach further than warm-up + margin ────────────► BreachNotImminent
//	    current level's capacity not learned (forecast) ─► Learning
//	    last action still warming up ────────────────────► Settling
//	    action in cooldown ──────────────────────────────► Cooldown
//	    wish capped to the current value ────────────────► AtBound (engaged, no change)
//	    otherwise ───────────────────► Escalate / Imminent / ReactiveFloor
//	something engaged:
//	    risk one level down ≥ clear ─────────────────────► Holding
//	    below clear for less than the revert window ─────► RevertPending
//	    action in cooldown ──────────────────────────────► Cooldown
//	    otherwise, the last engaged action ──────────────► Revert
//	nothing engaged, risk below trigger ─────────────────► Steady
//
// Actions engage in playbook order and revert in reverse order. After an
// engagement the next one waits for the engaged action's warm-up (Settling),
// so the playbook escalates only when what it already did has had time to
// help.
package policy
