package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/presage-dev/presage/metrics"
)

// Service is one simulated service: a plant driven by a load.
type Service struct {
	Name  string
	Plant *Plant
	Load  *metrics.Grid
}

// Record is one step of one service as a Source ran it.
//
// A replay keeps a million of them per policy, so a record is small (48
// bytes: the plant's State after the step is not kept; Plant.State gives
// the current one) and holds no pointers (the time is kept as Unix
// nanoseconds), which the garbage collector would otherwise scan at every
// cycle.
type Record struct {
	UnixNano int64   // end of the step (Time); the load used is Load.At(Time())
	Load     float64 // the load's value, NaN where it has none
	Signals  Signals // what the service emitted; all NaN where the load has no value
}

// Time returns the end of the step, in UTC.
func (r Record) Time() time.Time { return time.Unix(0, r.UnixNano).UTC() }

// maxCatchUp bounds the steps one Read may take.
const maxCatchUp = 1 << 22

// DefaultSignals returns the mapping a Source uses for a service the signals
// argument of NewSource leaves out: every presage signal from the simulator
// signal of the same meaning.
func DefaultSignals() map[metrics.Signal]string {
	return map[metrics.Signal]string{
		metrics.Latency:   SignalLatencyP99,
		metrics.Requests:  SignalRequests,
		metrics.PoolInUse: SignalPoolInUse,
		metrics.PoolLimit: SignalPoolLimit,
	}
}

// Source is a metrics.Source over simulated services. Each Read advances
// every plant on a grid of the interval, feeding it its load, and returns
// the latest signals. It never reads the clock. A Source is safe for
// concurrent use.
type Source struct {
	mu       sync.Mutex
	interval time.Duration
	opts     SourceOptions
	services []*service
	byName   map[string]*service
	started  bool
	last     time.Time     // time of the last step
	offset   time.Duration // added to the step time to read the load
	snap     metrics.Snapshot
}

// SourceOptions change how a Source maps its steps onto the loads. The zero
// value reads each load at the step's own time and keeps every step's
// record, as a replay wants.
type SourceOptions struct {
	// Align plays the loads from their start at the first Read, whatever
	// its time (for a live demo: the load of the trace's first step is
	// served at the first read, and so on).
	Align bool
	// Loop repeats each load from its start once it ends.
	Loop bool
	// MaxHistory bounds the records kept per service (oldest dropped);
	// 0 keeps them all.
	MaxHistory int
	// Steps, when > 0, is how many steps the Source is expected to run:
	// room for that many records is made at once.
	Steps int
	// ReuseSnapshot makes Read return the same Snapshot, overwritten, at
	// every call: a caller that reads it before the next Read (a
	// controller's Step does) spares an allocation per service and step.
	ReuseSnapshot bool
}

// Local reports that the Source reads from memory and never waits
// (metrics.LocalSource).
func (s *Source) Local() bool { return true }

// SetOptions sets the options; call it before the first Read.
func (s *Source) SetOptions(o SourceOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
	if o.Steps > 0 {
		for _, sv := range s.services {
			if len(sv.history) == 0 {
				// make, not slices.Grow: a fresh allocation comes zeroed
				// from the system, page by page as it is written, where
				// Grow clears it all at once.
				sv.history = make([]Record, 0, o.Steps)
			} else {
				sv.history = slices.Grow(sv.history, o.Steps)
			}
		}
	}
}

var _ metrics.Source = (*Source)(nil)

// simSignal is a presage signal and the simulator signal behind it.
type simSignal struct {
	sig  metrics.Signal
	name string
}

type service struct {
	*Service
	sigs    []simSignal // the signals it exports, in the order of metrics.Signals
	latest  Signals
	ok      bool // latest holds values
	history []Record
}

