// Package actuators defines how presage changes the world: an Action asks an
// Actuator to set one knob of one playbook action of one service from one
// value to another.
//
// The contract is small. An Actuator has a single method, Apply, which takes
// ctx first and must be idempotent: applying the same To twice leaves the
// target as applying it once. An actuator that can read its knob also
// implements Reader, so that presage records the value it replaces rather
// than assuming it.
//
// Implementations live in sub-packages, one per kind: webhook (an HTTP POST
// of the Action as JSON) and kube (client-go, the only place that imports
// it). The simulated service's knobs are actuators of package sim.
//
// Dry-run is a mode, not a magic value: Recorder implements Actuator, applies
// nothing and records every Action it is given, so the controller runs the
// same code whether its actions are applied or only recommended.
package actuators
