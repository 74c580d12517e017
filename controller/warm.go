package controller

import (
	"context"
	"math"
	"time"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
)

// warm backfills, from a metrics.RangeSource, the history of the services
// that have none yet: at the first step for all of them, and later for a
// service when it first reports a usable sample (a service that appears).
// The history covers [now − global.history, now) on the control interval,
// so the model is fitted on the first step instead of after days of
// waiting. A failed read is tried again at the next step; a service whose
// history is empty is tried again when it first appears.
func (c *Controller) warm(ctx context.Context, snap metrics.Snapshot, now time.Time) {
	rs, ok := c.src.(metrics.RangeSource)
	if !ok {
		return
	}
	var names []string
	var todo []*service
	for _, s := range c.services {
		if s.warmed || s.own.away {
			continue
		}
		_, appeared := snap.Get(s.cfg.Name, metrics.Latency)
		if s.warmTried && (!appeared || s.seen) {
			continue
		}
		names = append(names, s.cfg.Name)
		todo = append(todo, s)
	}
	if len(todo) == 0 {
		return
	}
	start := now.Add(-time.Duration(c.cfg.Global.History)).Truncate(c.interval)
	end := now.Add(-c.interval)
	hist, err := rs.Range(ctx, names, start, end, c.interval)
	for _, s := range todo {
		s.warmTried = true
		_, s.seen = snap.Get(s.cfg.Name, metrics.Latency)
	}
	if err != nil {
		// What was read is used; the services it left empty are tried
		// again next step.
		c.tel.sourceErrors.WithLabelValues("range").Inc()
		c.log.Warn("warm start: reading history failed in part; the rest is learned from live samples", "services", len(todo), "err", err)
	}
	for _, s := range todo {
		if n := c.backfill(s, hist[s.cfg.Name], start, end, now); n > 0 {
			s.warmed = true
			c.log.Info("warm start: history loaded", "service", s.cfg.Name, "samples", n, "from", start.UTC().Format(time.RFC3339))
		} else if err != nil {
			s.warmTried = false
		}
	}
}

// backfill feeds one service's history into its state as if the steps had
// run: the forecast signal's ring (NaN where missing), the incident hold
// and, when nothing is engaged now, the level-0 (load, latency) pairs the
// breach level is learned from. It returns the number of usable latency or
// load samples.
func (c *Controller) backfill(s *service, h map[metrics.Signal]metrics.Series, start, end, now time.Time) int {
	n := int(end.Sub(start)/c.interval) + 1
	if n <= 0 || len(h) == 0 {
		return 0
	}
	grid := func(sig metrics.Signal) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = math.NaN()
		}
		for _, smp := range h[sig] {
			i := int(math.Round(float64(smp.Time.Sub(start)) / float64(c.interval)))
			if i >= 0 && i < n && !smp.Missing() {
				out[i] = smp.Value
			}
		}
		return out
	}
	lat, load := grid(metrics.Latency), grid(s.signal)
	used := 0
	for i := range n {
		if !math.IsNaN(lat[i]) || !math.IsNaN(load[i]) {
			used++
		}
	}
	if used == 0 {
		return 0
	}
	// Replace what the live steps held (at most a step or two before the
	// service appeared) with the backfilled past.
	s.hist = newHistory(len(s.hist.buf))
	s.hold.Run = 0
	learn := s.st.Level() == 0 && c.mode != policy.None && s.signal != metrics.Latency
	for i := range n {
		pairLat := math.NaN()
		if learn && finite(lat[i]) && finite(load[i]) {
			pairLat = onSide(lat[i], s.pattern.Above)
		}
		s.keepOlder(s.hist.push(load[i], pairLat, 0))
		s.hold.Observe(lat[i])
	}
	if learn {
		c.relearn(s, 0)
	}
	s.fc = nil // refit on this step, on the backfilled history
	return used
}
