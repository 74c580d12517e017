package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

var (
	_ actuators.Actuator = (*CPULimits)(nil)
	_ actuators.Reader   = (*CPULimits)(nil)
	_ actuators.Tracker  = (*CPULimits)(nil)
)

// CPULimits lowers the CPU limits of the pods a label selector picks to a
// factor of their original limits (never below the floor; a request above
// the new limit is lowered to it), in place through each pod's resize
// subresource. Where the API server refuses a resize, it changes the pod
// template of the Deployment that owns the pod instead (its pods are then
// replaced). A revert restores the originals exactly.
//
// The resize subresource changes only resources, so a pod's record
// (OriginalCPU, SetCPUFactor) is written just before its resize and
// removed just after its revert, as Replicas does. A Deployment's template
// and its record change in one update.
//
// Pods created after an engagement start from their template.
type CPULimits struct {
	base
	selector   labels.Selector
	containers []string
	floor      int64 // millicores
}

func newCPULimits(b base, k config.Kube) (*CPULimits, error) {
	sel, err := labels.Parse(k.Selector)
	if err != nil || k.Selector == "" {
		return nil, fmt.Errorf("kube: cpu_limits: selector %q: %v", k.Selector, err)
	}
	floor, err := resource.ParseQuantity(k.Floor)
	if err != nil {
		return nil, fmt.Errorf("kube: cpu_limits: floor %q: %w", k.Floor, err)
	}
	c := &CPULimits{base: b, selector: sel, containers: k.Containers, floor: floor.MilliValue()}
	c.log = c.log.With("selector", k.Selector)
	return c, nil
}

// cpuValues is one container's CPU limit and request as quantities ("" is
// none).
type cpuValues struct {
	Limit   string `json:"limit"`
	Request string `json:"request,omitempty"`
}

// cpuRecord is a pod's or template's record: the originals by container.
type cpuRecord map[string]cpuValues

func milli(q string) int64 {
	if q == "" {
		return -1
	}
	v, err := resource.ParseQuantity(q)
	if err != nil {
		return -2
	}
	return v.MilliValue()
}

// target returns the limit and request (millicores, -1 none) of a
// container whose originals are o, at factor f.
func (c *CPULimits) target(o cpuValues, f float64) (limit, request int64) {
	l, r := milli(o.Limit), milli(o.Request)
	limit = min(l, max(c.floor, int64(math.Round(float64(l)*f))))
	if f >= 1 {
		limit = l
	}
	request = r
	if r > limit {
		request = limit
	}
	return limit, request
}

func liveValues(ct corev1.Container) cpuValues {
	var v cpuValues
	if q, ok := ct.Resources.Limits[corev1.ResourceCPU]; ok {
		v.Limit = q.String()
	}
	if q, ok := ct.Resources.Requests[corev1.ResourceCPU]; ok {
		v.Request = q.String()
	}
	return v
}

// chosen reports whether presage changes container ct.
func (c *CPULimits) chosen(ct corev1.Container) bool {
	if _, ok := ct.Resources.Limits[corev1.ResourceCPU]; !ok {
		return false
	}
	return len(c.containers) == 0 || slices.Contains(c.containers, ct.Name)
}

// cpuLive is a pod spec (or template) against presage's record.
type cpuLive struct {
	rec    cpuRecord
	factor float64
	st     state
}

// assess reads the record in ann and compares the containers with it.
func (c *CPULimits) assess(ann map[string]string, cts []corev1.Container) cpuLive {
	raw, ok1 := ann[OriginalCPU]
	fs, ok2 := ann[SetCPUFactor]
	if !ok1 && !ok2 {
		return cpuLive{st: untracked, factor: 1}
	}
	var l cpuLive
	f, err := strconv.ParseFloat(fs, 64)
	if err != nil || json.Unmarshal([]byte(raw), &l.rec) != nil || len(l.rec) == 0 {
		return cpuLive{st: overridden, factor: 1}
	}
	l.factor = f
	isSet, isOrig := true, true
	for name, o := range l.rec {
		i := slices.IndexFunc(cts, func(ct corev1.Container) bool { return ct.Name == name })
		if i < 0 {
			return cpuLive{rec: l.rec, st: overridden, factor: 1}
		}
		v := liveValues(cts[i])
		lim, req := c.target(o, f)
		isSet = isSet && milli(v.Limit) == lim && milli(v.Request) == req
		isOrig = isOrig && milli(v.Limit) == milli(o.Limit) && milli(v.Request) == milli(o.Request)
	}
	switch {
	case isSet:
		l.st = engaged
	case isOrig:
		l.st = stale
	default:
		l.st = overridden
	}
	return l
}

