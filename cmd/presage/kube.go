package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/kube"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller/leader"
)

// restConfig returns the client config of the Kubernetes API: the kubeconfig
// file of the -kubeconfig flag, else of kubernetes.kubeconfig, else the
// in-cluster config (the pod's service account).
func restConfig(flag string, cfg *config.Config) (*rest.Config, error) {
	path := flag
	if path == "" {
		path = cfg.Kubernetes.Kubeconfig
	}
	if path == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes: no -kubeconfig or kubernetes.kubeconfig, and not in a cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: kubeconfig %s: %w", path, err)
	}
	return rc, nil
}

// kubeClients makes the one kube.Client of a run on first use.
type kubeClients struct {
	flag     string
	cfg      *config.Config
	reg      prometheus.Registerer
	log      *slog.Logger
	readOnly bool // recommend: every write is refused before it leaves

	client *kube.Client
}

func (k *kubeClients) used() bool { return k.client != nil }

func (k *kubeClients) actuator(service string, a config.Action) (actuators.Actuator, error) {
	if k.client == nil {
		rc, err := restConfig(k.flag, k.cfg)
		if err != nil {
			return nil, err
		}
		if k.readOnly {
			rc = kube.ReadOnly(rc)
		}
		c, err := kube.NewClient(rc, k.reg, k.log)
		if err != nil {
			return nil, err
		}
		k.client = c
	}
	return k.client.New(service, a)
}

// leaderElector returns the Elector of kubernetes.leader_election, or nil
// when it is off or the run is dry (a dry run writes nothing, not even a
// Lease: every recommend replica recommends).
func leaderElector(kubeconfig string, cfg *config.Config, dry bool, log *slog.Logger, reg prometheus.Registerer) (*leader.Elector, error) {
	le := cfg.Kubernetes.LeaderElection
	if !le.Enabled || le.Sharded() {
		return nil, nil // no election, or sharding (shardMembership)
	}
	if dry {
		log.Info("leader election is off in a dry run: it writes nothing, not even the Lease")
		return nil, nil
	}
	cs, err := kubeClientset(kubeconfig, cfg, log)
	if err != nil {
		return nil, err
	}
	return leader.New(leader.Options{Config: le, Client: cs, Logger: log, Registerer: reg})
}

// kubeClientset returns the clientset of leader election and sharding.
func kubeClientset(kubeconfig string, cfg *config.Config, log *slog.Logger) (kubernetes.Interface, error) {
	rc, err := restConfig(kubeconfig, cfg)
	if err != nil {
		return nil, err
	}
	// client-go logs through klog: send it to presage's log, in one format.
	klog.SetSlogLogger(log.With("component", "client-go"))
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return cs, nil
}

// gateActuators makes every actuator apply only while e leads.
func gateActuators(e *leader.Elector, acts map[string][]actuators.Actuator) map[string][]actuators.Actuator {
	out := make(map[string][]actuators.Actuator, len(acts))
	for s, as := range acts {
		for _, a := range as {
			out[s] = append(out[s], e.Gate(a))
		}
	}
	return out
}
