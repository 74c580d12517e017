package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

var (
	_ actuators.Actuator = (*Replicas)(nil)
	_ actuators.Reader   = (*Replicas)(nil)
	_ actuators.Planner  = (*Replicas)(nil)
	_ actuators.Tracker  = (*Replicas)(nil)
)

// Replicas scales an object with the scale subresource (a Deployment, a
// StatefulSet, a custom resource such as a CloudNativePG Cluster) through
// its /scale, within a connection budget.
//
// The scale subresource changes only the replica count, so the record of a
// change (OriginalReplicas, SetReplicas, ChangedAt on the object) is
// written just before the change, and removed just after a revert. Every
// crash point leaves either no change or a recorded one: a record whose
// object still has its original count is stale (the change was never made,
// or was undone), and is removed.
type Replicas struct {
	base
	gvr    schema.GroupVersionResource
	name   string
	step   int64
	budget *config.ConnectionBudget
}

func newReplicas(b base, k config.Kube) (*Replicas, error) {
	if k.Name == "" || k.Version == "" || k.Resource == "" {
		return nil, fmt.Errorf("kube: replicas: name, version and resource are required")
	}
	r := &Replicas{base: b, name: k.Name, step: int64(k.Step), budget: k.Connections,
		gvr: schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}}
	r.log = r.log.With("object", r.what())
	return r, nil
}

func (r *Replicas) what() string {
	gr := r.gvr.GroupResource()
	return fmt.Sprintf("%s %s/%s", gr.String(), r.ns, r.name)
}

func (r *Replicas) res() dynamic.ResourceInterface {
	return r.c.dyn.Resource(r.gvr).Namespace(r.ns)
}

// replicasLive is the object as read: its scale and presage's record.
type replicasLive struct {
	scale    *unstructured.Unstructured
	replicas int64
	rv       string
	st       state
	original int64
	set      int64
	ann      map[string]string
}

// read reads the scale and the object's annotations at one resource
// version (a conflict error when they differ, for RetryOnConflict).
func (r *Replicas) read(ctx context.Context) (replicasLive, error) {
	sc, n, err := r.getScale(ctx)
	if err != nil {
		return replicasLive{}, err
	}
	obj, err := r.res().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return replicasLive{}, fmt.Errorf("kube: get %s: %w", r.what(), err)
	}
	if sc.GetResourceVersion() != obj.GetResourceVersion() {
		return replicasLive{}, apierrors.NewConflict(r.gvr.GroupResource(), r.name, fmt.Errorf("changed between two reads"))
	}
	ann := obj.GetAnnotations()
	l := replicasLive{scale: sc, replicas: n, rv: obj.GetResourceVersion(), ann: ann}
	o, oerr := strconv.ParseInt(ann[OriginalReplicas], 10, 64)
	s, serr := strconv.ParseInt(ann[SetReplicas], 10, 64)
	recorded := oerr == nil && serr == nil
	if recorded {
		l.original, l.set = o, s
	}
	_, any1 := ann[OriginalReplicas]
	_, any2 := ann[SetReplicas]
	l.st = classify(recorded, n, o, s)
	if !recorded && (any1 || any2) {
		// A broken record is someone else's doing: not presage's to keep.
		l.st = overridden
	}
	return l, nil
}

// getScale reads the object's scale subresource and its replica count.
func (r *Replicas) getScale(ctx context.Context) (*unstructured.Unstructured, int64, error) {
	sc, err := r.res().Get(ctx, r.name, metav1.GetOptions{}, "scale")
	if err != nil {
		return nil, 0, fmt.Errorf("kube: get %s scale: %w", r.what(), err)
	}
	n, _, err := unstructured.NestedInt64(sc.Object, "spec", "replicas")
	if err != nil {
		return nil, 0, fmt.Errorf("kube: %s scale: spec.replicas: %w", r.what(), err)
	}
	return sc, n, nil
}

// Current returns the object's replica count.
func (r *Replicas) Current(ctx context.Context) (float64, error) {
	_, n, err := r.getScale(ctx)
	return float64(n), err
}

// Tracked returns the change an earlier presage recorded on the object
// and that is in force.
func (r *Replicas) Tracked(ctx context.Context) (actuators.Tracked, bool, error) {
	l, err := r.read(ctx)
	if err != nil {
		return actuators.Tracked{}, false, err
	}
	if l.st != engaged {
		return actuators.Tracked{}, false, nil
	}
	return actuators.Tracked{From: float64(l.original), To: float64(l.set), At: changedAt(l.ann)}, true, nil
}

// cap returns the replica count an engagement from cur toward want sets:
// max(cur, min(want, cur+step)), never above the connection budget unless
// already there; reason is ConnectionBudget when the budget lowered it.
func (r *Replicas) cap(cur, want int64, useStep bool) (to int64, reason, msg string) {
	to = want
	if useStep && r.step > 0 && to > cur+r.step {
		to = cur + r.step
	}
	to = max(to, cur)
	if b := r.budget; b != nil {
		if limit := int64(b.MaxReplicas()); to > limit {
			capped := max(cur, limit)
			msg = fmt.Sprintf("%d replicas would exceed the connection budget (max_connections %d, per_replica %d, reserved %d: at most %d replicas): %d set",
				to, b.MaxConnections, b.PerReplica, b.Reserved, limit, capped)
			to, reason = capped, actuators.ConnectionBudget
		}
	}
	return to, reason, msg
}

