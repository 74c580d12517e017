package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/sim"
)

// RecordedSource is a metrics.Source over a Recording: Read at a grid time
// returns that step's values, timestamped with it; at any other time, or a
// step with no value, the signal is missing. It never reads the clock.
type RecordedSource struct {
	rec *file.Recording
}

var _ metrics.Source = (*RecordedSource)(nil)

// NewRecordedSource returns a Source over rec.
func NewRecordedSource(rec *file.Recording) *RecordedSource { return &RecordedSource{rec: rec} }

// Read returns the recorded values at now.
func (s *RecordedSource) Read(ctx context.Context, now time.Time) (metrics.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.rec
	snap := make(metrics.Snapshot, len(r.Services))
	off := now.Sub(r.Start)
	if off < 0 || off%r.Step != 0 || int(off/r.Step) >= r.Len {
		return snap, nil
	}
	i := int(off / r.Step)
	for _, svc := range r.Services {
		for sig, vs := range r.Values[svc] {
			if v := vs[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				snap.Set(svc, sig, metrics.Sample{Time: now, Value: v})
			}
		}
	}
	return snap, nil
}

// sortedServices returns names sorted, for messages.
func sortedServices(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// WriteNoneSignals writes the signals of the replay's 'none' run (what the
// services would have exported with nothing done) as a signals file, as
// `presage export` writes one (file.WriteSignals).
func (rep *Report) WriteNoneSignals(w io.Writer) error {
	rec, err := rep.noneRecording()
	if err != nil {
		return err
	}
	return file.WriteSignals(w, rec)
}

// noneRecording returns the signals of the 'none' run on the replay's grid
// (one record per step from Start): each presage signal from the simulator
// signal of the same meaning (sim.DefaultSignals), NaN where a service has
// no step.
func (rep *Report) noneRecording() (*file.Recording, error) {
	none := rep.none
	if none == nil {
		return nil, errors.New("replay: the replay has no 'none' run")
	}
	names := rep.Config.ServiceNames()
	rec := &file.Recording{Start: rep.Start, Step: rep.Interval, Services: names,
		Values: make(map[string]map[metrics.Signal][]float64, len(names))}
	for _, s := range names {
		rec.Len = max(rec.Len, len(none.Steps[s]))
	}
	sims := sim.DefaultSignals()
	for _, s := range names {
		m := make(map[metrics.Signal][]float64, len(metrics.Signals))
		for _, sig := range metrics.Signals {
			m[sig] = make([]float64, rec.Len)
			for i := range m[sig] {
				m[sig][i] = math.NaN()
			}
		}
		for i, r := range none.Steps[s] {
			if !r.Time().Equal(rec.Time(i)) {
				return nil, fmt.Errorf("replay: %s's step %d is at %s, not on the grid at %s", s, i, r.Time(), rec.Time(i))
			}
			for _, sig := range metrics.Signals {
				m[sig][i], _ = r.Signals.Value(sims[sig])
			}
		}
		rec.Values[s] = m
	}
	return rec, nil
}
