// Package kube is presage's Kubernetes actuators: the only package that
// changes the cluster (with client-go; cmd/presage only wires it). A Client
// holds the clients and metrics; Client.New builds the actuator of one
// playbook action of kind kube:
//
//   - Replicas (target replicas) scales any object with the scale
//     subresource, named by group, version, resource, namespace and name,
//     through its /scale. Plan steps from the live count,
//     max(current, min(engaged, current+step)) (a prewarm window's decision
//     goes straight to the window's value), and never past the
//     database's connection budget, ConnectionBudget.MaxReplicas(); when
//     the budget lowers it the reason is actuators.ConnectionBudget.
//   - CPULimits (target cpu_limits) sets the CPU limit of the chosen
//     containers of the pods a label selector picks to a factor of their
//     original limit (never below the floor; a request above the new limit
//     is lowered to it) through each pod's resize subresource, in place;
//     where the API server refuses a resize (forbidden, invalid, not
//     found), it changes the pod template of the Deployment that owns the
//     pod (pod → ReplicaSet → Deployment) instead.
//   - Flag (target flag) sets a key of a ConfigMap: 1 writes on, 0 off.
//
// # Records, restarts and crashes
//
// Every change records the value it replaced, and the value it set, on the
// object it changed: OriginalReplicas and SetReplicas, OriginalCPU and
// SetCPUFactor (pods and Deployments), FlagPrefix+key (ConfigMaps), and
// ChangedAt. A revert restores the recorded original exactly (an absent
// ConfigMap key is deleted again) and removes the record. Tracked reads
// the record back, so a restarted presage finds what an earlier one did
// (controller.Reconcile) and its policy keeps or reverts it.
//
// A ConfigMap's value and record, and a Deployment template's, change in
// one update. The scale and resize subresources change nothing but the
// count or the resources, so there the record is written first (with the
// object's resourceVersion as a precondition) and the change second; a
// revert restores the value first and removes the record second. Every
// crash point thus leaves either no change, or a change and its record:
// never a change untracked. Comparing the live value with the record
// tells which:
//
//	live = set       engaged: presage's change is in force
//	live = original  stale: the change was never made or was undone; the
//	                 record is removed by the next Apply
//	otherwise        overridden
//
// # Conflicts and other writers
//
// Every read-modify-write is retried on conflict (retry.RetryOnConflict)
// from a fresh read. When someone else changed the value presage set
// (overridden), presage does not fight: Apply leaves the value as it is,
// removes its record (presage no longer manages it), logs it and counts it
// in presage_overridden_total{service,action}; Plan reports reason
// actuators.Overridden, which the controller puts on the decision's record.
//
// # Permissions
//
// What each target calls, for the least RBAC rules:
//
//	replicas    get, patch on the resource (the record); get, update on
//	            its scale subresource (resource/scale)
//	cpu_limits  list, get, patch on pods; update on pods/resize; and for
//	            the template fallback get on replicasets, list, get,
//	            update on deployments
//	flag        get, update on configmaps
//
// A dry run (recommend) only gets and lists: Current, Plan and Tracked
// read. Its client is made with ReadOnly, which refuses every other
// request before it leaves (ErrReadOnly), so that even a bug cannot write.
//
// # Observed warm-ups
//
// Client.WatchWarmups (run by `presage run` beside the loop) measures how
// long each scale-up of a replicas action takes to be Ready: from the
// write of the scale to the object's status.readyReplicas reaching the
// count set, as presage_observed_warmup_seconds; one longer than the
// action's configured warmup is counted (presage_warmup_exceeded_total)
// and logged as a warning. It reads with the get the record already needs.
//
// There is no kubelet in the package's tests: pods are created directly
// and the resize subresource is validated by the API server alone. The
// end-to-end tests (cmd/presage, docs/e2e.md) add a controller-manager, a
// scheduler and KWOK's fake nodes.
package kube
