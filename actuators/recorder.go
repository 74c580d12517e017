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

var _ Actuator = (*Recorder)(nil)

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
