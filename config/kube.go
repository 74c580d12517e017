package config

import (
	"regexp"
	"slices"
	"time"
)

// ActuatorKube is the actuator kind that changes Kubernetes objects
// (actuators/kube).
const ActuatorKube = "kube"

// Kubernetes targets (actuator.kube.target).
const (
	// KubeReplicas scales any object with the scale subresource.
	KubeReplicas = "replicas"
	// KubeCPULimits lowers the CPU limits of the pods a selector picks.
	KubeCPULimits = "cpu_limits"
	// KubeFlag sets a key of a ConfigMap.
	KubeFlag = "flag"
)

var kubeTargets = []string{KubeReplicas, KubeCPULimits, KubeFlag}

var (
	// DefaultKubernetes holds the defaults of the kubernetes section.
	DefaultKubernetes = Kubernetes{
		LeaderElection: DefaultLeaderElection,
	}

	// DefaultLeaderElection holds client-go's usual lease timings.
	DefaultLeaderElection = LeaderElection{
		Name:          "presage",
		LeaseDuration: Duration(15 * time.Second),
		RenewDeadline: Duration(10 * time.Second),
		RetryPeriod:   Duration(2 * time.Second),
		Replicas:      1,
	}

	// DefaultKube holds the defaults of a kube actuator.
	DefaultKube = Kube{
		Group:    "apps",
		Version:  "v1",
		Resource: "deployments",
		Floor:    "100m",
		On:       "true",
		Off:      "false",
	}
)

// Kubernetes says how presage reaches the Kubernetes API, used by the kube
// actuators and by leader election.
type Kubernetes struct {
	// Kubeconfig is a kubeconfig file. Empty means the in-cluster config
	// (the pod's service account). The -kubeconfig flag overrides it.
	// A relative path is relative to the working directory. Default "".
	Kubeconfig string `yaml:"kubeconfig"`
	// LeaderElection makes one of several presage replicas act.
	LeaderElection LeaderElection `yaml:"leader_election"`
}

// LeaderElection configures leader election on a coordination.k8s.io Lease:
// every replica forecasts, serves recommendations and metrics; only the
// leader applies actions.
type LeaderElection struct {
	// Enabled turns leader election on. Default false (a single replica
	// acts alone).
	Enabled bool `yaml:"enabled"`
	// Namespace of the Lease. Default: the namespace presage runs in
	// (POD_NAMESPACE, else the service account's namespace file), else
	// "default".
	Namespace string `yaml:"namespace"`
	// Name of the Lease. Default "presage".
	Name string `yaml:"name"`
	// LeaseDuration is how long a lease is valid without renewal.
	// Default 15s.
	LeaseDuration Duration `yaml:"lease_duration"`
	// RenewDeadline is how long the leader retries renewing before it gives
	// up leadership; < lease_duration. Default 10s.
	RenewDeadline Duration `yaml:"renew_deadline"`
	// RetryPeriod is the wait between attempts; < renew_deadline.
	// Default 2s.
	RetryPeriod Duration `yaml:"retry_period"`
	// Replicas is how many presage replicas run. 1 elects one leader that
	// acts on every service (the Lease above). Above 1 the replicas split
	// the services instead (sharding): each holds a member Lease named
	// <name>-member-<identity>, and each service is acted on by the one
	// member that rendezvous hashing over the live members picks (see
	// controller/shard). presage acts on the members it finds, whatever
	// their number; this value only chooses sharding. Needs enabled.
	// Default 1.
	Replicas int `yaml:"replicas"`
}

// Sharded reports whether the replicas split the services (replicas > 1
// with leader election enabled) rather than elect one leader.
func (l LeaderElection) Sharded() bool { return l.Enabled && l.Replicas > 1 }

