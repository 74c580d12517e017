package actuators

import (
	"context"
	"time"
)

// Outcome reason codes: why an actuator set another value than the policy
// asked for, or set none. They are stable: records, logs and metrics carry
// them like the policy's own reasons.
const (
	// ConnectionBudget: the change was capped (or refused) because more
	// replicas would open more connections than the database allows.
	ConnectionBudget = "ConnectionBudget"
	// Overridden: someone else changed the value presage set; presage
	// stops managing it and changes nothing.
	Overridden = "Overridden"
)

// Planner is implemented by actuators whose target decides the value
// actually set (a step from the live value, a budget). Plan reads the
// target, never writes it, and returns the Action to apply: a copy of a
// with From and To as the target makes them, and a reason code when they
// differ from what was asked ("" otherwise) and a message. Apply of the
// planned Action then sets exactly its To.
type Planner interface {
	Plan(ctx context.Context, a Action) (planned Action, reason, message string, err error)
}

// Tracked is a change an actuator finds recorded on its target: an earlier
// presage replaced From with To at At.
type Tracked struct {
	From, To float64
	At       time.Time
}

// Tracker is implemented by actuators that record their changes on the
// target itself, so that a restarted presage finds what an earlier one did.
// Tracked reads the target, never writes it; ok is false when presage has
// no change in force there (none made, reverted, or overridden since).
type Tracker interface {
	Tracked(ctx context.Context) (t Tracked, ok bool, err error)
}

// Reapplied is the reason of an Action the controller applies again
// because the target no longer holds a change presage has engaged (a
// restarted webhook receiver, a fresh simulator): the policy did not
// decide it anew, and its idempotency key is the original change's.
const Reapplied = "Reapplied"
