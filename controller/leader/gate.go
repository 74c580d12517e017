package leader

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/actuators"
)

var (
	_ actuators.Actuator = (*Gate)(nil)
	_ actuators.Reader   = (*Gate)(nil)
	_ actuators.Planner  = (*Gate)(nil)
)

// errNoReader is Current's error when the real actuator cannot read.
var errNoReader = errors.New("leader: the actuator cannot read its knob")

// Gate is an actuator that applies through another only while this
// replica may act on the action's service: while its Elector leads (every
// service), or while its shard owns the service (controller/shard, with
// NewGate). Otherwise the Gate records the action and applies nothing.
type Gate struct {
	allows   func(service string) bool
	recorded *prometheus.CounterVec // by service, action, op; nil: not counted
	log      *slog.Logger
	real     actuators.Actuator

	mu      sync.Mutex // serialises Apply and the take-over
	pending *actuators.Action
}

// Gate wraps real, applying while e leads. Its Current reads real's where
// real is an actuators.Reader (reading changes nothing, so followers read
// too); otherwise the Gate is not a Reader of any value and Current fails,
// as real's absence of one would.
func (e *Elector) Gate(real actuators.Actuator) *Gate {
	g := NewGate(real, func(string) bool { return e.Leading() }, e.recorded, e.log)
	e.mu.Lock()
	e.gates = append(e.gates, g)
	e.mu.Unlock()
	return g
}

// NewGate wraps real so that an action is applied only while allows holds
// for its service, at the moment of the Apply; otherwise it is recorded:
// counted in recorded (labels service, action, op; nil counts nothing),
// logged on log (nil discards), and not applied. allows must be cheap and
// safe for concurrent use. No take-over replays what such a Gate
// recorded: its owner reconciles the service from its targets instead
// (controller/shard).
func NewGate(real actuators.Actuator, allows func(service string) bool, recorded *prometheus.CounterVec, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Gate{allows: allows, recorded: recorded, log: log, real: real}
}

// Apply applies a through the real actuator while this replica may act on
// a's service; otherwise it records a and returns nil (see takeOver for
// what becomes of the last one under leader election).
func (g *Gate) Apply(ctx context.Context, a actuators.Action) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.allows(a.Service) {
		if err := g.real.Apply(ctx, a); err != nil {
			return err
		}
		g.pending = nil
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g.pending = &a
	if g.recorded != nil {
		g.recorded.WithLabelValues(a.Service, a.Action, string(a.Op)).Inc()
	}
	g.log.Info("not acting on this service: action recorded, not applied",
		"service", a.Service, "action", a.Action, "op", a.Op, "from", a.From, "to", a.To)
	return nil
}

// Current reads the real actuator's knob.
func (g *Gate) Current(ctx context.Context) (float64, error) {
	if r, ok := g.real.(actuators.Reader); ok {
		return r.Current(ctx)
	}
	return 0, errNoReader
}

// Plan asks the real actuator what it would set, where it plans (planning
// only reads, so followers plan too); otherwise a is applied as asked.
func (g *Gate) Plan(ctx context.Context, a actuators.Action) (actuators.Action, string, string, error) {
	if p, ok := g.real.(actuators.Planner); ok {
		return p.Plan(ctx, a)
	}
	return a, "", "", nil
}

// Instant reports whether the real actuator is instant (actuators.Instant).
func (g *Gate) Instant() bool { return actuators.IsInstant(g.real) }

// Unwrap returns the real actuator, which Reconcile reads the records of
// (controller.Tracker): reading changes nothing.
func (g *Gate) Unwrap() actuators.Actuator { return g.real }

// takeOver runs when this replica gains the Lease. For a real actuator that
// records its changes on the target (actuators.Tracker) it applies nothing
// and forgets the action recorded while following: the target is the truth,
// and the controller's policy state is reconciled with it instead
// (Elector.OnTakeOver). For any other actuator (a webhook records nothing
// anywhere presage can read), it applies the last action recorded while
// following, unless the target already holds its value, so the target
// matches the policy state of the controller that now leads.
func (g *Gate) takeOver(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.pending
	if a == nil {
		return
	}
	if _, ok := g.real.(actuators.Tracker); ok {
		g.pending = nil
		return
	}
	if r, ok := g.real.(actuators.Reader); ok {
		if v, err := r.Current(ctx); err == nil && v == a.To {
			g.pending = nil
			return
		}
	}
	if err := g.real.Apply(ctx, *a); err != nil {
		g.log.Warn("taking over: applying the action decided while following failed; the next change retries",
			"service", a.Service, "action", a.Action, "to", a.To, "err", err)
		return
	}
	g.pending = nil
	g.log.Info("taking over: applied the action decided while following",
		"service", a.Service, "action", a.Action, "op", a.Op, "to", a.To)
}
