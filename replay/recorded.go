package replay

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/sim"
)

// RecordedSource is a metrics.Source over a Recording: Read at a grid time
// returns that step's values, timestamped with it; at any other time, or a
// step with no value, the signal is missing. It never reads the clock.
type RecordedSource struct {
	rec *sim.Recording
}

var _ metrics.Source = (*RecordedSource)(nil)

// NewRecordedSource returns a Source over rec.
func NewRecordedSource(rec *sim.Recording) *RecordedSource { return &RecordedSource{rec: rec} }

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
// services would have exported with nothing done) as WriteSignals does.
func (rep *Report) WriteNoneSignals(w io.Writer) error {
	none := rep.none
	if none == nil {
		return errors.New("replay: the replay has no 'none' run")
	}
	return sim.WriteSignals(w, rep.Config.ServiceNames(), none.Steps)
}
