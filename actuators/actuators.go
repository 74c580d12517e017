package actuators

import (
	"context"
	"time"
)

// Op says whether an action engages a playbook step or reverts it.
type Op string

// The operations an Action carries.
const (
	Engage Op = "engage"
	Revert Op = "revert"
)

// Action is one change presage asks an actuator to make: set the knob of one
// playbook action of one service from From to To.
type Action struct {
	Service string    `json:"service"`
	Action  string    `json:"action"` // playbook action name
	Op      Op        `json:"op"`
	From    float64   `json:"from"` // value being replaced
	To      float64   `json:"to"`   // desired value
	Reason  string    `json:"reason"`
	Risk    float64   `json:"risk"`
	At      time.Time `json:"at"`
}

// Actuator applies an Action to its target. Apply is idempotent: applying the
// same To twice leaves the target as applying it once.
type Actuator interface {
	Apply(ctx context.Context, a Action) error
}

// Reader is implemented by actuators that can read the current value of their
// knob, so that presage records the value it replaces rather than assuming it.
type Reader interface {
	Current(ctx context.Context) (float64, error)
}

// Instant is implemented by actuators whose calls return at once because
// they change only memory in this process (the simulator's knobs, the
// dry-run Recorder). The controller calls an instant actuator in its
// step's own goroutine, one service after the other, so a replay stays
// deterministic; it calls any other actuator on a bounded pool, so that a
// slow target delays only its own service (controller.Options.ActionWorkers).
type Instant interface {
	Instant() bool
}

// IsInstant reports whether a declares itself instant (Instant).
func IsInstant(a Actuator) bool {
	i, ok := a.(Instant)
	return ok && i.Instant()
}
