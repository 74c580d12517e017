package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Run steps the loop once an interval until ctx is done. It is the only
// place presage reads the clock. With Options.Speed > 1 the step times run
// that many times faster than the wall clock: a step every interval/Speed,
// each at a time Speed×(wall time elapsed) past the start.
func (c *Controller) Run(ctx context.Context) error {
	start := time.Now()
	virtual := func(t time.Time) time.Time {
		return start.Add(time.Duration(float64(t.Sub(start)) * c.speed))
	}
	tick := time.NewTicker(time.Duration(float64(c.interval) / c.speed))
	defer tick.Stop()
	c.stepLogged(ctx, start)
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			c.stepLogged(ctx, virtual(t))
		}
	}
}

func (c *Controller) stepLogged(ctx context.Context, now time.Time) {
	if err := c.Step(ctx, now); err != nil && ctx.Err() == nil {
		c.log.Warn("step failed", "time", now, "err", err)
	}
}

// Ready reports whether the controller has read its source successfully and
// the last read is not older than unreachableFor (in step time).
func (c *Controller) Ready(unreachableFor time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.everRead && c.sourceErr != nil:
		return fmt.Errorf("source never read: %w", c.sourceErr)
	case !c.everRead:
		return errors.New("no step has run yet")
	case c.lastStep.Sub(c.lastOK) > unreachableFor:
		return fmt.Errorf("source unreachable since %s: %w", c.lastOK.Format(time.RFC3339), c.sourceErr)
	}
	return nil
}

// Handler serves presage's own /metrics (from g), /healthz and /readyz.
// The controller is ready once a step has read the source and stays ready
// until the source has been unreachable for longer than unreadyAfter (0
// means three intervals), in step time.
func (c *Controller) Handler(g prometheus.Gatherer, unreadyAfter time.Duration) http.Handler {
	if unreadyAfter <= 0 {
		unreadyAfter = 3 * c.interval
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := c.Ready(unreadyAfter); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
