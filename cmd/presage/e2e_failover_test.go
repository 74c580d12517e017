package main

import (
	"context"
	"regexp"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/presage-dev/presage/internal/kubetest"
)

// TestE2ELeaderFailover runs two `presage run` replicas with leader
// election (lease 3s, renew 2s, retry 250ms) over the read replicas of
// TestE2EReadReplicas. Once the leader has scaled the StatefulSet to 3 and
// while its pods warm up, the leader is killed (SIGKILL: its Lease stays
// until it expires). The other replica must take over within
// lease_duration plus a step (and some slack for a loaded machine), adopt
// the change the annotations record (no second scale-up), and revert it
// once the crowd has gone. The audit log must hold the scale written
// twice in all (the engage, the revert), each with its record written
// before it and removed after.
func TestE2ELeaderFailover(t *testing.T) {
	c := kubetest.StartCluster(t, 2)
	ctx := context.Background()
	const delay = 20 * time.Second
	const lease, step = 3 * time.Second, time.Second // step: a 1m interval at e2eSpeed
	c.Namespace(t, "shop")
	c.Namespace(t, "presage")
	c.StatefulSet(t, "shop", "db", 1, delay)
	kubetest.Eventually(t, time.Minute, "the first db replica Ready", func() bool {
		ready, _ := c.PodsReady(t, "shop", "app=db")
		return ready == 1
	})
	cfg := writeTestFile(t, t.TempDir(), "e2e.yaml", e2eConfig(leaderElection, e2eReplicas("30s")))
	kc := serviceAccount(t, c, cfg, "presage")

	type replica struct {
		p   *proc
		url string
	}
	var rs []replica
	for range 2 {
		p, url := startLoop(t, "run", cfg, "-kubeconfig", kc, "-policy", "reactive", "-speed", e2eSpeed)
		rs = append(rs, replica{p, url + "/metrics"})
	}
	leading := func(r replica) bool {
		v, ok := metric(r.url, "presage_leader")
		return ok && v == 1
	}
	var leader, follower replica
	eventually(t, 30*time.Second, "one replica leads", func() bool {
		switch {
		case leading(rs[0]):
			leader, follower = rs[0], rs[1]
		case leading(rs[1]):
			leader, follower = rs[1], rs[0]
		default:
			return false
		}
		return true
	})

	// The leader engages; the pods are created and warm up.
	var engaged time.Time
	kubetest.Eventually(t, 90*time.Second, "the leader scales db to 3", func() bool {
		n, _, ann := stsState(t, c, "shop", "db")
		if n == 3 && ann["presage.dev/set-replicas"] == "3" {
			engaged = time.Now()
			return true
		}
		return false
	})
	time.Sleep(2 * time.Second) // in the middle of the engagement: the pods not Ready yet
	if _, ready, _ := stsState(t, c, "shop", "db"); ready >= 3 {
		t.Fatalf("%d replicas Ready 2 s into a %s warm-up", ready, delay)
	}
	killed := time.Now()
	if err := leader.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-leader.p.done
	l, err := c.Client.CoordinationV1().Leases("presage").Get(ctx, "presage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expiry := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)

	var tookOver time.Time
	eventually(t, 30*time.Second, "the follower takes over", func() bool {
		if leading(follower) {
			tookOver = time.Now()
			return true
		}
		return false
	})
	adopt := follower.p.waitFor(t, &follower.p.stderr, regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="reconcile: found a change in force on the target" service=checkout action=read-replicas from=1 to=3 .*$`), 10*time.Second)
	adopted := lineTime(t, adopt[0])
	var ready3 time.Time
	kubetest.Eventually(t, delay+30*time.Second, "3 replicas Ready", func() bool {
		if _, r, _ := stsState(t, c, "shop", "db"); r == 3 {
			ready3 = time.Now()
			return true
		}
		return false
	})
	rev := follower.p.waitFor(t, &follower.p.stderr, regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=decision at=(\S+) .*action=read-replicas op=revert to=1$`), 2*time.Minute)
	revertDecided := lineTime(t, rev[0])
	var reverted time.Time
	kubetest.Eventually(t, 30*time.Second, "db back to 1 replica, the record removed", func() bool {
		n, _, ann := stsState(t, c, "shop", "db")
		if n == 1 && ann["presage.dev/original-replicas"] == "" {
			reverted = time.Now()
			return true
		}
		return false
	})
	follower.p.signal(t, syscall.SIGTERM)

	since := func(at time.Time) string { return at.Sub(killed).Round(time.Millisecond).String() }
	t.Logf("failover timeline (2 replicas; lease %s, renew 2s, retry 250ms; a step is %s; readiness delay %s), times from the SIGKILL:", lease, step, delay)
	t.Logf("  engage: the leader scaled db 1 → 3 at %s", since(engaged))
	t.Logf("  kill:   SIGKILL the leader at 0; its Lease was last renewed at %s, expires at %s", since(l.Spec.RenewTime.Time), since(expiry))
	t.Logf("  take-over: the follower leads at %s", since(tookOver))
	t.Logf("  adoption: it found the change in force (1 → 3, from the annotations) at %s", since(adopted))
	t.Logf("  ready: 3 replicas Ready at %s (%s after the engage)", since(ready3), ready3.Sub(engaged).Round(time.Millisecond))
	t.Logf("  revert: decided at %s (simulated time %s), db back to 1 with its record removed at %s", since(revertDecided), rev[1], since(reverted))

	if d := tookOver.Sub(killed); d > lease+step+2*time.Second {
		t.Errorf("took over %s after the kill, want within lease_duration %s + a step %s (+2s slack)", d, lease, step)
	}
	if tookOver.Before(expiry.Add(-500 * time.Millisecond)) {
		t.Errorf("took over at %s, before the killed leader's Lease expired (%s)", since(tookOver), since(expiry))
	}
	if adopted.Before(killed) {
		t.Errorf("adopted at %s, before the kill", since(adopted))
	}
	// On time: the revert waits for the crowd to pass (its plateau ends
	// 30 simulated minutes after the load's start, the follower's first
	// step) and revert_after (5m) more.
	first := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=decision at=(\S+) `).FindStringSubmatch(follower.p.stderr.String())
	t0, err0 := time.Parse(time.RFC3339, first[1])
	at, err1 := time.Parse(time.RFC3339, rev[1])
	if err0 != nil || err1 != nil || at.Sub(t0) < 35*time.Minute {
		t.Errorf("reverted %s (simulated) after the follower's start, before the crowd's end and revert_after (%v %v)", at.Sub(t0), err0, err1)
	}
	t.Logf("  the follower's revert came %s (simulated) after its load's start: the crowd's plateau ends at 30m", at.Sub(t0))

	w := writesBy(t, c, "system:serviceaccount:presage:presage")
	var scales, records []string
	for _, s := range w {
		switch {
		case count([]string{s}, "update statefulsets/scale db") == 1:
			scales = append(scales, s)
		case count([]string{s}, "patch statefulsets db") == 1:
			records = append(records, s)
		case count([]string{s}, "create leases") == 1 || count([]string{s}, "update leases") == 1:
		default:
			t.Errorf("unexpected write %s", s)
		}
	}
	t.Logf("writes by the replicas: %d to the StatefulSet's scale %v, %d to its record %v, %d to the Lease", len(scales), scales, len(records), records, len(w)-len(scales)-len(records))
	if len(scales) != 2 || len(records) != 2 {
		t.Errorf("want the scale written twice (engage by the leader, revert by the follower) and the record twice; no action applied twice")
	}
	// No change unrecorded: the write order is record, scale, scale, unrecord.
	var order []string
	for _, s := range w {
		if count([]string{s}, "update statefulsets/scale") == 1 || count([]string{s}, "patch statefulsets") == 1 {
			order = append(order, s[:5])
		}
	}
	if len(order) == 4 && (order[0] != "patch" || order[1] != "updat" || order[2] != "updat" || order[3] != "patch") {
		t.Errorf("write order %v: want the record before the scale-up and its removal after the revert", order)
	}
}
