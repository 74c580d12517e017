// Package leader lets one of several presage replicas act: it elects a
// leader on a coordination.k8s.io Lease (client-go's leaderelection) and
// gates each actuator on it.
//
// Every replica runs the whole control loop: it reads the signals,
// forecasts, decides and serves /metrics, /healthz and /readyz. A Gate
// passes the controller's actions to the real actuator only while its
// replica leads; a follower records them instead (logged and counted in
// presage_follower_actions_total), and its policy goes on as if they had
// been applied, as presage recommend's does. presage_leader is 1 on the
// leader, 0 elsewhere.
//
// When a follower becomes the leader, each Gate applies the last action its
// controller decided while following, where the target does not already
// hold that value (the real actuator's Current), so the targets agree with
// the new leader's policy state before its next step. A Gate that recorded
// nothing leaves its target as the previous leader left it; a failed
// take-over apply is logged and tried again only at a later take-over, and
// the next action the policy decides is applied as usual. The new leader's policy state is not reconciled with
// the targets' records again (controller.Reconcile runs once, at start): a
// change the previous leader made that this replica's policy does not hold
// stays, recorded on the target, until the policy engages and reverts that
// action or presage restarts. When the leader loses the lease (it could not renew
// it within renew_deadline, before the lease_duration the others wait
// expires), its Gates stop applying at once and it campaigns again as a
// follower. A leader that stops cleanly releases the lease, so a follower
// takes over within a retry_period instead of a lease_duration.
//
// The package sits apart from package controller so that the controller
// itself does not depend on client-go: the controller only sees actuators.
//
//	                 ┌── lease acquired ──► leading: Gate → real actuator
//	start ─► following (Gate → record) ◄── renew failed / released ──┘
package leader
