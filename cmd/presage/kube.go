package main

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/presage-dev/presage/config"
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
