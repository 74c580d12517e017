// Package shard lets several presage replicas split the services: each
// replica holds a member Lease, and each service is acted on by the one
// live member that rendezvous hashing over the members picks (Owner), in
// the manner of Prometheus's hashmod and Argo CD's controller sharding.
// Kubernetes is the coordination engine; there is no consensus here: the
// owner of a service is a pure function of the member set, so replicas
// that list the same members agree.
//
// # Membership
//
// A replica's member Lease (coordination.k8s.io/v1) is named
// <leader_election.name>-member-<identity> and labelled presage.dev/shard
// = <leader_election.name>. Run renews it every retry_period, writing as
// renewTime the time the write is sent, and lists the Leases with that
// label after every renewal and again at the instant the first other
// member's Lease would expire. The live members are those whose renewTime
// + leaseDurationSeconds is after the start of the list that found them:
// a member is dropped only on a list that began after its expiry, so a
// member whose Lease was renewed in time is never dropped, and one that
// was not is dropped as soon as that list returns (a few milliseconds
// after the expiry). A list is a quorum read of the API server: unlike a
// watch, whose silence cannot be told from a lost connection, its age
// bounds how stale the view is. A clean stop deletes the member Lease
// (after the loop has stopped applying), so the others take its services
// at their next list, within a retry_period.
//
// # Acting
//
// A replica acts on a service (Owns) only while all of these hold:
//
//   - its own Lease is among the live members it listed, and Owner gives
//     it the service over them;
//   - its last successful renewal and its last successful list were both
//     sent less than renew_deadline ago (the fence: a replica that cannot
//     renew, or cannot see the members, stops acting on everything, as a
//     leader that cannot renew stops leading);
//   - renew_deadline (the hand-off) has passed since the write that made
//     it a member returned: when it first joins, and again after its Lease
//     expired or it was fenced.
//
// The controller asks Owns at every step (controller.Options.Owner), and
// the Gate of every actuator asks it again at every Apply
// (leader.NewGate): a lost service stops being acted on at once.
//
// # The bound: never two owners
//
// Suppose replicas A and B both act on service s at time t. Both views
// cannot hold both members: over the same members the owner is one. So
// one view, say A's, lacks B. Either
//
//   - B joined and A has not listed it yet: A's view was listed less than
//     renew_deadline before t (the fence), B's Lease was created before B's
//     hand-off began, and B acts only renew_deadline after that, so A's
//     list began after B's Lease existed and holds it: contradiction; or
//   - A dropped B's Lease as expired: A listed after B's renewTime +
//     lease_duration, with no later renewal by B; B's fence stopped B at its
//     last successful renewal + renew_deadline, earlier, since
//     renew_deadline < lease_duration: B does not act at t; or
//   - B deleted its Lease: it did so after it stopped acting.
//
// This holds while the replicas' clocks agree to within lease_duration −
// renew_deadline (renewTime is the holder's clock; the expiry is judged on
// the reader's), the same assumption as client-go's leader election, and
// with one exception: an actuator call already sent when its service is
// lost is not recalled; it lands, and its record on the target is what
// the next owner adopts (reconcile).
//
// # The bound: a lost member's services move within lease_duration + a step
//
// A member killed at time K last renewed at some r ≤ K; its Lease expires
// at r + lease_duration ≤ K + lease_duration, and every other member lists
// at that instant, so its services are owned by the others (the Gates
// apply) when that list returns, and stepped (history, reconcile, decide)
// at their next step: within lease_duration + one interval of K, plus the
// list's latency. No earlier than r + lease_duration ≥ K + lease_duration
// − retry_period. A member that joins takes its share after its hand-off
// (renew_deadline), during which the services moving to it have no
// owner: the others stop acting on them when they list the newcomer.
//
// # Taking a service over
//
// The new owner of a service reconciles its policy state with what the
// service's targets record before it decides (controller.Reconcile): a
// kube change the previous owner left in force is engaged, with the
// original it recorded, and reverted when the policy says, as after a
// leader's take-over; nothing is applied twice. Actuators that record
// nothing presage can read (webhooks, the simulator) start from nothing
// engaged on the new owner. When the source is a metrics.RangeSource
// (Prometheus), the history is backfilled at once; otherwise it is learned
// from live samples.
//
//	           ┌─ Lease created/renewed (rejoin) ─► hand-off (renew_deadline) ─┐
//	start ─► joining                                                          ▼
//	           ▲                                   acting on Owner(s, members) = self
//	           └──── renewal or list older than renew_deadline (fenced) ◄──────┘
package shard
