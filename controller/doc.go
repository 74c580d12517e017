// Package controller runs presage's control loop.
//
// Every mode runs the same Step(ctx, now); only the bindings change: the
// metrics.Source (Prometheus or the simulator), the actuators (real ones,
// the dry-run recorder, or the simulator's knobs) and the clock (Run reads
// the wall clock; a replay calls Step with virtual time). The controller
// never knows whether it is simulated.
//
// One step, for every service:
//
//	read the latest sample of every signal (one source read for all services)
//	  → append the forecast signal to the bounded history (NaN when missing)
//	  → feed the latency to the incident hold (model.Hold)
//	  → learn the load at which the current playbook level breaches
//	  → refit the model when the refit schedule says so (against now),
//	    else update it with the new sample
//	  → draw sample paths over the horizon; breach risk and time to breach
//	    at the current level, and the risk one level down (for reverts:
//	    forecast.revert "reach", 1 while the load now is at or above what
//	    that level takes, else the share of paths that breach there within
//	    the reverted action's warm-up + margin; "horizon", the share within
//	    the horizon)
//	  → policy.Decide → apply the change, if any → export and log
//
// The services of a step are independent: in predictive mode, with
// Options.Workers above 1 (default GOMAXPROCS), they are stepped on that
// many goroutines, each taking a contiguous share of them, and the
// decisions are the same as one after the other; OnDecision and the logs
// still come in service order.
//
// Most steps the forecast is nowhere near the breach level, and drawing
// forecast.paths sample paths there is most of a step's work: for the
// additive models the paths are the point forecast plus deviations drawn
// once per fit (model.DeviationsInto), and the paths are screened first
// (see samplePaths) and looked at in full only when the risk could reach
// forecast.clear. Options.FullPaths turns both off: every path drawn
// afresh at every step.
//
// An incident under way engages the predictive policy's next action
// without waiting for the forecast (policy.Imminent): the latency has been
// above the threshold for K−1 samples, one short of the incident pattern,
// at a load the current level was seen not to take.
//
// Breach risk with a load signal: the model forecasts the load (requests
// per second), which the controller's actions do not change, and the
// controller learns, per playbook level, the load at and above which the
// latency breaches (model.BreachLevel over the (load, latency) pairs seen
// while that level was settled). The risk at a level is the share of load
// paths that stay above that level's breach load for the incident pattern's
// K samples. A level not yet observed inherits the level below's breach
// load, so presage assumes an action does not help until it has seen it
// help. With the latency signal forecast directly, the threshold is the
// incident pattern's.
//
// A change that the actuator fails to apply leaves the state as it was: the
// next step decides again and retries the same change with the same
// idempotency key.
//
// The loop's deadline is the interval. Calls to actuators that are not
// instant (webhooks, Kubernetes; actuators.Instant) run off the step on a
// pool of Options.ActionWorkers, one service's decision per call; Step
// waits for them until half the interval, and a call that outlasts its
// step lands at a later one. Meanwhile its service decides nothing
// (policy.ActionInFlight); the others step on. The state machine of one
// service's calls is drawn on type flight. The simulator's knobs and the
// recorder are instant and called in the step: a replay is unchanged.
//
// Run checks, at its first step and every Options.ReassertEvery steps,
// that the targets still hold the engaged changes (reassert): a change a
// target that reads its knob no longer holds, and at the first check every
// change of a target that cannot read (a webhook without a read URL), is
// applied again with its idempotency key (actuators.Reapplied).
//
// With Options.Owner (several replicas sharing the services:
// controller/shard), Step steps only the services the Owner gives this
// replica: a service gained is backfilled and reconciled with its targets
// before it decides, a service lost is forgotten (see own).
//
// With Options.View, each step ends by copying what the live page shows
// into a view of its own per service (view.go): Overview, ServiceView
// and Watch read it under its lock from any goroutine, never the
// services' state.
package controller
