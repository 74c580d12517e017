package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/controller/shard"
	"github.com/presage-dev/presage/internal/kubetest"
)

// The failover test's shape: 3 replicas over 300 services, of which hot
// ones engage a Kubernetes flag; lease timings short; a step each wall
// second (interval 1m at -speed 60).
const (
	shardReplicas = 3
	shardServices = 300
	shardHot      = 6
	shardLease    = 4 * time.Second
	shardRenew    = 3 * time.Second
	shardRetry    = time.Second
	shardStep     = time.Second // interval / speed
	// The hot services' load is above capacity for hotMinutes of their
	// owner's step clock, then far below; the flag reverts revertAfter
	// later.
	hotMinutes  = 40
	revertAfter = 5
	// shardSlack is what the bounds allow beyond lease_duration (+ a step):
	// the list that sees the expiry (a few ms on an idle API server, more
	// on this test's shared machine), the 100ms between polls, and the
	// scheduling of 3 presage processes, the API server and etcd on 2 CPUs.
	shardSlack = time.Second
)

// shardConfig writes the config of the failover test: hot-0…hot-5, whose
// one action sets the flag async_queue of ConfigMap flags-hot-<i> in
// namespace shop, and 294 quiet services acting on the simulator only.
func shardConfig(t *testing.T, dir string) string {
	var trace strings.Builder
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for m := range 240 {
		v := 0.1
		if m < hotMinutes {
			v = 1
		}
		fmt.Fprintf(&trace, "%s,%g\n", start.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), v)
	}
	writeTestFile(t, dir, "hot.csv", trace.String())
	var b strings.Builder
	fmt.Fprintf(&b, `global: {listen: "", interval: 1m, history: 2h}
kubernetes:
  leader_election:
    enabled: true
    namespace: presage
    name: presage
    lease_duration: %s
    renew_deadline: %s
    retry_period: %s
    replicas: %d
services:
`, shardLease, shardRenew, shardRetry, shardReplicas)
	for i := range shardServices {
		signals := "    signals: {latency: {sim: latency_p99}, requests: {sim: requests}}\n    incident: {above: 0.5, consecutive: 1}\n"
		if i < shardHot {
			fmt.Fprintf(&b, "  - name: hot-%d\n%s    playbook:\n      - name: async-queue\n        revert_after: %dm\n"+
				"        actuator: {kind: kube, kube: {target: flag, namespace: shop, name: flags-hot-%d, key: async_queue}}\n"+
				"    sim: {load: {trace: hot.csv, peak: 3, peak_quantile: 1}}\n", i, signals, revertAfter, i)
			continue
		}
		fmt.Fprintf(&b, "  - name: svc-%03d\n%s    playbook:\n      - {name: async-queue, actuator: {kind: sim, knob: queue}}\n"+
			"    sim: {load: {peak: 0.3, daily: 0, bursts: 0, flash_crowds: 0, duration: 1d}}\n", i, signals)
	}
	return writeTestFile(t, dir, "shard.yaml", b.String())
}

// shardPoll is one round of polls: what each live replica's /shard said,
// and the hot flags.
type shardPoll struct {
	at    time.Time
	owned map[string][]string // by replica identity
	flags map[string]string   // by hot service
}

// owners returns, by service, the replicas that said they act on it.
func (p shardPoll) owners() map[string][]string {
	out := map[string][]string{}
	for id, ss := range p.owned {
		for _, s := range ss {
			out[s] = append(out[s], id)
		}
	}
	return out
}

var (
	gainedLine = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="shard: gained services[^"]*" at=\S+ count=\d+ services="?\[([^\]]*)\]`)
	leftLine   = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="shard: members changed" .* left=\[([^\]]*)\] listed_at=(\S+)`)
	startLine  = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="presage started" `)
	adoptLine  = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="reconcile: found a change in force on the target" service=(\S+) action=async-queue from=0 to=1`)
)

func logTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestKubeRunSharding runs 3 `presage run` replicas, sharded, over 300
// services against a real API server, as the ServiceAccount bound to what
// `presage rbac` prints, polling every replica's /shard and the hot flags
// every 100ms. Once every service has exactly one owner and the hot
// services have engaged their flags, the replica owning the most hot
// services is killed (SIGKILL: its member Lease stays until it expires).
// Its services must move to the others within lease_duration + a step
// (+ shardSlack), never sooner than its Lease's expiry; no service may
// ever be acted on by two replicas; the new owners adopt the flags the
// annotations record (no second engage) and revert them on time; every
// flag is written exactly twice (engage, revert).
func TestKubeRunSharding(t *testing.T) {
	env := kubetest.StartAudited(t)
	ctx := context.Background()
	env.Namespace(t, "presage")
	env.Namespace(t, "shop")
	for i := range shardHot {
		env.ConfigMap(t, "shop", fmt.Sprintf("flags-hot-%d", i), map[string]string{"async_queue": "false"})
	}
	cfg := shardConfig(t, t.TempDir())
	rules := cli(t, "rbac", "-config", cfg)
	if rules.code != 0 {
		t.Fatalf("presage rbac: %v", rules)
	}
	env.Apply(t, []byte(rules.stdout))
	kc := kubetest.Kubeconfig(t, env.ServiceAccount(t, "presage", "presage"))

	type replica struct {
		p       *proc
		url, id string
		started time.Time
		dead    bool
	}
	var rs []*replica
	for range shardReplicas {
		p, url := startLoop(t, "run", cfg, "-kubeconfig", kc, "-speed", "60", "-policy", "reactive")
		rs = append(rs, &replica{p: p, url: url, started: logTime(t, startLine.FindStringSubmatch(p.stderr.String())[1])})
	}
	status := func(r *replica) (shard.Status, bool) {
		var st shard.Status
		resp, err := http.Get(r.url + "/shard")
		if err != nil {
			return st, false
		}
		defer resp.Body.Close()
		return st, json.NewDecoder(resp.Body).Decode(&st) == nil
	}
	for _, r := range rs {
		st, ok := status(r)
		if !ok {
			t.Fatal("no /shard")
		}
		r.id = st.Identity
	}

	// The poller: a round every 100ms until stopped.
	var mu sync.Mutex
	var polls []shardPoll
	var double []string
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			p := shardPoll{owned: map[string][]string{}, flags: map[string]string{}}
			for _, r := range rs {
				mu.Lock()
				dead := r.dead
				mu.Unlock()
				if dead {
					continue
				}
				if st, ok := status(r); ok {
					p.owned[r.id] = st.Owned
				}
			}
			for i := range shardHot {
				if cm, err := env.Client.CoreV1().ConfigMaps("shop").Get(ctx, fmt.Sprintf("flags-hot-%d", i), metav1.GetOptions{}); err == nil {
					p.flags[fmt.Sprintf("hot-%d", i)] = cm.Data["async_queue"]
				}
			}
			p.at = time.Now()
			mu.Lock()
			polls = append(polls, p)
			for s, ids := range p.owners() {
				if len(ids) > 1 {
					double = append(double, fmt.Sprintf("%s: %s owned by %v", p.at.Format(time.StampMilli), s, ids))
				}
			}
			mu.Unlock()
			select {
			case <-stopPoll:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	last := func() shardPoll {
		mu.Lock()
		defer mu.Unlock()
		if len(polls) == 0 {
			return shardPoll{}
		}
		return polls[len(polls)-1]
	}
	exactlyOne := func(p shardPoll, live []string) bool {
		o := p.owners()
		for i := range shardServices {
			s := serviceName(i)
			if len(o[s]) != 1 || !slices.Contains(live, o[s][0]) {
				return false
			}
		}
		return true
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.id)
	}
	eventually(t, 60*time.Second, "every service has one owner and the hot flags are engaged", func() bool {
		p := last()
		if !exactlyOne(p, ids) {
			return false
		}
		for i := range shardHot {
			if p.flags[fmt.Sprintf("hot-%d", i)] != "true" {
				return false
			}
		}
		return true
	})
	before := last()
	split := map[string]int{}
	for id, ss := range before.owned {
		split[id] = len(ss)
	}

	// Kill the replica that owns the most hot services.
	var victim *replica
	hotOf := func(id string) []string {
		var out []string
		for _, s := range before.owned[id] {
			if strings.HasPrefix(s, "hot-") {
				out = append(out, s)
			}
		}
		return out
	}
	for _, r := range rs {
		if victim == nil || len(hotOf(r.id)) > len(hotOf(victim.id)) {
			victim = r
		}
	}
	moving := before.owned[victim.id]
	var survivors []*replica
	var live []string
	for _, r := range rs {
		if r != victim {
			survivors = append(survivors, r)
			live = append(live, r.id)
		}
	}
	mu.Lock()
	victim.dead = true
	mu.Unlock()
	killed := time.Now()
	if err := victim.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.p.done
	lease, err := env.Client.CoordinationV1().Leases("presage").Get(ctx, "presage-member-"+victim.id, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the killed replica's member Lease: %v", err)
	}
	lastRenew := lease.Spec.RenewTime.Time
	expiry := lastRenew.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)

	eventually(t, 30*time.Second, "every service has one owner among the survivors", func() bool { return exactlyOne(last(), live) })
	eventually(t, 90*time.Second, "the hot flags are reverted", func() bool {
		p := last()
		for i := range shardHot {
			if p.flags[fmt.Sprintf("hot-%d", i)] != "false" {
				return false
			}
		}
		return true
	})
	close(stopPoll)
	<-polled
	for _, r := range survivors {
		r.p.signal(t, syscall.SIGTERM)
	}
	rsByID := func(id string) time.Time {
		for _, r := range rs {
			if r.id == id {
				return r.started
			}
		}
		t.Fatalf("no replica %q", id)
		return time.Time{}
	}

	// The timeline, from the polls and the logs.
	firstOwned := map[string]time.Time{} // after the kill, on a survivor
	newOwner := map[string]string{}
	reverted := map[string]time.Time{}
	for _, p := range polls {
		for s, o := range p.owners() {
			if _, ok := firstOwned[s]; !ok && p.at.After(killed) && slices.Contains(moving, s) {
				firstOwned[s], newOwner[s] = p.at, o[0]
			}
		}
		for s, v := range p.flags {
			if _, ok := reverted[s]; !ok && v == "false" && p.at.After(killed) {
				reverted[s] = p.at
			}
		}
	}
	gained := map[string]time.Time{} // the survivor's step that first stepped it
	adopted := map[string]time.Time{}
	var seen []string
	for _, r := range survivors {
		log := r.p.stderr.String()
		for _, m := range gainedLine.FindAllStringSubmatch(log, -1) {
			at := logTime(t, m[1])
			for _, s := range strings.Fields(m[2]) {
				if at.After(killed) && slices.Contains(moving, s) {
					gained[s] = at
				}
			}
		}
		for _, m := range leftLine.FindAllStringSubmatch(log, -1) {
			if strings.Contains(m[2], victim.id) {
				seen = append(seen, fmt.Sprintf("%s at +%s", r.id, logTime(t, m[3]).Sub(killed).Round(time.Millisecond)))
			}
		}
		for _, m := range adoptLine.FindAllStringSubmatch(log, -1) {
			if at := logTime(t, m[1]); at.After(killed) {
				adopted[m[2]] = at
			}
		}
	}
	since := func(at time.Time) string { return "+" + at.Sub(killed).Round(time.Millisecond).String() }
	latest := func(m map[string]time.Time) (time.Time, time.Time) {
		var lo, hi time.Time
		for _, s := range moving {
			at := m[s]
			if lo.IsZero() || at.Before(lo) {
				lo = at
			}
			if at.After(hi) {
				hi = at
			}
		}
		return lo, hi
	}
	t.Logf("failover timeline (3 replicas, %d services, lease %s, renew %s, retry %s, step %s):", shardServices, shardLease, shardRenew, shardRetry, shardStep)
	t.Logf("  before: every service one owner, split %v; the %d hot flags engaged", split, shardHot)
	t.Logf("  kill:   SIGKILL %s (owning %d services, hot %v) at 0; its last renewal %s, its Lease expires %s",
		victim.id, len(moving), hotOf(victim.id), since(lastRenew), since(expiry))
	t.Logf("  expiry seen (members changed, left=%s): %s", victim.id, strings.Join(seen, ", "))
	lo, hi := latest(firstOwned)
	t.Logf("  moved (first poll showing a survivor acting): %d services, %s … %s", len(firstOwned), since(lo), since(hi))
	glo, ghi := latest(gained)
	t.Logf("  stepped by the new owner (its gained line): %d services, %s … %s", len(gained), since(glo), since(ghi))
	for _, s := range hotOf(victim.id) {
		t.Logf("  %s: new owner %s, adopted the engaged flag %s, reverted %s (its owner's load fell at +%s)", s, newOwner[s],
			since(adopted[s]), since(reverted[s]), rsByID(newOwner[s]).Add(hotMinutes*shardStep).Sub(killed).Round(time.Millisecond))
	}
	for i := range shardHot {
		if s := fmt.Sprintf("hot-%d", i); !slices.Contains(moving, s) {
			t.Logf("  %s: stayed with its owner, reverted %s", s, since(reverted[s]))
		}
	}

	// From the first round in which every service had one owner, every
	// service kept one in every round, but the killed replica's between
	// the kill and their move.
	steady, gaps := -1, []string{}
	for i, p := range polls {
		if steady < 0 && exactlyOne(p, ids) {
			steady = i
		}
		if steady < 0 {
			continue
		}
		o := p.owners()
		for n := range shardServices {
			s := serviceName(n)
			if len(o[s]) == 0 && (p.at.Before(killed) || !slices.Contains(moving, s) || p.at.After(firstOwned[s])) {
				gaps = append(gaps, fmt.Sprintf("%s at %s", s, since(p.at)))
			}
		}
	}
	t.Logf("  %d poll rounds from the first with every service owned, %d after the kill: services without an owner outside the move: %d; with two owners: %d",
		len(polls)-steady, countAfter(polls, killed), len(gaps), len(double))

	// The bounds.
	if len(gaps) > 0 {
		t.Errorf("services without an owner: %v", gaps[:min(len(gaps), 10)])
	}
	if len(double) > 0 {
		t.Errorf("services with two owners at once: %v", double[:min(len(double), 10)])
	}
	for _, s := range moving {
		switch at, ok := firstOwned[s]; {
		case !ok:
			t.Errorf("%s: no new owner", s)
		case at.Sub(killed) > shardLease+shardSlack:
			t.Errorf("%s: acted on %s after the kill, beyond lease_duration + slack", s, at.Sub(killed))
		case at.Before(expiry.Add(-100 * time.Millisecond)):
			t.Errorf("%s: taken %s before the killed replica's Lease expired", s, expiry.Sub(at))
		}
		if at, ok := gained[s]; !ok || at.Sub(killed) > shardLease+shardStep+shardSlack {
			t.Errorf("%s: stepped by its new owner %s after the kill (logged: %v), beyond lease_duration + a step + slack", s, at.Sub(killed), ok)
		}
	}
	for _, s := range hotOf(victim.id) {
		if _, ok := adopted[s]; !ok {
			t.Errorf("%s: the new owner did not adopt the engaged flag", s)
		}
		// On time: the new owner's load fell at its hotMinutes; the flag
		// reverts revertAfter (+ a few steps) later.
		fell := rsByID(newOwner[s]).Add(hotMinutes * shardStep)
		if d := reverted[s].Sub(fell); d < revertAfter*shardStep || d > (revertAfter+3)*shardStep+shardSlack {
			t.Errorf("%s: reverted %s after its owner's load fell, want %d steps (+3)", s, d, revertAfter)
		}
	}
	writes := map[string]int{}
	for _, ev := range env.AuditEvents(t, "system:serviceaccount:presage:presage") {
		if ev.ObjectRef == nil || ev.ObjectRef.Resource != "configmaps" || readIsVerb[ev.Verb] {
			continue
		}
		if ev.Code() >= 300 {
			t.Errorf("%s %s: answer %d", ev.Verb, ev.RequestURI, ev.Code())
		}
		writes[ev.ObjectRef.Name]++
	}
	for i := range shardHot {
		if n := writes[fmt.Sprintf("flags-hot-%d", i)]; n != 2 {
			t.Errorf("flags-hot-%d written %d times, want 2 (engage, revert): %v", i, n, writes)
		}
	}
}

func serviceName(i int) string {
	if i < shardHot {
		return fmt.Sprintf("hot-%d", i)
	}
	return fmt.Sprintf("svc-%03d", i)
}

func countAfter(polls []shardPoll, at time.Time) int {
	n := 0
	for _, p := range polls {
		if p.at.After(at) {
			n++
		}
	}
	return n
}
