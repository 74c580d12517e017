package kube

import (
	"testing"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name                string
		recorded            bool
		live, original, set int
		want                state
	}{
		{"no record", false, 3, 0, 0, untracked},
		{"in force", true, 4, 2, 4, engaged},
		{"never made or undone", true, 2, 2, 4, stale},
		{"someone else", true, 7, 2, 4, overridden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.recorded, tc.live, tc.original, tc.set); got != tc.want {
				t.Errorf("classify: %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReplicasCap(t *testing.T) {
	budget := &config.ConnectionBudget{MaxConnections: 500, PerReplica: 100, Reserved: 20} // 4 replicas
	for _, tc := range []struct {
		name      string
		step      int64
		budget    *config.ConnectionBudget
		cur, want int64
		useStep   bool
		to        int64
		reason    string
	}{
		{"straight to engaged", 0, nil, 2, 6, true, 6, ""},
		{"one step", 1, nil, 2, 6, true, 3, ""},
		{"step ignored by apply", 1, nil, 2, 6, false, 6, ""},
		{"never down on engage", 2, nil, 5, 3, true, 5, ""},
		{"within budget", 1, budget, 3, 6, true, 4, ""},
		{"capped by budget", 0, budget, 2, 6, true, 4, actuators.ConnectionBudget},
		{"at budget: refused", 1, budget, 4, 6, true, 4, actuators.ConnectionBudget},
		{"above budget already: kept", 1, budget, 5, 6, true, 5, actuators.ConnectionBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Replicas{step: tc.step, budget: tc.budget}
			to, reason, msg := r.cap(tc.cur, tc.want, tc.useStep)
			if to != tc.to || reason != tc.reason || (reason != "") != (msg != "") {
				t.Errorf("cap(%d, %d): %d %q %q, want %d %q", tc.cur, tc.want, to, reason, msg, tc.to, tc.reason)
			}
		})
	}
}

func TestCPUTarget(t *testing.T) {
	c := &CPULimits{floor: 100}
	for _, tc := range []struct {
		name           string
		o              cpuValues
		f              float64
		limit, request int64
	}{
		{"half", cpuValues{"2", "500m"}, 0.5, 1000, 500},
		{"request lowered to the limit", cpuValues{"2", "1500m"}, 0.5, 1000, 1000},
		{"no request", cpuValues{"1", ""}, 0.5, 500, -1},
		{"floor", cpuValues{"1", "50m"}, 0.01, 100, 50},
		{"never raised by the floor", cpuValues{"50m", ""}, 0.5, 50, -1},
		{"baseline", cpuValues{"300m", "200m"}, 1, 300, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, r := c.target(tc.o, tc.f)
			if l != tc.limit || r != tc.request {
				t.Errorf("target: %d %d, want %d %d", l, r, tc.limit, tc.request)
			}
		})
	}
}
