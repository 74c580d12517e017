package leader

import (
	"context"
	"errors"
	"sync"

	"github.com/presage-dev/presage/actuators"
)

var (
	_ actuators.Actuator = (*Gate)(nil)
	_ actuators.Reader   = (*Gate)(nil)
	_ actuators.Planner  = (*Gate)(nil)
)

// errNoReader is Current's error when the real actuator cannot read.
var errNoReader = errors.New("leader: the actuator cannot read its knob")

// Gate is an actuator that applies through another only while its Elector
// leads; a follower's Gate records the action and applies nothing.
type Gate struct {
	e    *Elector
	real actuators.Actuator

	mu      sync.Mutex // serialises Apply and the take-over
	pending *actuators.Action
}

// Gate wraps real. Its Current reads real's where real is an
// actuators.Reader (reading changes nothing, so followers read too);
// otherwise the Gate is not a Reader of any value and Current fails, as
// real's absence of one would.
func (e *Elector) Gate(real actuators.Actuator) *Gate {
	g := &Gate{e: e, real: real}
	e.mu.Lock()
	e.gates = append(e.gates, g)
	e.mu.Unlock()
	return g
}

// Apply applies a through the real actuator while leading; otherwise it
// records a and returns nil (see takeOver for what becomes of the last
// one).
func (g *Gate) Apply(ctx context.Context, a actuators.Action) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.e.Leading() {
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
	g.e.recorded.WithLabelValues(a.Service, a.Action, string(a.Op)).Inc()
	g.e.log.Info("not the leader: action recorded, not applied",
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
		g.e.log.Warn("taking over: applying the action decided while following failed; the next change retries",
			"service", a.Service, "action", a.Action, "to", a.To, "err", err)
		return
	}
	g.pending = nil
	g.e.log.Info("taking over: applied the action decided while following",
		"service", a.Service, "action", a.Action, "op", a.Op, "to", a.To)
}