// setResources sets the containers of rec to factor f of their originals
// (f 1 restores them).
func (c *CPULimits) setResources(cts []corev1.Container, rec cpuRecord, f float64) {
	for i := range cts {
		o, ok := rec[cts[i].Name]
		if !ok {
			continue
		}
		res := &cts[i].Resources
		if f >= 1 {
			setQuantity(&res.Limits, o.Limit)
			setQuantity(&res.Requests, o.Request)
			continue
		}
		lim, req := c.target(o, f)
		res.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(lim, resource.DecimalSI)
		if req >= 0 {
			res.Requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(req, resource.DecimalSI)
		}
	}
}

func setQuantity(l *corev1.ResourceList, q string) {
	if q == "" {
		delete(*l, corev1.ResourceCPU)
		return
	}
	if *l == nil {
		*l = corev1.ResourceList{}
	}
	(*l)[corev1.ResourceCPU] = resource.MustParse(q)
}

// originals records the chosen containers' current values.
func (c *CPULimits) originals(cts []corev1.Container) cpuRecord {
	rec := cpuRecord{}
	for _, ct := range cts {
		if c.chosen(ct) {
			rec[ct.Name] = liveValues(ct)
		}
	}
	return rec
}

func (c *CPULimits) pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := c.c.core.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: c.selector.String()})
	if err != nil {
		return nil, fmt.Errorf("kube: list pods %s in %s: %w", c.selector, c.ns, err)
	}
	return l.Items, nil
}