// NewSource returns a Source over services stepped every interval. signals
// maps a service's name to the simulator signal (SignalLatencyP99, ...)
// behind each presage signal it exports; a service signals leaves out
// exports all four (DefaultSignals), an empty map none.
func NewSource(services []*Service, interval time.Duration, signals map[string]map[metrics.Signal]string) (*Source, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("sim: source interval must be > 0, got %v", interval)
	}
	s := &Source{interval: interval, byName: make(map[string]*service, len(services))}
	var errs []error
	for i, svc := range services {
		switch {
		case svc == nil:
			errs = append(errs, fmt.Errorf("sim: service %d is nil", i))
			continue
		case svc.Name == "":
			errs = append(errs, fmt.Errorf("sim: service %d has no name", i))
		case s.byName[svc.Name] != nil:
			errs = append(errs, fmt.Errorf("sim: service %q appears twice", svc.Name))
		}
		if svc.Plant == nil {
			errs = append(errs, fmt.Errorf("sim: service %q has no plant", svc.Name))
		}
		if svc.Load == nil {
			errs = append(errs, fmt.Errorf("sim: service %q has no load", svc.Name))
		}
		m, ok := signals[svc.Name]
		if !ok {
			m = DefaultSignals()
		}
		own := make(map[metrics.Signal]string, len(m))
		for sig, name := range m {
			if _, ok := (Signals{}).Value(name); !ok {
				errs = append(errs, fmt.Errorf("sim: service %q signal %s: unknown simulator signal %q", svc.Name, sig, name))
			}
			own[sig] = name
		}
		sv := &service{Service: svc}
		for _, sig := range metrics.Signals {
			if name, ok := own[sig]; ok {
				sv.sigs = append(sv.sigs, simSignal{sig, name})
			}
		}
		s.services = append(s.services, sv)
		if svc.Name != "" && s.byName[svc.Name] == nil {
			s.byName[svc.Name] = sv
		}
	}
	for name := range signals {
		if s.byName[name] == nil {
			errs = append(errs, fmt.Errorf("sim: signals for unknown service %q", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Read advances every plant to now and returns each service's latest
// signals, timestamped now. The first Read takes one step, at now; later ones
// take a step at every interval after the last step up to now (none when
// less than an interval has passed). The step ending at t is driven by
// Load.At(t); where that is NaN (a gap, or outside the trace) the plant idles
// with no arrivals and the service reports nothing: its signals are left out
// of the snapshot, as a failed scrape would be. It is an error for now to be
// before the last step.
func (s *Source) Read(ctx context.Context, now time.Time) (metrics.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var one [1]time.Time
	var times []time.Time
	switch {
	case !s.started:
		one[0] = now
		times = one[:]
		if s.opts.Align {
			s.offset = s.earliestStart().Sub(now)
		}
	case now.Before(s.last):
		return nil, fmt.Errorf("sim: read at %s, before the last step at %s",
			now.Format(time.RFC3339Nano), s.last.Format(time.RFC3339Nano))
	default:
		n := now.Sub(s.last) / s.interval
		if n > maxCatchUp {
			return nil, fmt.Errorf("sim: read at %s: %d steps of %v since %s is more than %d",
				now.Format(time.RFC3339Nano), n, s.interval, s.last.Format(time.RFC3339Nano), maxCatchUp)
		}
		times = one[:]
		if n != 1 {
			times = make([]time.Time, n)
		}
		for i := range times {
			times[i] = s.last.Add(time.Duration(i+1) * s.interval)
		}
	}
	for i, t := range times {
		if i%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err // the steps taken so far stand
			}
		}
		for _, sv := range s.services {
			sv.step(t, t.Add(s.offset), s.interval, s.opts)
		}
		s.started, s.last = true, t
	}

	snap := s.snap
	if snap == nil || !s.opts.ReuseSnapshot {
		snap = make(metrics.Snapshot, len(s.services))
	}
	if s.opts.ReuseSnapshot {
		s.snap = snap
		for _, m := range snap {
			clear(m)
		}
	}
	for _, sv := range s.services {
		if !sv.ok {
			continue
		}
		var m map[metrics.Signal]metrics.Sample
		for _, e := range sv.sigs {
			v, _ := sv.latest.Value(e.name)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if m == nil {
				if m = snap[sv.Name]; m == nil {
					m = make(map[metrics.Signal]metrics.Sample, len(metrics.Signals))
					snap[sv.Name] = m
				}
			}
			m[e.sig] = metrics.Sample{Time: now, Value: v}
		}
	}
	return snap, nil
}

// earliestStart returns the earliest start of the services' loads.
func (s *Source) earliestStart() time.Time {
	var first time.Time
	for _, sv := range s.services {
		if first.IsZero() || sv.Load.Start.Before(first) {
			first = sv.Load.Start
		}
	}
	return first
}

// step advances the service's plant by one interval ending at t, reading
// the load at lt.
func (sv *service) step(t, lt time.Time, dt time.Duration, o SourceOptions) {
	if o.Loop {
		if d := sv.Load.End().Sub(sv.Load.Start); d > 0 && !lt.Before(sv.Load.End()) {
			lt = sv.Load.Start.Add(lt.Sub(sv.Load.Start) % d)
		}
	}
	load := sv.Load.At(lt)
	missing := math.IsNaN(load) || math.IsInf(load, 0) || load < 0
	var sig Signals
	if missing {
		sv.Plant.Step(0, dt)
		nan := math.NaN()
		sig = Signals{LatencyP99: nan, Requests: nan, PoolInUse: nan, PoolLimit: nan}
	} else {
		sig = sv.Plant.Step(load, dt)
	}
	sv.latest, sv.ok = sig, !missing
	sv.history = append(sv.history, Record{UnixNano: t.UnixNano(), Load: load, Signals: sig})
	if o.MaxHistory > 0 && len(sv.history) > 2*o.MaxHistory {
		sv.history = append(sv.history[:0], sv.history[len(sv.history)-o.MaxHistory:]...)
	}
}

// History returns a copy of every step the Source has run for the named
// service, oldest first, or nil for an unknown service.
func (s *Source) History(name string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.byName[name]
	if sv == nil {
		return nil
	}
	out := make([]Record, len(sv.history))
	copy(out, sv.history)
	return out
}

// TakeHistory returns the named service's steps without a copy and forgets
// them, for a caller that is done with the Source (a replay's last step);
// nil for an unknown service.
func (s *Source) TakeHistory(name string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.byName[name]
	if sv == nil {
		return nil
	}
	h := sv.history
	sv.history = nil
	return h
}

// Plant returns the named service's plant, or nil.
func (s *Source) Plant(name string) *Plant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.byName[name]; sv != nil {
		return sv.Plant
	}
	return nil
}

// Knob returns an actuator for a knob of the named service's plant.
func (s *Source) Knob(service, knob string) (*Knob, error) {
	p := s.Plant(service)
	if p == nil {
		return nil, fmt.Errorf("sim: unknown service %q", service)
	}
	if !validKnob(knob) {
		return nil, fmt.Errorf("%w %q", ErrUnknownKnob, knob)
	}
	return NewKnob(p, knob), nil
}
