package actuators

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrNoValue is returned by a Recorder's Reader for a knob that has neither
// a recorded action nor a baseline.
var ErrNoValue = errors.New("actuators: no recorded value")

var (
	_ Actuator = (*Recorder)(nil)
	_ Instant  = (*Recorder)(nil)
)

// Recorder is the dry-run Actuator: it applies nothing and records every
// Action it is given. It is safe for concurrent use.
//
// A Recorder also remembers the last To of every (service, action) knob, so
// the dry run can read back the value it "set" through Reader; before any
// Action, a knob reads as its baseline, if one was given with SetBaseline.
type Recorder struct {
	fn func(Action)

	mu       sync.Mutex
	records  []Action
	baseline map[knob]float64
	last     map[knob]float64
}

type knob struct{ service, action string }

// NewRecorder returns an empty Recorder. If fn is not nil, Apply calls it
// with every Action after recording it, from the goroutine that called
// Apply and without the Recorder's lock held (fn may call Records).
func NewRecorder(fn func(Action)) *Recorder {
	return &Recorder{
		fn:       fn,
		baseline: make(map[knob]float64),
		last:     make(map[knob]float64),
	}
}

// Apply records a and applies nothing. It fails only if ctx is already done,
// as a real actuator would, and then records nothing.
func (r *Recorder) Apply(ctx context.Context, a Action) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.records = append(r.records, a)
	r.last[knob{a.Service, a.Action}] = a.To
	r.mu.Unlock()
	if r.fn != nil {
		r.fn(a)
	}
	return nil
}

// Instant reports that a Recorder applies in memory (actuators.Instant).
func (r *Recorder) Instant() bool { return true }

// Records returns a copy of every Action recorded so far, oldest first.
func (r *Recorder) Records() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// SetBaseline sets the value the knob of (service, action) reads as before
// any Action has been recorded for it.
func (r *Recorder) SetBaseline(service, action string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.baseline[knob{service, action}] = v
}

// Reader returns a Reader of the knob of (service, action): its Current is
// the To of the last Action recorded for the knob, else its baseline, else
// an error wrapping ErrNoValue.
func (r *Recorder) Reader(service, action string) Reader {
	return recorderReader{r: r, k: knob{service, action}}
}

type recorderReader struct {
	r *Recorder
	k knob
}

var _ Reader = recorderReader{}

func (rr recorderReader) Current(ctx context.Context) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rr.r.mu.Lock()
	defer rr.r.mu.Unlock()
	if v, ok := rr.r.last[rr.k]; ok {
		return v, nil
	}
	if v, ok := rr.r.baseline[rr.k]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("knob %s/%s: %w", rr.k.service, rr.k.action, ErrNoValue)
}

// Knob returns the Recorder seen as the actuator of one knob of a dry run:
// Apply records; Current reads real's target where real can read (reading
// changes nothing), else what the Recorder last recorded for the knob or
// its baseline (SetBaseline); and, where real is a Planner, the knob is one
// too and asks real what it would set, so a recommendation shows the
// target's step and budget. real may be nil.
func (r *Recorder) Knob(service, action string, real Actuator) Actuator {
	k := dryKnob{rec: r, Reader: r.Reader(service, action)}
	if rr, ok := real.(Reader); ok {
		if co, ok := real.(interface{ CheckOnly() bool }); !ok || !co.CheckOnly() {
			k.Reader = rr // not a webhook's read URL, which is read only to check engaged changes
		}
	}
	if p, ok := real.(Planner); ok {
		return dryPlanner{dryKnob: k, planner: p}
	}
	return k
}

var (
	_ Actuator = dryKnob{}
	_ Reader   = dryKnob{}
	_ Planner  = dryPlanner{}
)

// dryKnob records what it is asked to apply and reads through its Reader.
type dryKnob struct {
	rec *Recorder
	Reader
}

func (k dryKnob) Apply(ctx context.Context, a Action) error { return k.rec.Apply(ctx, a) }

// Instant reports that a knob of a dry run applies in memory; one whose
// real actuator plans reads the target to plan, and is not instant.
func (k dryKnob) Instant() bool { return true }

func (k dryPlanner) Instant() bool { return false }

// dryPlanner is a dryKnob whose real actuator plans.
type dryPlanner struct {
	dryKnob
	planner Planner
}

func (k dryPlanner) Plan(ctx context.Context, a Action) (Action, string, string, error) {
	return k.planner.Plan(ctx, a)
}
