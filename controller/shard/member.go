package shard

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/leader"
)

// Label is the label every member Lease carries, its value the
// leader_election name: the members of one deployment are the Leases that
// List finds with it.
const Label = "presage.dev/shard"

// Options configures a Membership.
type Options struct {
	// Config holds the Leases' namespace, the name the member Leases are
	// named after and labelled with, and the timings. An empty namespace
	// is leader.Namespace()'s.
	Config config.LeaderElection
	// Client reaches the API server; it needs create, get, update and
	// delete on the member Leases and list on Leases (presage rbac prints
	// the rules).
	Client kubernetes.Interface
	// Identity names this replica among the members. Default: the host
	// name (the pod's name in a cluster), lowercased, and a random
	// suffix.
	Identity string
	// Services are the services split among the members; only
	// presage_shard_services_owned counts them.
	Services []string
	// Logger receives membership changes; nil discards.
	Logger *slog.Logger
	// Registerer receives presage_shard_members,
	// presage_shard_services_owned, presage_shard_acting and
	// presage_follower_actions_total; nil registers nowhere.
	Registerer prometheus.Registerer
	// KeepOnStop keeps the member Lease when Run's context ends instead of
	// deleting it, so that the others wait out lease_duration, as after a
	// crash. Default false.
	KeepOnStop bool
}

// Membership keeps this replica's member Lease and the view of the live
// members, and says which services this replica acts on (Owns).
type Membership struct {
	cfg       config.LeaderElection
	ns, lease string
	selector  string
	client    kubernetes.Interface
	identity  string
	services  []string
	log       *slog.Logger
	keep      bool
	now       func() time.Time // the clock; tests replace it
	lease_    time.Duration    // lease_duration
	deadline  time.Duration    // renew_deadline
	retry     time.Duration    // retry_period

	view atomic.Pointer[view]
	own  *coordinationv1.Lease // this replica's Lease as last written; nil: get it first

	members, owned, acting prometheus.Gauge
	recorded               *prometheus.CounterVec
}

// view is what Owns decides from: the live members as the last successful
// list found them, and this replica's own renewals. Run replaces it whole.
type view struct {
	members  []string  // sorted; this replica among them only when its own Lease is live
	listedAt time.Time // when the list that found them started
	renewed  time.Time // when the last successful renewal of this replica's Lease was sent
	joined   time.Time // when the write that (re)joined returned; zero: not a member
	stopped  bool      // Run has ended: nothing is acted on
}

// New returns a Membership; Run joins and keeps it.
func New(o Options) (*Membership, error) {
	if o.Client == nil {
		return nil, errors.New("shard: a Kubernetes client is required")
	}
	c := o.Config
	if err := leader.CheckTimings(c); err != nil {
		return nil, fmt.Errorf("shard: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	id := o.Identity
	if id == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("shard: identity: %w", err)
		}
		id = host + "-" + rand.String(5)
	}
	id = dnsLabel(id)
	ns := c.Namespace
	if ns == "" {
		ns = leader.Namespace()
	}
	m := &Membership{
		cfg: c, ns: ns, lease: c.Name + "-member-" + id, selector: Label + "=" + c.Name,
		client: o.Client, identity: id, services: slices.Clone(o.Services), keep: o.KeepOnStop, now: time.Now,
		lease_: time.Duration(c.LeaseDuration), deadline: time.Duration(c.RenewDeadline), retry: time.Duration(c.RetryPeriod),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presage_shard_members",
			Help: "Live members (replicas) this replica sees: their member Leases have not expired.",
		}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presage_shard_services_owned",
			Help: "Services this replica acts on now (0 while it is not acting: joining or unable to renew).",
		}),
		acting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presage_shard_acting",
			Help: "1 while this replica acts on the services it owns: a member past its hand-off whose Lease and view are fresh.",
		}),
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presage_follower_actions_total",
			Help: "Actions decided for a service this replica did not act on at that moment: recorded, not applied.",
		}, []string{"service", "action", "op"}),
	}
	m.log = log.With("member", ns+"/"+m.lease, "identity", id)
	m.view.Store(&view{})
	if o.Registerer != nil {
		o.Registerer.MustRegister(m.members, m.owned, m.acting, m.recorded)
	}
	return m, nil
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel makes id fit a Lease name: lowercase letters, digits and
// dashes, at most 63 characters, starting and ending alphanumeric.
func dnsLabel(id string) string {
	id = notLabel.ReplaceAllString(strings.ToLower(id), "-")
	if len(id) > 63 {
		id = id[len(id)-63:]
	}
	id = strings.Trim(id, "-")
	if id == "" {
		id = "presage"
	}
	return id
}

// Identity returns this replica's name among the members.
func (m *Membership) Identity() string { return m.identity }

// Handoff is how long a replica that joins (or joins again after it could
// not renew) waits before it acts on anything: renew_deadline. Every other
// member acts only on a view listed less than renew_deadline ago, so by
// then every member that acts sees the newcomer and has stopped acting on
// what moved to it.
func (m *Membership) Handoff() time.Duration { return m.deadline }

// Owns reports whether this replica acts on service now: it is a member
// that has passed its hand-off, its last successful renewal and its last
// successful list both started less than renew_deadline ago, and rendezvous
// hashing over the live members it listed gives it the service. It is
// cheap and safe for concurrent use; the controller asks it at every step
// and every Gate at every Apply.
func (m *Membership) Owns(service string) bool {
	v := m.view.Load()
	return v.acting(m, m.now()) && Owner(service, v.members) == m.identity
}

// acting reports whether the replica acts at now, on the services its view
// gives it.
func (v *view) acting(m *Membership, now time.Time) bool {
	return !v.stopped && !v.joined.IsZero() && slices.Contains(v.members, m.identity) &&
		!now.Before(v.joined.Add(m.deadline)) &&
		now.Before(v.renewed.Add(m.deadline)) && now.Before(v.listedAt.Add(m.deadline))
}

// Members returns the live members of the last list, sorted.
func (m *Membership) Members() []string { return slices.Clone(m.view.Load().members) }

// Status is what a replica says of its membership (served as /shard).
type Status struct {
	Identity string    `json:"identity"`
	Members  []string  `json:"members"`
	Acting   bool      `json:"acting"`
	Owned    []string  `json:"owned"`
	At       time.Time `json:"at"`
}

// Status returns the membership now, with the services this replica acts
// on (of Options.Services).
func (m *Membership) Status() Status {
	now := m.now()
	v := m.view.Load()
	st := Status{Identity: m.identity, Members: slices.Clone(v.members), Acting: v.acting(m, now), At: now, Owned: []string{}}
	if st.Acting {
		for _, s := range m.services {
			if Owner(s, v.members) == m.identity {
				st.Owned = append(st.Owned, s)
			}
		}
	}
	return st
}

// Gate wraps real so that it applies only while this replica owns the
// action's service (Owns, asked at the Apply); otherwise the action is
// recorded and counted in presage_follower_actions_total.
func (m *Membership) Gate(real actuators.Actuator) *leader.Gate {
	return leader.NewGate(real, m.Owns, m.recorded, m.log)
}
