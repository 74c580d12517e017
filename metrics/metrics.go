package metrics

import (
	"context"
	"math"
	"time"
)

// Signal names one of the signals a service exports.
type Signal string

// The signals presage reads for every service.
const (
	Latency   Signal = "latency"     // p99 response time, seconds
	Requests  Signal = "requests"    // request rate, requests per second
	PoolInUse Signal = "pool_in_use" // database connections in use
	PoolLimit Signal = "pool_limit"  // database connection pool size
)

// Signals lists every signal in a stable order.
var Signals = []Signal{Latency, Requests, PoolInUse, PoolLimit}

// Sample is one observation of a signal.
type Sample struct {
	Time  time.Time
	Value float64
}

// Missing reports whether s carries no usable value: never observed, NaN or ±Inf.
func (s Sample) Missing() bool {
	return s.Time.IsZero() || math.IsNaN(s.Value) || math.IsInf(s.Value, 0)
}

// Stale reports whether s is older than maxAge at now.
func (s Sample) Stale(now time.Time, maxAge time.Duration) bool {
	return now.Sub(s.Time) > maxAge
}

// Usable reports whether s is neither missing nor stale at now.
func (s Sample) Usable(now time.Time, maxAge time.Duration) bool {
	return !s.Missing() && !s.Stale(now, maxAge)
}

// Snapshot holds the latest sample of each signal of each service, keyed by
// service name. A signal absent from the map is missing, never zero.
type Snapshot map[string]map[Signal]Sample

// Get returns the sample of one signal of one service and whether it exists.
func (s Snapshot) Get(service string, sig Signal) (Sample, bool) {
	m, ok := s[service]
	if !ok {
		return Sample{}, false
	}
	v, ok := m[sig]
	return v, ok
}

// Set stores a sample, creating the service's map when needed.
func (s Snapshot) Set(service string, sig Signal, v Sample) {
	m, ok := s[service]
	if !ok {
		m = make(map[Signal]Sample, len(Signals))
		s[service] = m
	}
	m[sig] = v
}

// Source reads the latest value of every configured signal of every service.
// Implementations make one query per signal for all services, not one per
// service, and report a missing value by leaving it out of the Snapshot.
// Read never reads the clock: now is the step's time.
type Source interface {
	Read(ctx context.Context, now time.Time) (Snapshot, error)
}

// LocalSource is implemented by sources that read from memory and never
// wait (the simulator): the controller gives their reads no timeout.
type LocalSource interface {
	Source
	Local() bool
}

// Series is the history of one signal of one service on a regular grid,
// oldest first; a missing step is left out (never zero).
type Series []Sample

// History holds, by service name and signal, what a RangeSource read.
type History map[string]map[Signal]Series

// RangeSource is implemented by sources that can read the past, so that
// the controller starts with history (warm start) instead of waiting for
// it. Range returns the samples of every configured signal of the named
// services on the grid start, start+step, …, ≤ end.
type RangeSource interface {
	Range(ctx context.Context, services []string, start, end time.Time, step time.Duration) (History, error)
}
