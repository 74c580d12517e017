package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

// Annotations presage writes on the objects it changes.
const (
	// AnnotationPrefix starts every annotation presage writes.
	AnnotationPrefix = "presage.dev/"
	// OriginalReplicas is the replica count presage replaced.
	OriginalReplicas = AnnotationPrefix + "original-replicas"
	// SetReplicas is the replica count presage set.
	SetReplicas = AnnotationPrefix + "set-replicas"
	// OriginalCPU is the CPU limit and request of each container presage
	// changed, before the change (JSON: {"container": {"limit": "1",
	// "request": "500m"}}; an empty request is none).
	OriginalCPU = AnnotationPrefix + "original-cpu"
	// SetCPUFactor is the factor of the original limits presage set.
	SetCPUFactor = AnnotationPrefix + "set-cpu-factor"
	// FlagPrefix starts the annotation of a ConfigMap key presage set
	// (presage.dev/flag.KEY): JSON {"original": "false" or null when the
	// key was absent, "set": "true"}.
	FlagPrefix = AnnotationPrefix + "flag."
	// ChangedAt is when presage made the change (RFC 3339, the step time).
	ChangedAt = AnnotationPrefix + "changed-at"
)

// Crash points, where tests stop an Apply as if presage had died there.
const (
	pointIntent   = "intent"   // the record is written, the change not yet
	pointChanged  = "changed"  // the change is made, Apply has not returned
	pointRestored = "restored" // a revert restored the value, the record is not yet removed
)

// Client holds the Kubernetes clients and the metrics every kube actuator
// shares. It is safe for concurrent use.
type Client struct {
	core kubernetes.Interface
	dyn  dynamic.Interface
	log  *slog.Logger

	overridden *prometheus.CounterVec
	budget     *prometheus.CounterVec
	warm       *warmups // the scale-ups WatchWarmups waits for

	// now is the wall clock of the warm-up measurements (tests set it).
	now func() time.Time
}

// NewClient returns a Client for the API server of rc. Its metrics go to
// reg (nil registers nowhere), its logs to log (nil discards).
func NewClient(rc *rest.Config, reg prometheus.Registerer, log *slog.Logger) (*Client, error) {
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: clientset: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: dynamic client: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		core: core, dyn: dyn, log: log, warm: newWarmups(), now: time.Now,
		overridden: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_overridden_total",
			Help: "Changes presage stopped managing because someone else changed the value it set (reason Overridden).",
		}, []string{"service", "action"}),
		budget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_connection_budget_capped_total",
			Help: "Scale-ups capped or refused by the database's connection budget (reason ConnectionBudget).",
		}, []string{"service", "action"}),
	}
	if reg != nil {
		if err := reg.Register(c.overridden); err != nil {
			return nil, fmt.Errorf("kube: register metrics: %w", err)
		}
		if err := reg.Register(c.budget); err != nil {
			return nil, fmt.Errorf("kube: register metrics: %w", err)
		}
		for _, m := range c.warm.collectors() {
			if err := reg.Register(m); err != nil {
				return nil, fmt.Errorf("kube: register metrics: %w", err)
			}
		}
	}
	return c, nil
}

// New returns the actuator of the playbook action a of service, of kind
// kube: a *Replicas, *CPULimits or *Flag.
func (c *Client) New(service string, a config.Action) (actuators.Actuator, error) {
	k := a.Actuator.Kube
	b := base{c: c, service: service, action: a.Name, ns: k.Namespace, warmup: time.Duration(a.Warmup),
		log: c.log.With("service", service, "action", a.Name, "namespace", k.Namespace)}
	switch k.Target {
	case config.KubeReplicas:
		return newReplicas(b, k)
	case config.KubeCPULimits:
		return newCPULimits(b, k)
	case config.KubeFlag:
		return newFlag(b, k)
	}
	return nil, fmt.Errorf("kube: unknown target %q", k.Target)
}

// base is what every kube actuator has.
type base struct {
	c       *Client
	service string
	action  string
	ns      string
	warmup  time.Duration // the action's configured warmup
	log     *slog.Logger

	// crash, when set (tests), is called at each crash point; an error
	// stops the Apply there, as if presage had died.
	crash func(point string) error
}

func (b *base) at(point string) error {
	if b.crash == nil {
		return nil
	}
	return b.crash(point)
}

// yield counts and logs a change presage stops managing.
func (b *base) yield(what string, set, live any) {
	b.c.overridden.WithLabelValues(b.service, b.action).Inc()
	b.log.Warn("someone else changed the value presage set: presage stops managing it", "reason", actuators.Overridden,
		"object", what, "set", set, "live", live)
}

// state is how a target stands against presage's record of it.
type state int

const (
	// untracked: no record of presage on the target.
	untracked state = iota
	// engaged: the live value is what presage set.
	engaged
	// stale: the live value is the original one (the change was never
	// made, or was undone): nothing of presage is in force; the record
	// only waits to be removed.
	stale
	// overridden: the live value is neither: someone else changed it.
	overridden
)

func (s state) String() string {
	switch s {
	case untracked:
		return "untracked"
	case engaged:
		return "engaged"
	case stale:
		return "stale"
	}
	return "overridden"
}

// classify compares the live value with presage's record of it.
func classify[T comparable](recorded bool, live, original, set T) state {
	switch {
	case !recorded:
		return untracked
	case live == set:
		return engaged
	case live == original:
		return stale
	}
	return overridden
}

// changedAt parses the ChangedAt annotation; zero when absent or invalid.
func changedAt(ann map[string]string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, ann[ChangedAt])
	return t
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// errStopped is what a test's crash hook returns.
var errStopped = errors.New("kube: stopped (test crash point)")

// ctxErr returns ctx's error wrapped, if any (a change is never started
// once ctx is done).
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	return nil
}

// FieldManager names presage in the objects' managed fields.
const FieldManager = "presage"