// reasonPrewarm is policy.Prewarm: the decision of a prewarm window, which
// sets the value the window names whatever the step.
const reasonPrewarm = "Prewarm"

// Plan reads the object and returns the change Apply would make: an
// engagement steps from the live count (a prewarm goes straight to its
// value) and stays within the connection
// budget; a revert restores the recorded original; a count someone else
// changed is left as it is (reason Overridden).
func (r *Replicas) Plan(ctx context.Context, a actuators.Action) (actuators.Action, string, string, error) {
	l, err := r.read(ctx)
	if err != nil {
		return a, "", "", err
	}
	p := a
	p.From = float64(l.replicas)
	if l.st == overridden && a.Op == actuators.Revert {
		p.To = p.From
		return p, actuators.Overridden, fmt.Sprintf("%s has %d replicas, presage set %d: someone else changed it; presage leaves it", r.what(), l.replicas, l.set), nil
	}
	switch a.Op {
	case actuators.Engage:
		// A prewarm window asks for its value, not for one more step.
		to, reason, msg := r.cap(l.replicas, int64(a.To), a.Reason != reasonPrewarm)
		p.To = float64(to)
		return p, reason, msg, nil
	default:
		switch l.st {
		case engaged:
			p.To = float64(l.original)
		case stale:
			p.To = p.From
		default:
			p.To = p.From
			if l.replicas != int64(a.To) {
				return p, actuators.Overridden, fmt.Sprintf("%s has %d replicas and no record of presage's change: presage leaves it", r.what(), l.replicas), nil
			}
		}
		return p, "", "", nil
	}
}

// Apply sets the replica count to a.To (engage, never above the connection
// budget) or restores the recorded original (revert). It re-reads and
// retries on conflicts, and yields when someone else changed the count
// presage set.
func (r *Replicas) Apply(ctx context.Context, a actuators.Action) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := r.read(ctx)
		if err != nil {
			return err
		}
		drop := l.st == stale // a record to remove even when the count stays
		if l.st == overridden {
			r.yield(r.what(), l.set, l.replicas)
			if a.Op == actuators.Revert {
				return r.forget(ctx, l.rv)
			}
			// A new engagement (the policy had not this one engaged: a
			// restart) starts afresh from the live count.
			l.st, drop = untracked, true
		}
		switch {
		case a.Op == actuators.Revert:
			if l.st == engaged {
				rv, err := r.scale(ctx, l, l.original)
				if err != nil {
					return err
				}
				r.c.warm.stop(r)
				if err := r.at(pointRestored); err != nil {
					return err
				}
				return r.forget(ctx, rv)
			}
			if l.st == stale {
				return r.forget(ctx, l.rv)
			}
			return nil
		}
		to, reason, msg := r.cap(l.replicas, int64(a.To), false)
		if reason != "" {
			r.c.budget.WithLabelValues(r.service, r.action).Inc()
			r.log.Warn("scale-up capped", "reason", reason, "detail", msg)
		}
		original := l.replicas
		if l.st == engaged {
			original = l.original
		}
		if to == l.replicas {
			if drop {
				return r.forget(ctx, l.rv)
			}
			return nil
		}
		rv, err := r.record(ctx, l.rv, original, to, a)
		if err != nil {
			return err
		}
		if err := r.at(pointIntent); err != nil {
			return err
		}
		l.rv = rv
		if _, err := r.scale(ctx, l, to); err != nil {
			return err
		}
		if to > l.replicas {
			r.c.warm.start(r, to, r.c.now())
		}
		r.log.Info("scaled", "op", a.Op, "from", l.replicas, "to", to, "original", original)
		return r.at(pointChanged)
	})
	if err != nil {
		return fmt.Errorf("kube: %s %s: %w", a.Op, r.what(), err)
	}
	return nil
}

// record writes the change's record on the object, on the condition that
// it is still at resource version rv, and returns the new one.
func (r *Replicas) record(ctx context.Context, rv string, original, set int64, a actuators.Action) (string, error) {
	ann := map[string]any{
		OriginalReplicas: strconv.FormatInt(original, 10),
		SetReplicas:      strconv.FormatInt(set, 10),
		ChangedAt:        formatTime(a.At),
	}
	return r.patchAnnotations(ctx, rv, ann)
}

// forget removes the record from the object at resource version rv.
func (r *Replicas) forget(ctx context.Context, rv string) error {
	_, err := r.patchAnnotations(ctx, rv, map[string]any{OriginalReplicas: nil, SetReplicas: nil, ChangedAt: nil})
	return err
}

func (r *Replicas) patchAnnotations(ctx context.Context, rv string, ann map[string]any) (string, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": rv, "annotations": ann}})
	if err != nil {
		return "", err
	}
	obj, err := r.res().Patch(ctx, r.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return "", fmt.Errorf("annotate: %w", err)
	}
	return obj.GetResourceVersion(), nil
}

// scale updates the /scale subresource to n replicas on the condition that
// the object is still at l.rv, and returns the new resource version.
func (r *Replicas) scale(ctx context.Context, l replicasLive, n int64) (string, error) {
	sc := l.scale.DeepCopy()
	sc.SetResourceVersion(l.rv)
	if err := unstructured.SetNestedField(sc.Object, n, "spec", "replicas"); err != nil {
		return "", err
	}
	out, err := r.res().Update(ctx, sc, metav1.UpdateOptions{FieldManager: FieldManager}, "scale")
	if err != nil {
		return "", fmt.Errorf("update scale: %w", err)
	}
	return out.GetResourceVersion(), nil
}
