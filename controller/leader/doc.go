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
// When a follower becomes the leader, it goes on from what the targets
// record, not from what it decided while following: the functions given to
// OnTakeOver run (presage passes the controller's RequestReconcile), so at
// the start of its next step the controller reconciles its policy state
// with the targets' records (controller.Reconcile, reading through the
// Gates): a change the previous leader left in force is engaged, with the
// original it recorded, and the policy keeps or reverts it as usual; an
// engagement this replica decided while following that the target does not
// hold (the previous leader reverted it, or never made it) is dropped, and
// the policy engages again if the risk still asks for it. So the Gate of an
// actuator that records its changes (actuators.Tracker: the kube
// actuators) forgets what it recorded while following and applies nothing
// at take-over. The Gate of one that records nothing presage can read
// (a webhook, the simulator's knobs), whose policy state reconciling keeps,
// applies the last action its controller decided while following instead,
// unless the target already holds that value (the real actuator's
// Current), so the target agrees with that state; a failed take-over apply
// is logged and tried again only at a later take-over, and the next action
// the policy decides is applied as usual. A step under way when the Lease
// is gained already applies what it decides; a tracking target records it
// and the reconcile adopts it.
//
// When the leader loses the lease (it could not renew it within
// renew_deadline, before the lease_duration the others wait expires), its
// Gates stop applying at once and it campaigns again as a follower. A leader that stops cleanly releases the lease, so a follower
// takes over within a retry_period instead of a lease_duration.
//
// NewGate builds the same Gate on any per-service authority: sharding
// (controller/shard) gates each actuator on whether its replica owns the
// service at the moment of the call. Such a Gate records what it refuses
// but never replays it: the new owner of a service reconciles it from its
// targets instead.
//
// The package sits apart from package controller so that the controller
// itself does not depend on client-go: the controller only sees actuators.
//
//	                 ┌── lease acquired ──► leading: Gate → real actuator
//	start ─► following (Gate → record) ◄── renew failed / released ──┘
package leader
