// Package replay runs presage's control loop offline, on a virtual clock,
// and evaluates what each policy did.
//
// Replay runs every policy over the same loads with identical, fresh
// plants (package sim) and evaluates them against the 'none' run (Report):
// incidents, breach minutes, actions, cost, lead time and precision.
// The services of a replay never meet, so each policy's run of each
// service is a task of its own, from start to end, for a pool of workers;
// a service's random streams hash its name, so its replay is the same
// whatever else the file holds. A replay keeps every step's level and, in
// whole, only the records that carry an action, an error or windows
// (Decisions), unless ReplayOptions.Detail asks for every record (the HTML
// report needs them).
//
// The oracle (policy.Oracle) runs no controller: knowing the whole load
// and the plant's noise, it searches, step by step over a window ahead,
// for when to hold which playbook actions engaged (oracle.go describes
// the method), a bound on what any decisions could reach.
//
// ReplaySignals runs the predictive controller over a file.Recording (the
// CSV `presage export` writes) with dry-run recorders, where nothing can
// react, and scores what it would have recommended against the incidents
// of the recorded latency (SignalsReport).
//
// SweepConfigs and Sweep replay a grid of configuration values set by their
// YAML paths and mark the Pareto front of incidents against cost
// (SweepResult). WriteHTML draws a replay as a self-contained HTML page of
// SVG charts.
package replay
