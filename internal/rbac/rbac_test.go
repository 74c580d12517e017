package rbac

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/presage-dev/presage/config"
)

// testConfig is a config whose playbook holds the given kube actuators
// (YAML of the actuator.kube sections) and the given kubernetes section.
func testConfig(t *testing.T, kubernetes string, kubes ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("source:\n  kind: prometheus\n  prometheus:\n    url: http://prometheus:9090\n")
	if kubernetes != "" {
		b.WriteString("kubernetes:\n" + indent(kubernetes, "  "))
	}
	b.WriteString("services:\n  - name: checkout\n    signals:\n      latency: {query: p99}\n    incident: {above: 0.5}\n    playbook:\n")
	for i, k := range kubes {
		minMax := "min: 0\n        max: 1\n"
		if strings.Contains(k, "target: replicas") {
			minMax = "min: 1\n        max: 4\n"
		}
		if strings.Contains(k, "target: cpu_limits") {
			minMax = "min: 0.5\n        max: 1\n"
		}
		fmt.Fprintf(&b, "      - name: a%d\n        actuator:\n          kind: kube\n          kube:\n%s        %s", i, indent(k, "            "), minMax)
	}
	cfg, err := config.Load([]byte(b.String()), "test.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return cfg
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = by + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

const (
	replicas  = "target: replicas\nnamespace: shop\nname: db\ngroup: postgresql.cnpg.io\nversion: v1\nresource: clusters\n"
	flag      = "target: flag\nnamespace: shop\nname: flags\nkey: queue\n"
	flag2     = "target: flag\nnamespace: shop\nname: other-flags\nkey: queue\n"
	cpu       = "target: cpu_limits\nnamespace: batch\nselector: tier=low\n"
	leaderCfg = "leader_election:\n  enabled: true\n"
	leaderNS  = "leader_election:\n  enabled: true\n  namespace: ops\n  name: lock\n"
)

// rule is a compact rule: "ns group resource names verbs".
func compact(rules map[string][]Rule) []string {
	var out []string
	for ns, rs := range rules {
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s %q %s [%s] %s", ns, r.APIGroups[0], r.Resources[0],
				strings.Join(r.ResourceNames, ","), strings.Join(r.Verbs, ",")))
		}
	}
	slices.Sort(out)
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name       string
		kubernetes string
		kubes      []string
		readOnly   bool
		want       []string
	}{
		{name: "no kube actions", want: nil},
		{name: "leader election only, in presage's namespace", kubernetes: leaderCfg, want: []string{
			`presage "coordination.k8s.io" leases [] create`,
			`presage "coordination.k8s.io" leases [presage] get,update`,
		}},
		{name: "sharding: member Leases cannot be named", kubernetes: leaderCfg + "  replicas: 3\n", want: []string{
			`presage "coordination.k8s.io" leases [] get,list,create,update,delete`,
		}},
		{name: "leader election in its own namespace", kubernetes: leaderNS, want: []string{
			`ops "coordination.k8s.io" leases [] create`,
			`ops "coordination.k8s.io" leases [lock] get,update`,
		}},
		{name: "replicas of a custom resource", kubes: []string{replicas}, want: []string{
			`shop "postgresql.cnpg.io" clusters [db] get,patch`,
			`shop "postgresql.cnpg.io" clusters/scale [db] get,update`,
		}},
		{name: "two flags share a rule", kubes: []string{flag, flag2}, want: []string{
			`shop "" configmaps [flags,other-flags] get,update`,
		}},
		{name: "cpu limits cannot be narrowed", kubes: []string{cpu}, want: []string{
			`batch "" pods [] get,list,patch`,
			`batch "" pods/resize [] update`,
			`batch "apps" deployments [] get,list,update`,
			`batch "apps" replicasets [] get`,
		}},
		{name: "read-only: get and list, no lease", kubernetes: leaderCfg, kubes: []string{replicas, flag, cpu}, readOnly: true, want: []string{
			`batch "" pods [] list`,
			`batch "apps" deployments [] list`,
			`shop "" configmaps [flags] get`,
			`shop "postgresql.cnpg.io" clusters [db] get`,
			`shop "postgresql.cnpg.io" clusters/scale [db] get`,
		}},
		{name: "replicas of a deployment beside cpu limits: the wider grant wins", kubes: []string{
			"target: replicas\nnamespace: batch\nname: web\n", cpu}, want: []string{
			`batch "" pods [] get,list,patch`,
			`batch "" pods/resize [] update`,
			`batch "apps" deployments [] get,list,update`,
			`batch "apps" deployments [web] patch`,
			`batch "apps" deployments/scale [web] get,update`,
			`batch "apps" replicasets [] get`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, tt.kubernetes, tt.kubes...)
			got := compact(Rules(cfg, Options{ReadOnly: tt.readOnly}))
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, Rules(testConfig(t, ""), Options{}), Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# This configuration needs no Kubernetes API access") {
		t.Errorf("no rules: %q", buf.String())
	}
	buf.Reset()
	o := Options{Namespace: "ops", ServiceAccount: "bot", ReadOnly: true}
	if err := Write(&buf, Rules(testConfig(t, "", flag), o), o); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Role\nmetadata:\n  name: presage-readonly\n  namespace: shop\n",
		"  # checkout/a0 (flag)\n", "    name: bot\n    namespace: ops\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
}
