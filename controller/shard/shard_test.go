package shard

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/kubetest"
)

// member is one replica's Membership, kept until stop.
type member struct {
	m    *Membership
	stop func()
}

func startMember(t *testing.T, env *kubetest.Env, cfg config.LeaderElection, id string, services []string, keep bool) *member {
	t.Helper()
	m, err := New(Options{Config: cfg, Client: env.Client, Identity: id, Services: services, KeepOnStop: keep,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}()
	r := &member{m: m, stop: func() { cancel(); <-done }}
	t.Cleanup(r.stop)
	return r
}

// owners polls every member's Owns for every service, at once.
func owners(ms []*member, services []string) map[string][]string {
	out := make(map[string][]string, len(services))
	for _, s := range services {
		for _, r := range ms {
			if r.m.Owns(s) {
				out[s] = append(out[s], r.m.Identity())
			}
		}
	}
	return out
}

// TestMembership runs three members over 300 services against a real API
// server, polling every member's Owns every 10ms throughout: once all act,
// each service has exactly one owner; when one crashes (its Lease kept) its
// services move to the others within lease_duration of its last renewal
// (and no sooner than lease_duration − retry_period after the crash); when
// another stops cleanly (its Lease deleted) they move within a
// retry_period; a newcomer acts only after its hand-off; and at no poll
// does any service have two owners.
func TestMembership(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "presage")
	cfg := config.LeaderElection{Enabled: true, Namespace: "presage", Name: "presage", Replicas: 3,
		LeaseDuration: config.Duration(3 * time.Second), RenewDeadline: config.Duration(2 * time.Second),
		RetryPeriod: config.Duration(500 * time.Millisecond)}
	lease, retry := time.Duration(cfg.LeaseDuration), time.Duration(cfg.RetryPeriod)
	var services []string
	for i := range 300 {
		services = append(services, fmt.Sprintf("svc-%03d", i))
	}
	a := startMember(t, env, cfg, "a", services, true)
	b := startMember(t, env, cfg, "b", services, false)
	c := startMember(t, env, cfg, "c", services, true)
	all := []*member{a, b, c}

	// poll checks that no service has two owners and returns when every
	// service has exactly one owner among live, or fails after within.
	poll := func(what string, live []*member, within time.Duration, done func(map[string][]string) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			o := owners(all, services)
			for s, ids := range o {
				if len(ids) > 1 {
					t.Fatalf("%s: %s owned by %v at once", what, s, ids)
				}
			}
			if done(o) {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eachOwned := func(live []*member) func(map[string][]string) bool {
		return func(o map[string][]string) bool {
			for _, s := range services {
				if len(o[s]) != 1 {
					return false
				}
				found := false
				for _, r := range live {
					found = found || o[s][0] == r.m.Identity()
				}
				if !found {
					return false
				}
			}
			return true
		}
	}
	poll("three members split the services", all, 30*time.Second, eachOwned(all))
	count := map[string]int{}
	for _, ids := range owners(all, services) {
		count[ids[0]]++
	}
	t.Logf("split: %v", count)
	for _, r := range all {
		if n := count[r.m.Identity()]; n < 60 {
			t.Errorf("%s owns %d of 300 services", r.m.Identity(), n)
		}
	}
	time.Sleep(200 * time.Millisecond) // the gauges follow the view at Run's next wake
	if got := testutil.ToFloat64(a.m.members); got != 3 {
		t.Errorf("presage_shard_members = %g, want 3", got)
	}

	// c crashes: its Lease stays until it expires.
	cOwned := owners([]*member{c}, services)
	c.stop()
	moved := poll("c's services move to a and b", []*member{a, b}, 2*lease, eachOwned([]*member{a, b}))
	t.Logf("crash: c's %d services moved %s after it stopped (lease %s, retry %s)", len(cOwned), moved.Round(time.Millisecond), lease, retry)
	if moved < lease-retry-100*time.Millisecond || moved > lease+250*time.Millisecond {
		t.Errorf("c's services moved after %s; want within [lease − retry, lease] of the crash (+250ms)", moved)
	}

	// b stops cleanly: its Lease is deleted and a takes everything at its
	// next list.
	b.stop()
	moved = poll("b's services move to a", []*member{a}, 2*lease, eachOwned([]*member{a}))
	t.Logf("clean stop: b's services moved %s after it stopped", moved.Round(time.Millisecond))
	if moved > retry+250*time.Millisecond {
		t.Errorf("after a clean stop the services moved after %s; want within a retry_period (%s)", moved, retry)
	}

	// d joins: a stops acting on what moves to d at once, d starts after
	// its hand-off; in between they have no owner, never two.
	d := startMember(t, env, cfg, "d", services, false)
	all = []*member{a, d}
	joined := poll("d takes its share", all, 30*time.Second, func(o map[string][]string) bool {
		n := 0
		for _, ids := range o {
			if len(ids) == 1 && ids[0] == "d" {
				n++
			}
		}
		return n > 0 && eachOwned(all)(o)
	})
	t.Logf("join: d acts on its share %s after starting (hand-off %s)", joined.Round(time.Millisecond), d.m.Handoff())
	if joined < d.m.Handoff() {
		t.Errorf("d acted %s after starting, before its hand-off of %s", joined, d.m.Handoff())
	}
}