// deployments returns the Deployments of the namespace whose pods the
// selector picks and that carry a record of presage.
func (c *CPULimits) deployments(ctx context.Context) ([]appsv1.Deployment, error) {
	l, err := c.c.core.AppsV1().Deployments(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube: list deployments in %s: %w", c.ns, err)
	}
	var out []appsv1.Deployment
	for _, d := range l.Items {
		if _, ok := d.Annotations[SetCPUFactor]; ok && c.selector.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out, nil
}

// Current returns the factor in force: that of the first pod (or
// Deployment template) presage changed, else 1.
func (c *CPULimits) Current(ctx context.Context) (float64, error) {
	t, ok, err := c.Tracked(ctx)
	if err != nil || !ok {
		return 1, err
	}
	return t.To, nil
}

// Tracked returns the change in force on the pods or templates, if any.
func (c *CPULimits) Tracked(ctx context.Context) (actuators.Tracked, bool, error) {
	pods, err := c.pods(ctx)
	if err != nil {
		return actuators.Tracked{}, false, err
	}
	for _, p := range pods {
		if l := c.assess(p.Annotations, p.Spec.Containers); l.st == engaged {
			return actuators.Tracked{From: 1, To: l.factor, At: changedAt(p.Annotations)}, true, nil
		}
	}
	deps, err := c.deployments(ctx)
	if err != nil {
		return actuators.Tracked{}, false, err
	}
	for _, d := range deps {
		if l := c.assess(d.Annotations, d.Spec.Template.Spec.Containers); l.st == engaged {
			return actuators.Tracked{From: 1, To: l.factor, At: changedAt(d.Annotations)}, true, nil
		}
	}
	return actuators.Tracked{}, false, nil
}

// Apply sets every chosen container of the selected pods to a.To times its
// original limit (engage) or restores the originals (revert). A pod whose
// resize is refused has its Deployment's template changed instead.
func (c *CPULimits) Apply(ctx context.Context, a actuators.Action) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	f := a.To
	if a.Op == actuators.Revert {
		f = 1
	}
	if f <= 0 || f > 1 {
		return fmt.Errorf("kube: cpu_limits: factor %g out of (0, 1]", f)
	}
	pods, err := c.pods(ctx)
	if err != nil {
		return err
	}
	var errs []error
	done := map[string]bool{} // Deployments changed through the fallback
	for _, p := range pods {
		err := c.pod(ctx, p.Name, f, a)
		var refused *refusedError
		if errors.As(err, &refused) {
			c.log.Info("resize refused: changing the pod template instead", "pod", p.Name, "err", refused.err)
			err = c.viaTemplate(ctx, p, f, a, done)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if a.Op == actuators.Revert {
		deps, err := c.deployments(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, d := range deps {
			if !done[d.Name] {
				errs = append(errs, c.template(ctx, d.Name, 1, a))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kube: %s cpu_limits %s in %s: %w", a.Op, c.selector, c.ns, err)
	}
	return nil
}

// refusedError is a resize the API server refused for good.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return "resize refused: " + e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

func refused(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) ||
		apierrors.IsMethodNotSupported(err) || apierrors.IsBadRequest(err)
}

// pod changes one pod to factor f of its originals.
func (c *CPULimits) pod(ctx context.Context, name string, f float64, a actuators.Action) error {
	pods := c.c.core.CoreV1().Pods(c.ns)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get pod %s: %w", name, err)
		}
		l := c.assess(p.Annotations, p.Spec.Containers)
		if l.st == overridden {
			c.yield("pod "+c.ns+"/"+name, l.factor, "changed")
			if f >= 1 {
				return c.forgetPod(ctx, p)
			}
			// A new engagement (after a restart) starts afresh.
			l = cpuLive{st: untracked, factor: 1}
		}
		switch {
		case f >= 1 && l.st == engaged:
			q := p.DeepCopy()
			c.setResources(q.Spec.Containers, l.rec, 1)
			restored, err := pods.UpdateResize(ctx, name, q, metav1.UpdateOptions{FieldManager: FieldManager})
			if err != nil {
				return fmt.Errorf("resize pod %s: %w", name, err)
			}
			if err := c.at(pointRestored); err != nil {
				return err
			}
			return c.forgetPod(ctx, restored)
		case f >= 1:
			if l.st == stale {
				return c.forgetPod(ctx, p)
			}
			return nil
		case l.st == engaged && l.factor == f:
			return nil
		}
		rec := l.rec
		if l.st != engaged {
			rec = c.originals(p.Spec.Containers)
		}
		if len(rec) == 0 {
			return nil
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": p.ResourceVersion,
			"annotations": map[string]any{OriginalCPU: string(b), SetCPUFactor: fmtFloat(f), ChangedAt: formatTime(a.At)}}})
		p, err = pods.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		if err != nil {
			return fmt.Errorf("annotate pod %s: %w", name, err)
		}
		if err := c.at(pointIntent); err != nil {
			return err
		}
		q := p.DeepCopy()
		c.setResources(q.Spec.Containers, rec, f)
		if _, err := pods.UpdateResize(ctx, name, q, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			if refused(err) {
				// The record stays stale (the pod has its originals);
				// remove it.
				if p, gerr := pods.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
					_ = c.forgetPod(ctx, p)
				}
				return &refusedError{err: err}
			}
			return fmt.Errorf("resize pod %s: %w", name, err)
		}
		c.log.Info("pod resized", "pod", name, "op", a.Op, "factor", f)
		return c.at(pointChanged)
	})
}

func (c *CPULimits) forgetPod(ctx context.Context, p *corev1.Pod) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": p.ResourceVersion,
		"annotations": map[string]any{OriginalCPU: nil, SetCPUFactor: nil, ChangedAt: nil}}})
	if _, err := c.c.core.CoreV1().Pods(c.ns).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("remove record of pod %s: %w", p.Name, err)
	}
	return nil
}

