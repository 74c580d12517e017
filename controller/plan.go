package controller

import (
	"context"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/policy"
)

// plan asks an actuator that is a Planner what it would really set for a,
// and makes the action, the decision's next state (next) and the record say so:
// the target's From and To (a step from the live value, a connection
// budget), and the actuator's reason code (ConnectionBudget, Overridden)
// in place of the policy's, whose message it extends. An engagement that
// changes nothing is recorded as such. Other actuators are left alone.
func (c *Controller) plan(ctx context.Context, act actuators.Actuator, a *actuators.Action, ch policy.Change, next *policy.State, rec *Record) error {
	p, ok := act.(actuators.Planner)
	if !ok {
		return nil
	}
	planned, reason, msg, err := p.Plan(ctx, *a)
	if err != nil {
		return err
	}
	*a = planned
	if a.Op == actuators.Engage {
		for k := range next.Engaged {
			if e := &next.Engaged[k]; e.Step == ch.Step {
				e.From, e.To, e.NoChange = a.From, a.To, a.From == a.To
			}
		}
	}
	if reason != "" {
		rec.Reason = policy.Reason(reason)
		if rec.Message == "" {
			rec.Message = msg
		} else {
			rec.Message += "; " + msg
		}
	}
	return nil
}
