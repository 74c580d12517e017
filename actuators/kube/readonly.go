package kube

import (
	"errors"
	"fmt"
	"net/http"

	"k8s.io/client-go/rest"
)

// ReadOnly returns a copy of rc whose requests may only read (GET, HEAD):
// any other fails in the client, before it reaches the API server. A dry
// run uses it, so it cannot write even through a bug.
func ReadOnly(rc *rest.Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return readOnlyTransport{rt}
	})
	return rc
}

// ErrReadOnly is returned for a write attempted in a dry run.
var ErrReadOnly = errors.New("kubernetes: dry run: writes are refused")

type readOnlyTransport struct{ next http.RoundTripper }

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, ErrReadOnly)
	}
	return t.next.RoundTrip(r)
}
