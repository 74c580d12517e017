// Package rbac derives the least Kubernetes RBAC rules a presage
// configuration needs, and writes them as Role and RoleBinding manifests
// (presage rbac).
//
// Every object presage touches is namespaced, so the rules are Roles in the
// namespaces of the targets (and of the leader-election Lease), each bound
// to presage's ServiceAccount; no ClusterRole is needed. A rule names its
// objects (resourceNames) wherever the configuration does:
//
//	target replicas    <resource>/scale   get, update          the named object (read and set the count)
//	                   <resource>         get, patch           the named object (the presage.dev/original-* annotations)
//	target flag        configmaps         get, update          the named ConfigMap (value and record in one update)
//	target cpu_limits  pods               list, get, patch     any (a selector picks them; patch: the annotations)
//	                   pods/resize        update               any (in-place resize)
//	                   apps replicasets   get                  any (a refused resize: the pod's owner leads to
//	                   apps deployments   list, get, update    any  its Deployment, whose template is changed;
//	                                                                list: reverting and reading the templates)
//	leader election    leases             get, update          the named Lease
//	                   leases             create               any (create cannot be narrowed by name)
//	sharding           leases             create, get, update, any (each replica's member Lease is named
//	(replicas > 1)                        delete, list              after its pod, unknown beforehand; list
//	                                                                finds the members)
//
// These are the calls of the kube actuators (actuators/kube), of
// controller/leader and of controller/shard, and no more; a new call there needs its rule here
// (TestRolesOnAPIServer drives the real actuators and the Elector as a
// ServiceAccount bound to these rules). list cannot be narrowed by name,
// nor can the calls on objects a selector picks.
//
// The read-only set (presage recommend) holds only what the actuators'
// readers call (Current, Plan, Tracked): get on the scale and the object of
// replicas, get on a flag's ConfigMap, list on pods and deployments for
// cpu_limits; it leaves the Lease out: a dry run does not campaign. presage
// records no Kubernetes Events, so no rule grants them.
package rbac

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/presage-dev/presage/config"
)

// Options says who the rules are for.
type Options struct {
	// Name of every Role and RoleBinding. Default "presage", or
	// "presage-readonly" with ReadOnly.
	Name string
	// ServiceAccount and Namespace name presage's ServiceAccount, bound to
	// the Roles. Defaults "presage" and "presage".
	ServiceAccount string
	Namespace      string
	// ReadOnly keeps only what the actuators' readers call (get, list):
	// the rules of presage recommend, which writes nothing.
	ReadOnly bool
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "presage"
		if o.ReadOnly {
			o.Name = "presage-readonly"
		}
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = "presage"
	}
	if o.Namespace == "" {
		o.Namespace = "presage"
	}
	return o
}

// Rule is one rule of a namespace's Role, with why it is there.
type Rule struct {
	rbacv1.PolicyRule
	// For lists what needs the rule: "service/action (target)" or
	// "leader election" or "sharding".
	For []string
}

// grant is one verb on one resource, for some names (nil: any).
type grant struct {
	ns, group, resource, verb string
}

type need struct {
	any   bool
	names map[string]bool
	why   map[string]bool
}

type builder struct {
	readOnly bool
	needs    map[grant]*need
}

// read grants verbs the actuators' readers call (Current, Plan, Tracked):
// the read-only rules keep them.
func (b *builder) read(why, ns, group, resource, name string, verbs ...string) {
	b.add(why, ns, group, resource, name, verbs)
}

// write grants verbs only Apply (or the Elector) calls, reads included: the
// read-only rules leave them out.
func (b *builder) write(why, ns, group, resource, name string, verbs ...string) {
	if !b.readOnly {
		b.add(why, ns, group, resource, name, verbs)
	}
}

func (b *builder) add(why, ns, group, resource, name string, verbs []string) {
	for _, v := range verbs {
		g := grant{ns, group, resource, v}
		n := b.needs[g]
		if n == nil {
			n = &need{names: map[string]bool{}, why: map[string]bool{}}
			b.needs[g] = n
		}
		if name == "" {
			n.any = true
		} else {
			n.names[name] = true
		}
		n.why[why] = true
	}
}