// Kube configures an actuator of kind kube. What the action's values mean
// depends on Target:
//
//   - replicas: the replica count of the object; min and max bound it.
//     Engaging sets max(current, min(engaged, current+step)) replicas (step 0
//     goes straight to engaged), never more than the connection budget
//     allows; reverting restores the count presage replaced.
//   - cpu_limits: a factor of each container's original CPU limit, in
//     (0, 1]: baseline 1 (the original), engaged e.g. 0.5. The new limit is
//     never below floor; a request above the new limit is lowered to it.
//   - flag: 0 writes off, 1 writes on.
type Kube struct {
	// Target is what the action changes: "replicas", "cpu_limits" or
	// "flag". Required for kind kube.
	Target string `yaml:"target"`
	// Namespace of the object(s). Required.
	Namespace string `yaml:"namespace"`
	// Name of the object to scale (replicas) or of the ConfigMap (flag).
	// Required for those targets.
	Name string `yaml:"name"`

	// Group, Version and Resource name the scaled object's API resource
	// (replicas), e.g. "postgresql.cnpg.io", "v1", "clusters"; the group of
	// the core API is "". Defaults "apps", "v1", "deployments".
	Group    string `yaml:"group"`
	Version  string `yaml:"version"`
	Resource string `yaml:"resource"`
	// Step is how many replicas one engagement adds (replicas); 0 sets the
	// action's engaged value directly. Default 0.
	Step int `yaml:"step"`
	// Connections is the database's connection budget (replicas); when
	// set, presage never scales to more replicas than it allows.
	Connections *ConnectionBudget `yaml:"connections"`

	// Selector is a label selector that picks the pods whose CPU limits
	// are lowered (cpu_limits), e.g. "presage.dev/tier=non-critical".
	// Required for cpu_limits.
	Selector string `yaml:"selector"`
	// Containers names the containers to change (cpu_limits). Default: every
	// container that has a CPU limit.
	Containers []string `yaml:"containers"`
	// Floor is the lowest CPU limit presage sets, as a Kubernetes CPU
	// quantity ("100m", "0.5", "2") (cpu_limits). Default "100m".
	Floor string `yaml:"floor"`

	// Key of the ConfigMap that holds the flag (flag). Required for flag.
	Key string `yaml:"key"`
	// On and Off are the values written when the action engages and when
	// it reverts (flag). Defaults "true" and "false".
	On  string `yaml:"on"`
	Off string `yaml:"off"`
}

// ConnectionBudget bounds the replicas of a workload by the connections its
// pools open on a database: replicas × per_replica + reserved ≤
// max_connections.
type ConnectionBudget struct {
	// MaxConnections is the database's max_connections. Required, > 0.
	MaxConnections int `yaml:"max_connections"`
	// PerReplica is the connection pool size of one replica. Required, > 0.
	PerReplica int `yaml:"per_replica"`
	// Reserved is the connections kept for everything else (superuser,
	// other clients). Default 0.
	Reserved int `yaml:"reserved"`
}

// MaxReplicas returns the most replicas the budget allows.
func (b ConnectionBudget) MaxReplicas() int {
	if b.PerReplica <= 0 {
		return 0
	}
	return max(0, (b.MaxConnections-b.Reserved)/b.PerReplica)
}

// UnmarshalYAML decodes k onto DefaultKube.
func (k *Kube) UnmarshalYAML(unmarshal func(any) error) error {
	*k = DefaultKube
	type plain Kube
	return unmarshal((*plain)(k))
}

// UnmarshalYAML decodes k onto DefaultKubernetes.
func (k *Kubernetes) UnmarshalYAML(unmarshal func(any) error) error {
	*k = DefaultKubernetes
	type plain Kubernetes
	return unmarshal((*plain)(k))
}

// UnmarshalYAML decodes l onto DefaultLeaderElection.
func (l *LeaderElection) UnmarshalYAML(unmarshal func(any) error) error {
	*l = DefaultLeaderElection
	type plain LeaderElection
	return unmarshal((*plain)(l))
}

