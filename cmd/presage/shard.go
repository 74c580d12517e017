package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/shard"
)

// shardMembership returns the Membership of a sharded run
// (kubernetes.leader_election.replicas > 1), or nil when the run is not
// sharded or is dry (a dry run writes nothing, not even a member Lease:
// every recommend replica recommends for every service).
func shardMembership(kubeconfig string, cfg *config.Config, dry bool, log *slog.Logger, reg prometheus.Registerer) (*shard.Membership, error) {
	le := cfg.Kubernetes.LeaderElection
	if !le.Sharded() {
		return nil, nil
	}
	if dry {
		log.Info("sharding is off in a dry run: it writes nothing, not even a member Lease")
		return nil, nil
	}
	cs, err := kubeClientset(kubeconfig, cfg, log)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Services))
	for i, s := range cfg.Services {
		names[i] = s.Name
	}
	return shard.New(shard.Options{Config: le, Client: cs, Services: names, Logger: log, Registerer: reg})
}

// gateShard makes every actuator apply only while m owns its service.
func gateShard(m *shard.Membership, acts map[string][]actuators.Actuator) map[string][]actuators.Actuator {
	out := make(map[string][]actuators.Actuator, len(acts))
	for s, as := range acts {
		for _, a := range as {
			out[s] = append(out[s], m.Gate(a))
		}
	}
	return out
}

// shardHandler serves h and, at /shard, the membership as JSON: this
// replica's identity, the live members it sees, whether it acts, and the
// services it acts on now.
func shardHandler(h http.Handler, m *shard.Membership) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/shard", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m.Status())
	})
	return mux
}
