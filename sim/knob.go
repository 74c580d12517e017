package sim

import (
	"context"
	"slices"

	"github.com/presage-dev/presage/actuators"
)

// Knob is the actuator of one knob of a Plant: Apply sets the knob to the
// action's To, Current reads it.
type Knob struct {
	plant *Plant
	knob  string
}

var (
	_ actuators.Actuator = (*Knob)(nil)
	_ actuators.Reader   = (*Knob)(nil)
	_ actuators.Instant  = (*Knob)(nil)
)

// NewKnob returns the actuator of the named knob (KnobQueue, KnobReplicas or
// KnobCPULimit) of p. An unknown knob makes Apply and Current fail with
// ErrUnknownKnob. NewKnob panics if p is nil.
func NewKnob(p *Plant, knob string) *Knob {
	if p == nil {
		panic("sim: NewKnob with a nil plant")
	}
	return &Knob{plant: p, knob: knob}
}

func validKnob(knob string) bool { return slices.Contains(Knobs, knob) }

// Name returns the knob's name.
func (k *Knob) Name() string { return k.knob }

// Apply sets the knob to a.To; see Plant.Set for the values each knob takes.
// Applying the same To twice is the same as applying it once.
func (k *Knob) Apply(ctx context.Context, a actuators.Action) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return k.plant.Set(k.knob, a.To)
}

// Instant reports that a Knob applies in memory (actuators.Instant).
func (k *Knob) Instant() bool { return true }

// Current returns the knob's value.
func (k *Knob) Current(ctx context.Context) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return k.plant.Get(k.knob)
}
