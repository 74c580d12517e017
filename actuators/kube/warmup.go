package kube

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// WarmupPoll is how often Client.WatchWarmups reads the workloads that
// presage scaled up and that are not Ready yet.
const WarmupPoll = 500 * time.Millisecond

// warmupGiveUp bounds the wait for a scale-up to be Ready: the longer of
// ten configured warm-ups and this.
const warmupGiveUp = 30 * time.Minute

// warmups is what Client.WatchWarmups watches: the scale-ups of Replicas
// actuators that are not Ready yet, by service and action.
type warmups struct {
	mu      sync.Mutex
	pending map[[2]string]warming

	observed *prometheus.GaugeVec
	exceeded *prometheus.CounterVec
	gaveUp   *prometheus.CounterVec
}

// warming is one scale-up waiting for its pods.
type warming struct {
	r     *Replicas
	to    int64     // the replica count set
	since time.Time // when the scale was written (wall clock)
}

func newWarmups() *warmups {
	return &warmups{
		pending: map[[2]string]warming{},
		observed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "presage_observed_warmup_seconds",
			Help: "Time from presage's last scale-up of a replicas action to the workload's status.readyReplicas reaching the count it set (wall clock).",
		}, []string{"service", "action"}),
		exceeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_warmup_exceeded_total",
			Help: "Scale-ups whose observed warm-up (presage_observed_warmup_seconds) was longer than the action's configured warmup.",
		}, []string{"service", "action"}),
		gaveUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_warmup_unobserved_total",
			Help: "Scale-ups whose workload did not report the replicas Ready before presage reverted them or stopped waiting.",
		}, []string{"service", "action"}),
	}
}

func (w *warmups) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.observed, w.exceeded, w.gaveUp}
}

// start begins watching r's scale-up to `to` replicas, written at since.
func (w *warmups) start(r *Replicas, to int64, since time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[[2]string{r.service, r.action}] = warming{r: r, to: to, since: since}
}

// stop stops watching r's scale-up (a revert): it is counted unobserved
// when its pods were not all Ready yet.
func (w *warmups) stop(r *Replicas) {
	w.mu.Lock()
	_, ok := w.pending[[2]string{r.service, r.action}]
	delete(w.pending, [2]string{r.service, r.action})
	w.mu.Unlock()
	if ok {
		w.gaveUp.WithLabelValues(r.service, r.action).Inc()
		r.log.Info("warm-up not observed: reverted before the replicas were Ready")
	}
}

func (w *warmups) snapshot() []warming {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]warming, 0, len(w.pending))
	for _, p := range w.pending {
		out = append(out, p)
	}
	return out
}

// done removes p when it is still the pending scale-up of its action.
func (w *warmups) done(p warming) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := [2]string{p.r.service, p.r.action}
	if cur, ok := w.pending[k]; !ok || cur != p {
		return false
	}
	delete(w.pending, k)
	return true
}

// WatchWarmups measures, until ctx ends, how long each scale-up of a
// replicas action takes to be Ready: from the write of the scale to the
// object's status.readyReplicas reaching the count presage set, read every
// WarmupPoll. It exports the time as presage_observed_warmup_seconds, and
// when it is longer than the action's configured warmup it counts
// presage_warmup_exceeded_total and logs a warning: the policy engages
// the action too late by the difference. An object without
// status.readyReplicas (a custom resource that reports readiness
// otherwise) is never observed; after the longer of ten warm-ups and 30
// minutes the wait is given up (presage_warmup_unobserved_total), as it is
// when a revert comes first. It returns nil when ctx ends.
func (c *Client) WatchWarmups(ctx context.Context) error {
	tick := time.NewTicker(WarmupPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		c.pollWarmups(ctx)
	}
}

// pollWarmups reads each pending scale-up's workload once.
func (c *Client) pollWarmups(ctx context.Context) {
	for _, p := range c.warm.snapshot() {
		c.observeWarmup(ctx, p)
	}
}

// observeWarmup reads p's workload once and records its warm-up when its
// ready replicas have reached the count set.
func (c *Client) observeWarmup(ctx context.Context, p warming) {
	r := p.r
	now := c.now()
	elapsed := now.Sub(p.since)
	obj, err := r.res().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Debug("warm-up: read failed", "err", err)
		}
		return
	}
	ready, found, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
	if !found || ready < p.to {
		if elapsed > max(10*r.warmup, warmupGiveUp) && c.warm.done(p) {
			c.warm.gaveUp.WithLabelValues(r.service, r.action).Inc()
			r.log.Warn("warm-up not observed: the replicas presage set are not Ready; stopped waiting",
				"set", p.to, "ready", ready, "waited", elapsed.Round(time.Millisecond))
		}
		return
	}
	if !c.warm.done(p) {
		return
	}
	c.warm.observed.WithLabelValues(r.service, r.action).Set(elapsed.Seconds())
	args := []any{"observed", elapsed.Round(time.Millisecond), "configured", r.warmup, "replicas", p.to}
	if elapsed > r.warmup {
		c.warm.exceeded.WithLabelValues(r.service, r.action).Inc()
		r.log.Warn("the configured warmup is shorter than the observed warm-up: the action engages too late by the difference",
			append(args, "short_by", (elapsed-r.warmup).Round(time.Millisecond))...)
		return
	}
	r.log.Info("warm-up observed: the replicas presage set are Ready", args...)
}
