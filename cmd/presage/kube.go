package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/kube"
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
			rc = readOnly(rc)
		}
		c, err := kube.NewClient(rc, k.reg, k.log)
		if err != nil {
			return nil, err
		}
		k.client = c
	}
	return k.client.New(service, a)
}

// readOnly returns a copy of rc whose requests may only read (GET, HEAD):
// any other fails in the client, before it reaches the API server. A dry
// run uses it, so it cannot write even through a bug.
func readOnly(rc *rest.Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return readOnlyTransport{rt}
	})
	return rc
}

// errReadOnly is returned for a write attempted in a dry run.
var errReadOnly = errors.New("kubernetes: dry run: writes are refused")

type readOnlyTransport struct{ next http.RoundTripper }

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, errReadOnly)
	}
	return t.next.RoundTrip(r)
}