// Rules returns, by namespace, the least rules cfg needs, in a stable
// order. The Lease's namespace, when its config leaves it empty, is
// o.Namespace (presage's own, as in a cluster).
func Rules(cfg *config.Config, o Options) map[string][]Rule {
	o = o.withDefaults()
	b := &builder{readOnly: o.ReadOnly, needs: map[grant]*need{}}
	for _, s := range cfg.Services {
		for _, a := range s.Playbook {
			if a.Actuator.Kind != config.ActuatorKube {
				continue
			}
			k := a.Actuator.Kube
			why := fmt.Sprintf("%s/%s (%s)", s.Name, a.Name, k.Target)
			switch k.Target {
			case config.KubeReplicas:
				// Replicas.read: get the scale and the object (its record).
				b.read(why, k.Namespace, k.Group, k.Resource+"/scale", k.Name, "get")
				b.read(why, k.Namespace, k.Group, k.Resource, k.Name, "get")
				// Replicas.scale updates /scale; record and forget patch
				// the annotations.
				b.write(why, k.Namespace, k.Group, k.Resource+"/scale", k.Name, "update")
				b.write(why, k.Namespace, k.Group, k.Resource, k.Name, "patch")
			case config.KubeFlag:
				// Flag.read gets the ConfigMap; Apply updates value and
				// record at once.
				b.read(why, k.Namespace, "", "configmaps", k.Name, "get")
				b.write(why, k.Namespace, "", "configmaps", k.Name, "update")
			case config.KubeCPULimits:
				// CPULimits.pods and .deployments list (Tracked, Plan,
				// Apply); Apply gets and annotates (patch) each pod, resizes
				// it (update pods/resize) and, where that is refused, gets
				// the owning ReplicaSet and gets and updates its Deployment.
				b.read(why, k.Namespace, "", "pods", "", "list")
				b.read(why, k.Namespace, "apps", "deployments", "", "list")
				b.write(why, k.Namespace, "", "pods", "", "get", "patch")
				b.write(why, k.Namespace, "", "pods/resize", "", "update")
				b.write(why, k.Namespace, "apps", "replicasets", "", "get")
				b.write(why, k.Namespace, "apps", "deployments", "", "get", "update")
			}
		}
	}
	switch le := cfg.Kubernetes.LeaderElection; {
	case o.ReadOnly || !le.Enabled:
	case le.Sharded():
		// Each replica's member Lease is named after its identity (the
		// pod's name), unknown here: no rule can name it.
		ns := cmp.Or(le.Namespace, o.Namespace)
		b.write("sharding", ns, "coordination.k8s.io", "leases", "", "create", "get", "update", "delete", "list")
	default:
		ns := cmp.Or(le.Namespace, o.Namespace)
		b.write("leader election", ns, "coordination.k8s.io", "leases", le.Name, "get", "update")
		b.write("leader election", ns, "coordination.k8s.io", "leases", "", "create")
	}
	return b.rules()
}

// rules merges the grants into rules: one per (group, resource, names),
// with every verb granted on exactly those names.
func (b *builder) rules() map[string][]Rule {
	type key struct{ ns, group, resource, names string }
	merged := map[key]*Rule{}
	for g, n := range b.needs {
		var names []string
		if !n.any {
			names = slices.Sorted(maps.Keys(n.names))
		}
		k := key{g.ns, g.group, g.resource, strings.Join(names, ",")}
		r := merged[k]
		if r == nil {
			r = &Rule{PolicyRule: rbacv1.PolicyRule{APIGroups: []string{g.group}, Resources: []string{g.resource}, ResourceNames: names}}
			merged[k] = r
		}
		r.Verbs = append(r.Verbs, g.verb)
		r.For = append(r.For, slices.Collect(maps.Keys(n.why))...)
	}
	out := map[string][]Rule{}
	for k, r := range merged {
		slices.SortFunc(r.Verbs, verbOrder)
		slices.Sort(r.For)
		r.For = slices.Compact(r.For)
		out[k.ns] = append(out[k.ns], *r)
	}
	for ns := range out {
		slices.SortFunc(out[ns], func(a, b Rule) int {
			return cmp.Or(cmp.Compare(a.APIGroups[0], b.APIGroups[0]), cmp.Compare(a.Resources[0], b.Resources[0]),
				cmp.Compare(strings.Join(a.ResourceNames, ","), strings.Join(b.ResourceNames, ",")))
		})
	}
	return out
}

// verbOrder sorts the read verbs first, then the writes.
func verbOrder(a, b string) int {
	rank := func(v string) int {
		return cmp.Or(slices.Index([]string{"get", "list", "watch", "create", "update", "patch", "delete"}, v)+1, 99)
	}
	return cmp.Compare(rank(a), rank(b))
}

// Write writes a Role and a RoleBinding per namespace of rules as YAML
// documents, each rule preceded by a comment saying what needs it.
func Write(w io.Writer, rules map[string][]Rule, o Options) error {
	o = o.withDefaults()
	var sb strings.Builder
	if len(rules) == 0 {
		sb.WriteString("# This configuration needs no Kubernetes API access: no kube actions")
		if !o.ReadOnly {
			sb.WriteString(", no leader election")
		}
		sb.WriteString(".\n")
	}
	for i, ns := range slices.Sorted(maps.Keys(rules)) {
		if i > 0 {
			sb.WriteString("---\n")
		}
		fmt.Fprintf(&sb, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: %s\n  namespace: %s\nrules:\n", o.Name, ns)
		for _, r := range rules[ns] {
			fmt.Fprintf(&sb, "  # %s\n", strings.Join(r.For, ", "))
			fmt.Fprintf(&sb, "  - apiGroups: [%s]\n    resources: [%s]\n", quoteList(r.APIGroups), quoteList(r.Resources))
			if len(r.ResourceNames) > 0 {
				fmt.Fprintf(&sb, "    resourceNames: [%s]\n", quoteList(r.ResourceNames))
			}
			fmt.Fprintf(&sb, "    verbs: [%s]\n", quoteList(r.Verbs))
		}
		fmt.Fprintf(&sb, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: %s\n  namespace: %s\n", o.Name, ns)
		fmt.Fprintf(&sb, "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: %s\n", o.Name)
		fmt.Fprintf(&sb, "subjects:\n  - kind: ServiceAccount\n    name: %s\n    namespace: %s\n", o.ServiceAccount, o.Namespace)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
