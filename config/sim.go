package config

import (
	"errors"
	"time"
)

// Sim configures the simulated service and the load that drives it.
type Sim struct {
	Plant Plant    `yaml:"plant"`
	Load  Workload `yaml:"load"`
	// Knobs maps the name of a playbook action whose actuator is not kind
	// sim (a webhook) to the simulated knob ("queue", "replicas" or
	// "cpu_limit") that `presage sim serve` sets when it receives that
	// action. An action of kind sim uses its own actuator.knob and needs no
	// entry. Default: none.
	Knobs map[string]string `yaml:"knobs"`
}

// Knob returns the simulated knob behind the playbook action called name:
// its actuator's knob when it is of kind sim, else its entry in sim.knobs;
// "" when there is none.
func (s *Service) Knob(name string) string {
	if a := s.Action(name); a != nil && a.Actuator.Kind == ActuatorSim {
		return a.Actuator.Knob
	}
	return s.Sim.Knobs[name]
}

// Plant holds the simulated service's parameters; see package sim for the
// equations.
type Plant struct {
	// AppCapacity is the requests per second the app tier serves at full
	// CPU; > 0. Default 100.
	AppCapacity float64 `yaml:"app_capacity"`
	// NeighbourCPU is the share [0, 1) of the node's CPU the non-critical
	// neighbours use at their normal limit; lowering their limit gives it
	// back to the app. Default 0.3.
	NeighbourCPU float64 `yaml:"neighbour_cpu"`
	// DBCapacity is the queries per second the primary database serves;
	// > 0. Default 120.
	DBCapacity float64 `yaml:"db_capacity"`
	// ReplicaCapacity is the read queries per second one read replica adds;
	// > 0. Default 60.
	ReplicaCapacity float64 `yaml:"replica_capacity"`
	// ReadFraction is the share (0..1) of database work that replicas can
	// serve. Default 0.7.
	ReadFraction float64 `yaml:"read_fraction"`
	// ReplicaWarmup is how long a new replica takes to serve at full
	// capacity. Default 5m.
	ReplicaWarmup Duration `yaml:"replica_warmup"`
	// QueueFraction is the share (0..1) of requests whose database work the
	// async queue moves off the request path. Default 0.4.
	QueueFraction float64 `yaml:"queue_fraction"`
	// PoolSize is the connections per database node; > 0. Default 50.
	PoolSize float64 `yaml:"pool_size"`
	// ServiceTime is the base p99 latency of an idle service, seconds; > 0.
	// Default 0.05.
	ServiceTime float64 `yaml:"service_time"`
	// Noise is the relative standard deviation of the arrivals per step;
	// ≥ 0. Default 0.05.
	Noise float64 `yaml:"noise"`
}

// Workload says what drives the simulated service (a service's sim.load).
type Workload struct {
	// Trace is a CSV file "timestamp,value" (header optional) replayed as the
	// arrivals; empty uses the generator below. A relative path is relative
	// to the config file.
	Trace string `yaml:"trace"`
	// Timezone is the IANA time zone in which the trace's timestamps
	// without an offset are read ("Europe/Paris"), as `presage replay -tz`
	// reads -trace's: a local hour repeated when daylight saving ends is
	// read in row order, one skipped when it starts moves later by the gap.
	// Timestamps with an offset, and Unix seconds, are read as written.
	// Default "" (UTC).
	Timezone string `yaml:"timezone"`
	// Peak scales the load so that its peak is this multiple of the
	// service's base capacity, min(app_capacity, db_capacity): the load it
	// serves with no action engaged. A generated load's peak is its
	// maximum; a trace's is its peak_quantile. Default 1.2.
	Peak float64 `yaml:"peak"`
	// PeakQuantile is the quantile (0, 1] of a trace's values (sim.load.trace
	// or `presage replay -trace`) that is scaled to peak × capacity: 1
	// scales the maximum, 0.99 the value that 1% of the steps exceed. The
	// maximum of a real trace is often one spike, and scaling it to the
	// peak would leave the ordinary days far below capacity; its 99th
	// percentile is close to the typical daily peak (on NASA-HTTP per
	// minute, 129 requests against a median daily maximum of 136 and a
	// maximum of 405), so the daily peaks press on capacity and the rare
	// spikes go beyond it. Generated loads are always scaled by their
	// maximum. Default 0.99.
	PeakQuantile float64 `yaml:"peak_quantile"`
	// Duration is how long a generated load lasts. Default 7d.
	Duration Duration `yaml:"duration"`
	// Start is the time the load starts (RFC 3339); a trace keeps its own
	// timestamps. Default "2026-01-05T00:00:00Z".
	Start string `yaml:"start"`
	// Seed seeds the generator and the plant's noise. Default 1.
	Seed uint64 `yaml:"seed"`
	// Daily is the amplitude (0..1) of the daily cycle. Default 0.5.
	Daily float64 `yaml:"daily"`
	// Trend is the relative growth of the load per day. Default 0.
	Trend float64 `yaml:"trend"`
	// Bursts is the expected number of short bursts per day; ≥ 0. Default 2.
	Bursts float64 `yaml:"bursts"`
	// FlashCrowds is the number of flash crowds (a sudden multi-hour surge)
	// over the whole load; ≥ 0. Default 1.
	FlashCrowds int `yaml:"flash_crowds"`
	// Crowds are flash crowds at set times (a sale, a broadcast), added
	// beside the flash_crowds placed at random. Default: none.
	Crowds []Crowd `yaml:"crowds"`
}

// StartTime parses Start.
func (l Workload) StartTime() (time.Time, error) {
	return time.Parse(time.RFC3339, l.Start)
}

// Location returns the zone of the trace's timestamps without an offset:
// Timezone, or UTC when it is empty. "Local" is not a zone.
func (l Workload) Location() (*time.Location, error) {
	if l.Timezone == "" {
		return time.UTC, nil
	}
	if l.Timezone == "Local" {
		return nil, errors.New(`"Local" is not an IANA time zone`)
	}
	return time.LoadLocation(l.Timezone)
}

// Crowd is a flash crowd of a generated load at a set time: it rises
// linearly over Rise, holds, and falls over its last 30 minutes.
type Crowd struct {
	// At is when it starts (RFC 3339). Required.
	At string `yaml:"at"`
	// Duration is how long it lasts, rise and fall included; > 0. Required.
	Duration Duration `yaml:"duration"`
	// Height is what it adds at its plateau, as a multiple of the load's
	// mean level before scaling (a random flash crowd adds 0.5 to 1);
	// > 0. Required.
	Height float64 `yaml:"height"`
	// Rise is how long it takes to reach its plateau. Default 10m.
	Rise Duration `yaml:"rise"`
}

// StartTime parses At.
func (c Crowd) StartTime() (time.Time, error) {
	return time.Parse(time.RFC3339, c.At)
}