// cpuQuantity matches the CPU quantities a floor may use: cores ("2",
// "0.5") or millicores ("100m").
var cpuQuantity = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?|[0-9]+m)$`)

// dnsName is a Kubernetes object or namespace name (RFC 1123 subdomain).
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (k *Kubernetes) validate(v *validator, path string) {
	l := &k.LeaderElection
	lp := path + ".leader_election"
	if l.Namespace != "" && !dnsName.MatchString(l.Namespace) {
		v.addf(lp+".namespace", "invalid namespace %q", l.Namespace)
	}
	if l.Name == "" {
		v.add(lp+".name", "required")
	} else if !dnsName.MatchString(l.Name) {
		v.addf(lp+".name", "invalid Lease name %q", l.Name)
	}
	if l.RetryPeriod <= 0 {
		v.addf(lp+".retry_period", "%s must be > 0", l.RetryPeriod)
	}
	if l.RenewDeadline <= l.RetryPeriod {
		v.addf(lp+".renew_deadline", "%s must be > retry_period (%s)", l.RenewDeadline, l.RetryPeriod)
	}
	if l.LeaseDuration <= l.RenewDeadline {
		v.addf(lp+".lease_duration", "%s must be > renew_deadline (%s)", l.LeaseDuration, l.RenewDeadline)
	}
	switch {
	case l.Replicas < 1:
		v.addf(lp+".replicas", "%d must be >= 1", l.Replicas)
	case l.Replicas > 1 && !l.Enabled:
		v.addf(lp+".replicas", "%d replicas split the services on member Leases: needs enabled: true", l.Replicas)
	case l.Replicas > 1 && len(l.Name) > maxMemberPrefix:
		v.addf(lp+".name", "%q is too long for sharding: the member Leases are named <name>-member-<identity> (at most %d characters for the name)", l.Name, maxMemberPrefix)
	}
}

// maxMemberPrefix is the longest Lease name that leaves room for
// "-member-" and a pod name (63 characters) in a member Lease's name
// (253 characters at most).
const maxMemberPrefix = 253 - len("-member-") - 63

// validate checks the kube actuator of the action a at ap.
func (k *Kube) validate(v *validator, ap string, a *Action) {
	path := ap + ".actuator.kube"
	name := func(field, s, what string) {
		switch {
		case s == "":
			v.addf(path+"."+field, "required for target %s", k.Target)
		case !dnsName.MatchString(s) || len(s) > 253:
			v.addf(path+"."+field, "invalid %s %q", what, s)
		}
	}
	only := func(field string, set bool, targets ...string) {
		if set && !slices.Contains(targets, k.Target) {
			v.addf(path+"."+field, "only for target %s", oneOf(targets...))
		}
	}
	switch k.Target {
	case "":
		v.addf(path+".target", "required for actuator kind kube (want %s)", oneOf(kubeTargets...))
		return
	case KubeReplicas, KubeCPULimits, KubeFlag:
	default:
		v.addf(path+".target", "unknown target %q (want %s)", k.Target, oneOf(kubeTargets...))
		return
	}
	name("namespace", k.Namespace, "namespace")
	only("name", k.Name != "", KubeReplicas, KubeFlag)
	only("step", k.Step != 0, KubeReplicas)
	only("connections", k.Connections != nil, KubeReplicas)
	only("selector", k.Selector != "", KubeCPULimits)
	only("containers", len(k.Containers) > 0, KubeCPULimits)
	only("key", k.Key != "", KubeFlag)

	switch k.Target {
	case KubeReplicas:
		name("name", k.Name, "object name")
		if k.Version == "" {
			v.add(path+".version", "required for target replicas")
		}
		if k.Resource == "" {
			v.add(path+".resource", "required for target replicas")
		}
		if k.Step < 0 {
			v.addf(path+".step", "%d must be >= 0", k.Step)
		}
		if a.Min < 0 || a.Min != float64(int(a.Min)) {
			v.addf(ap+".min", "%s must be a whole number >= 0 for target replicas", num(a.Min))
		}
		if a.Max != float64(int(a.Max)) {
			v.addf(ap+".max", "%s must be a whole number for target replicas", num(a.Max))
		}
		if b := k.Connections; b != nil {
			bp := path + ".connections"
			if b.MaxConnections <= 0 {
				v.addf(bp+".max_connections", "%d must be > 0", b.MaxConnections)
			}
			if b.PerReplica <= 0 {
				v.addf(bp+".per_replica", "%d must be > 0", b.PerReplica)
			}
			if b.Reserved < 0 {
				v.addf(bp+".reserved", "%d must be >= 0", b.Reserved)
			}
			if b.MaxConnections > 0 && b.PerReplica > 0 && float64(b.MaxReplicas()) < a.Min {
				v.addf(bp, "allows %d replicas, fewer than the action's min (%s)", b.MaxReplicas(), num(a.Min))
			}
		}
	case KubeCPULimits:
		if k.Selector == "" {
			v.add(path+".selector", "required for target cpu_limits")
		}
		if !cpuQuantity.MatchString(k.Floor) {
			v.addf(path+".floor", "invalid CPU quantity %q (want e.g. 100m or 0.5)", k.Floor)
		}
		if a.Min < 0 {
			v.addf(ap+".min", "%s must be >= 0 for target cpu_limits (a factor of the original limit)", num(a.Min))
		}
		if a.Max > 1 {
			v.addf(ap+".max", "%s must be <= 1 for target cpu_limits (a factor of the original limit)", num(a.Max))
		}
	case KubeFlag:
		name("name", k.Name, "ConfigMap name")
		if k.Key == "" {
			v.add(path+".key", "required for target flag")
		}
		if k.On == k.Off {
			v.addf(path+".on", "%q equals off: the flag would change nothing", k.On)
		}
		if a.Min != 0 || a.Max != 1 {
			v.addf(ap+".max", "min and max must be 0 and 1 for target flag (got %s and %s)", num(a.Min), num(a.Max))
		}
	}
}