// viaTemplate changes the template of the Deployment that owns pod p
// (through its ReplicaSet), once per Deployment.
func (c *CPULimits) viaTemplate(ctx context.Context, p corev1.Pod, f float64, a actuators.Action, done map[string]bool) error {
	owner := metav1.GetControllerOf(&p)
	if owner == nil || owner.Kind != "ReplicaSet" {
		return fmt.Errorf("pod %s: resize refused and no ReplicaSet owns it", p.Name)
	}
	rs, err := c.c.core.AppsV1().ReplicaSets(c.ns).Get(ctx, owner.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("pod %s: get its replicaset: %w", p.Name, err)
	}
	dep := metav1.GetControllerOf(rs)
	if dep == nil || dep.Kind != "Deployment" {
		return fmt.Errorf("pod %s: resize refused and no Deployment owns replicaset %s", p.Name, rs.Name)
	}
	if done[dep.Name] {
		return nil
	}
	done[dep.Name] = true
	return c.template(ctx, dep.Name, f, a)
}

// template changes a Deployment's pod template and its record in one
// update.
func (c *CPULimits) template(ctx context.Context, name string, f float64, a actuators.Action) error {
	deps := c.c.core.AppsV1().Deployments(c.ns)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get deployment %s: %w", name, err)
		}
		l := c.assess(d.Annotations, d.Spec.Template.Spec.Containers)
		q := d.DeepCopy()
		forget := func() {
			delete(q.Annotations, OriginalCPU)
			delete(q.Annotations, SetCPUFactor)
			delete(q.Annotations, ChangedAt)
		}
		if l.st == overridden {
			c.yield("deployment "+c.ns+"/"+name, l.factor, "changed")
			forget()
			if f < 1 {
				// A new engagement (after a restart) starts afresh.
				l = cpuLive{st: untracked, factor: 1}
			}
		}
		switch {
		case l.st == overridden:
			// A revert leaves the template: only the record goes.
		case f >= 1 && l.st == engaged:
			c.setResources(q.Spec.Template.Spec.Containers, l.rec, 1)
			forget()
		case f >= 1:
			if l.st != stale {
				return nil
			}
			forget()
		case l.st == engaged && l.factor == f:
			return nil
		default:
			rec := l.rec
			if l.st != engaged {
				rec = c.originals(q.Spec.Template.Spec.Containers)
			}
			if len(rec) == 0 {
				return nil
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if q.Annotations == nil {
				q.Annotations = map[string]string{}
			}
			q.Annotations[OriginalCPU] = string(b)
			q.Annotations[SetCPUFactor] = fmtFloat(f)
			q.Annotations[ChangedAt] = formatTime(a.At)
			c.setResources(q.Spec.Template.Spec.Containers, rec, f)
		}
		if _, err := deps.Update(ctx, q, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("update deployment %s: %w", name, err)
		}
		c.log.Info("pod template changed", "deployment", name, "op", a.Op, "factor", f)
		return c.at(pointChanged)
	})
}

var _ actuators.Planner = (*CPULimits)(nil)

// Plan reads the pods and templates: a revert where someone else changed
// the limits presage set leaves those as they are (reason Overridden) and
// restores the others.
func (c *CPULimits) Plan(ctx context.Context, a actuators.Action) (actuators.Action, string, string, error) {
	if a.Op != actuators.Revert {
		return a, "", "", nil
	}
	pods, err := c.pods(ctx)
	if err != nil {
		return a, "", "", err
	}
	var over []string
	for _, p := range pods {
		if c.assess(p.Annotations, p.Spec.Containers).st == overridden {
			over = append(over, "pod "+p.Name)
		}
	}
	deps, err := c.deployments(ctx)
	if err != nil {
		return a, "", "", err
	}
	for _, d := range deps {
		if c.assess(d.Annotations, d.Spec.Template.Spec.Containers).st == overridden {
			over = append(over, "deployment "+d.Name)
		}
	}
	if len(over) == 0 {
		return a, "", "", nil
	}
	return a, actuators.Overridden, fmt.Sprintf("someone else changed the CPU limits presage set on %s in %s: presage leaves them and restores the others",
		strings.Join(over, ", "), c.ns), nil
}
