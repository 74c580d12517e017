package main

import (
	"context"
	"io"

	"github.com/presage-dev/presage/internal/rbac"
)

func runRBAC(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rbac", "-config FILE [-namespace NS] [-service-account NAME] [-read-only]", `Print the least Kubernetes RBAC rules a configuration needs, as a Role and a
RoleBinding (to presage's ServiceAccount) per namespace, ready for kubectl
apply -f -. Rules name their objects (resourceNames) wherever the
configuration does: the scaled objects (replicas), the ConfigMaps (flag),
the Lease (leader election). cpu_limits picks pods by a label selector, so
its rules cannot be narrowed by name. Every object presage touches is
namespaced: no ClusterRole is needed.

-read-only prints the rules of presage recommend: only the reads the
actuators make (get, list), no Lease (a dry run does not campaign for
leadership).`, stderr)
	path := fs.String("config", "", "configuration `file`")
	o := rbac.Options{}
	fs.StringVar(&o.Namespace, "namespace", "presage", "`namespace` presage runs in: its ServiceAccount's, and the Lease's when kubernetes.leader_election.namespace is empty")
	fs.StringVar(&o.ServiceAccount, "service-account", "presage", "`name` of presage's ServiceAccount")
	fs.StringVar(&o.Name, "name", "", "`name` of the Roles and RoleBindings (default presage, or presage-readonly with -read-only)")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "the actuators' reads only: the rules of presage recommend")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	return rbac.Write(stdout, rbac.Rules(cfg, o), o)
}
