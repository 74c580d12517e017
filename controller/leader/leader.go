package leader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/presage-dev/presage/config"
)

// Options configures an Elector.
type Options struct {
	// Config holds the Lease's namespace, name and timings. An empty
	// namespace is Namespace()'s.
	Config config.LeaderElection
	// Client reaches the API server; it needs get, create and update on
	// the Lease (presage rbac prints the rules).
	Client kubernetes.Interface
	// Identity names this replica in the Lease. Default: the host name
	// (the pod's name in a cluster) and a random suffix.
	Identity string
	// Logger receives leadership changes; nil discards.
	Logger *slog.Logger
	// Registerer receives presage_leader and
	// presage_follower_actions_total; nil registers nowhere.
	Registerer prometheus.Registerer
	// KeepOnStop keeps the lease when Run's context ends instead of
	// releasing it, so the others wait out lease_duration, as after a
	// crash. Default false (release: a clean stop hands over at once).
	KeepOnStop bool
}

// Elector campaigns for the Lease and reports whether this replica leads.
type Elector struct {
	cfg      config.LeaderElection
	ns       string
	client   kubernetes.Interface
	identity string
	log      *slog.Logger
	keep     bool

	leading  atomic.Bool
	gauge    prometheus.Gauge
	recorded *prometheus.CounterVec

	mu       sync.Mutex
	gates    []*Gate
	takeOver []func()
}

// CheckTimings returns an error unless c names a Lease and orders its
// timings lease_duration > renew_deadline > retry_period > 0, as client-go's
// leader election needs; controller/shard's member Leases need the same.
func CheckTimings(c config.LeaderElection) error {
	if c.Name == "" || c.RetryPeriod <= 0 || c.RenewDeadline <= c.RetryPeriod || c.LeaseDuration <= c.RenewDeadline {
		return fmt.Errorf("need a Lease name and lease_duration > renew_deadline > retry_period > 0 (got %q, %s, %s, %s)",
			c.Name, c.LeaseDuration, c.RenewDeadline, c.RetryPeriod)
	}
	return nil
}

// New returns an Elector; Run campaigns.
func New(o Options) (*Elector, error) {
	if o.Client == nil {
		return nil, errors.New("leader: a Kubernetes client is required")
	}
	c := o.Config
	if err := CheckTimings(c); err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	id := o.Identity
	if id == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("leader: identity: %w", err)
		}
		id = host + "_" + string(uuid.NewUUID())
	}
	ns := c.Namespace
	if ns == "" {
		ns = Namespace()
	}
	e := &Elector{
		cfg: c, ns: ns, client: o.Client, identity: id, log: log.With("lease", ns+"/"+c.Name, "identity", id), keep: o.KeepOnStop,
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presage_leader",
			Help: "1 while this replica holds the leader-election Lease and applies actions, else 0.",
		}),
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_follower_actions_total",
			Help: "Actions decided while this replica did not lead: recorded, not applied.",
		}, []string{"service", "action", "op"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.gauge, e.recorded)
	}
	return e, nil
}

// OnTakeOver registers fn to be called each time this replica gains the
// Lease, after its Gates have taken over; cmd/presage passes the
// controller's RequestReconcile, so the new leader's policy state becomes
// what the targets record. fn runs on the election's goroutine and must
// not block.
func (e *Elector) OnTakeOver(fn func()) {
	e.mu.Lock()
	e.takeOver = append(e.takeOver, fn)
	e.mu.Unlock()
}

// Identity returns this replica's name in the Lease.
func (e *Elector) Identity() string { return e.identity }

// Leading reports whether this replica holds the Lease.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Run campaigns for the Lease until ctx ends, again after every loss. It
// releases the Lease when ctx ends (unless Options.KeepOnStop): cancel ctx
// only once nothing applies actions any more (after controller.Run has
// returned).
func (e *Elector) Run(ctx context.Context) error {
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, e.ns, e.cfg.Name,
		e.client.CoreV1(), e.client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: e.identity})
	if err != nil {
		return fmt.Errorf("leader: lock: %w", err)
	}
	e.log.Info("campaigning for the lease")
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   time.Duration(e.cfg.LeaseDuration),
			RenewDeadline:   time.Duration(e.cfg.RenewDeadline),
			RetryPeriod:     time.Duration(e.cfg.RetryPeriod),
			ReleaseOnCancel: !e.keep,
			Name:            e.cfg.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: e.started,
				OnStoppedLeading: e.stopped,
				OnNewLeader: func(id string) {
					if id != e.identity {
						e.log.Info("following", "leader", id)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader: %w", err)
		}
		le.Run(ctx) // returns when ctx ends or the lease is lost
	}
	return nil
}

func (e *Elector) started(ctx context.Context) {
	e.leading.Store(true)
	e.gauge.Set(1)
	e.log.Info("leading: actions are applied")
	e.mu.Lock()
	gates := append([]*Gate(nil), e.gates...)
	hooks := append([]func(){}, e.takeOver...)
	e.mu.Unlock()
	for _, g := range gates {
		g.takeOver(ctx)
	}
	for _, fn := range hooks {
		fn()
	}
}

func (e *Elector) stopped() {
	if e.leading.Swap(false) {
		e.log.Info("lost the lease: actions are recorded, not applied")
	}
	e.gauge.Set(0)
}

// Namespace returns the namespace presage runs in: POD_NAMESPACE, else the
// service account's namespace file, else "default".
func Namespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "default"
}
