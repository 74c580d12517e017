package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/presage-dev/presage/policy"
)

// Run steps the loop once an interval until ctx is done. At its first
// step, and every Options.ReassertEvery steps after, it checks that the
// targets still hold the changes the state holds engaged, and applies
// again those they do not (see reassert). It is the only
// place presage reads the clock. With Options.Speed > 1 the step times run
// that many times faster than the wall clock: a step every interval/Speed,
// each at a time Speed×(wall time elapsed) past the start.
//
// The state a controller starts from (Options.State) and the state it
// passes to OnStateChange hold wall-clock times, never step times: under
// Speed, Run maps a saved wall-clock time t to the step time
// start − Speed×(start − t) (the step clock ran on at Speed while presage
// was stopped), and a step time back to the wall clock the same way.
// A restart under -speed therefore finds its cooldowns and revert timers
// where the step clock left them, not hours in the future. Without Speed
// the two clocks are the same, and Step driven without Run (a replay)
// maps nothing.
func (c *Controller) Run(ctx context.Context) error {
	start := time.Now()
	c.startClock(start)
	virtual := func(t time.Time) time.Time {
		return start.Add(time.Duration(float64(t.Sub(start)) * c.speed))
	}
	tick := time.NewTicker(time.Duration(float64(c.interval) / c.speed))
	defer tick.Stop()
	// Actuator calls still under way when ctx ends are cancelled with it;
	// Run returns once they have, so nothing is applied after it.
	defer c.flights.Wait()
	c.reassertDue = true
	c.stepLogged(ctx, start)
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			c.steps++
			c.reassertDue = c.reassertEvery > 0 && c.steps%c.reassertEvery == 0
			c.stepLogged(ctx, virtual(t))
		}
	}
}

// startClock sets the start of Run's step clock, and maps the state the
// controller starts from from wall-clock time to it.
func (c *Controller) startClock(start time.Time) {
	c.epoch = start
	if c.speed == 1 {
		return
	}
	for _, s := range c.services {
		s.st = mapTimes(s.st, c.stepTime)
	}
}

// stepTime maps a wall-clock time to Run's step clock; wallTime maps back.
// Zero stays zero.
func (c *Controller) stepTime(t time.Time) time.Time { return scaleFrom(c.epoch, t, c.speed) }
func (c *Controller) wallTime(t time.Time) time.Time { return scaleFrom(c.epoch, t, 1/c.speed) }

// scaleFrom returns epoch + k×(t − epoch), saturating far from epoch.
func scaleFrom(epoch, t time.Time, k float64) time.Time {
	if t.IsZero() {
		return t
	}
	d := float64(t.Sub(epoch)) * k
	d = math.Max(math.Min(d, 1<<62), -(1 << 62))
	return epoch.Add(time.Duration(d))
}

// savedState is the state passed to OnStateChange: State with wall-clock
// times.
func (c *Controller) savedState() map[string]policy.State {
	st := c.State()
	if c.speed == 1 || c.epoch.IsZero() {
		return st
	}
	for name, s := range st {
		st[name] = mapTimes(s, c.wallTime)
	}
	return st
}

// mapTimes returns a copy of st with every time mapped by f.
func mapTimes(st policy.State, f func(time.Time) time.Time) policy.State {
	conv := func(es []policy.Engagement) []policy.Engagement {
		if es == nil {
			return nil
		}
		out := make([]policy.Engagement, len(es))
		for i, e := range es {
			e.At = f(e.At)
			out[i] = e
		}
		return out
	}
	out := st
	out.Engaged, out.Prewarmed = conv(st.Engaged), conv(st.Prewarmed)
	if st.Changed != nil {
		out.Changed = make(map[string]time.Time, len(st.Changed))
		for k, v := range st.Changed {
			out.Changed[k] = f(v)
		}
	}
	out.ClearSince, out.PrewarmClearSince = f(st.ClearSince), f(st.PrewarmClearSince)
	return out
}

// maxOverruns is how many steps in a row may take longer than their
// interval before /readyz says the loop is not keeping up.
const maxOverruns = 3

// stepLogged runs one step of Run, logs its failure, and counts it as an
// overrun when it took longer than the interval on the wall clock (at
// Speed, the interval divided by Speed): the next tick is then late.
func (c *Controller) stepLogged(ctx context.Context, now time.Time) {
	start := time.Now()
	err := c.Step(ctx, now)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("step failed", "time", now, "err", err)
	}
	over := time.Since(start) > time.Duration(float64(c.interval)/c.speed)
	c.mu.Lock()
	if over {
		c.overruns++
	} else {
		c.overruns = 0
	}
	c.mu.Unlock()
	if over {
		c.tel.overruns.Inc()
		c.log.Warn("step took longer than the interval", "time", now, "interval", c.interval)
	}
}

// Ready reports whether the controller has read its source successfully,
// the last read is not older than unreachableFor (in step time), the last
// save of the state file (if any) succeeded, and Run's steps keep to their
// interval (fewer than maxOverruns too slow in a row). Its error
// says what is wrong in words and the kind of the last failure (timeout,
// connection, http_5xx, ...), never the source's own error, which may
// quote its URL: it is fit for an unauthenticated /readyz.
func (c *Controller) Ready(unreachableFor time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.everRead && c.sourceKind != "":
		return fmt.Errorf("the source has never been read: %s", failureWords(c.sourceKind))
	case !c.everRead:
		return errors.New("no step has run yet")
	case c.lastStep.Sub(c.lastOK) > unreachableFor:
		return fmt.Errorf("the source has been unreachable since %s: %s", c.lastOK.Format(time.RFC3339), failureWords(c.sourceKind))
	case !c.saveFailed.IsZero():
		return fmt.Errorf("the state file could not be saved since %s", c.saveFailed.Format(time.RFC3339))
	case c.overruns >= maxOverruns:
		return fmt.Errorf("the last %d steps each took longer than the interval", c.overruns)
	}
	return nil
}

// failureWords says what a failed read of this kind (see step) was.
func failureWords(kind string) string {
	switch {
	case kind == "timeout":
		return "the last read timed out"
	case kind == "connection":
		return "the last read could not connect"
	case kind == "canceled":
		return "the last read was canceled"
	case kind == "bad_response":
		return "the last read got an answer that is not a query result"
	case strings.HasPrefix(kind, "http_"):
		return "the last read got HTTP status " + strings.TrimPrefix(kind, "http_")
	}
	return "the last read failed"
}

// Handler serves presage's own /metrics (from g), /healthz and /readyz.
// The controller is ready once a step has read the source and stays ready
// until the source has been unreachable for longer than unreadyAfter (0
// means three intervals), in step time. /readyz answers "ready" (200) or
// "not ready" (503); with verbose, "not ready" is followed by what is wrong
// in words (Ready's error). Neither says more: /readyz is unauthenticated.
func (c *Controller) Handler(g prometheus.Gatherer, unreadyAfter time.Duration, verbose bool) http.Handler {
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
			msg := "not ready"
			if verbose {
				msg += ": " + err.Error()
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
