package sim

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
)

// Capacity returns the plant's base capacity: the requests per second its
// bottleneck tier serves with no action engaged, min(AppCapacity,
// DBCapacity). Loads are scaled against it.
func Capacity(p config.Plant) float64 {
	p, err := ResolvePlant(p)
	if err != nil {
		return 0
	}
	return min(p.AppCapacity, p.DBCapacity)
}

// Loads resolves the load of every service of cfg, by name: override (a
// copy, scaled so that its sim.load.peak_quantile is each service's
// sim.load.peak × its capacity) when it is not nil, else the service's
// sim.load.trace (scaled the same way), else the generator on the control
// interval (scaled so that its maximum is peak × capacity).
func Loads(cfg *config.Config, override *metrics.Grid) (map[string]*metrics.Grid, error) {
	interval := time.Duration(cfg.Global.Interval)
	out := make(map[string]*metrics.Grid, len(cfg.Services))
	for i, s := range cfg.Services {
		l := s.Sim.Load
		capacity := Capacity(s.Sim.Plant)
		var tr *metrics.Grid
		switch {
		case override != nil:
			tr = &metrics.Grid{Start: override.Start, Step: override.Step, Values: append([]float64(nil), override.Values...)}
		case l.Trace != "":
			loc, err := l.Location()
			if err != nil {
				return nil, fmt.Errorf("services[%d].sim.load.timezone: %w", i, err)
			}
			if tr, err = (file.Options{Location: loc}).ReadTrace(l.Trace); err != nil {
				return nil, fmt.Errorf("services[%d].sim.load.trace: %w", i, err)
			}
		default:
			var err error
			if tr, err = Generate(l, interval, capacity); err != nil {
				return nil, fmt.Errorf("services[%d].sim.load: %w", i, err)
			}
		}
		if override != nil || l.Trace != "" {
			q := l.PeakQuantile
			if q == 0 {
				q = config.DefaultWorkload.PeakQuantile
			}
			if err := ScaleQuantile(tr, l.Peak, capacity, q); err != nil {
				return nil, fmt.Errorf("services[%d].sim.load: %w", i, err)
			}
		}
		out[s.Name] = tr
	}
	return out, nil
}

// ActuatorFunc builds the actuator of a playbook action that is not a
// simulator knob (a webhook, say).
type ActuatorFunc func(service string, a config.Action) (actuators.Actuator, error)

// PlantSeed returns the seed of a service's plant noise: its
// sim.load.seed mixed with a hash of its name, so that a service's plant
// is the same whatever other services the configuration holds and in
// whatever order (a replay steps each service on its own).
func PlantSeed(s config.Service) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	return s.Sim.Load.Seed ^ h.Sum64()
}

// Build makes fresh simulated services of cfg driven by loads, the Source
// over them, and each service's playbook actuators in order: the plant's
// knob for actions of kind sim, other (or, when other is nil, a dry-run
// recorder that changes nothing) for the rest.
func Build(cfg *config.Config, loads map[string]*metrics.Grid, other ActuatorFunc) (*Source, map[string][]actuators.Actuator, error) {
	var services []*Service
	signals := make(map[string]map[metrics.Signal]string, len(cfg.Services))
	for i, s := range cfg.Services {
		tr := loads[s.Name]
		if tr == nil {
			return nil, nil, fmt.Errorf("sim: no load for service %q", s.Name)
		}
		if _, err := ResolvePlant(s.Sim.Plant); err != nil {
			return nil, nil, fmt.Errorf("services[%d].sim.plant: %w", i, err)
		}
		services = append(services, &Service{Name: s.Name, Plant: NewPlant(s.Sim.Plant, PlantSeed(s)), Load: tr})
		m := make(map[metrics.Signal]string)
		for _, sig := range metrics.Signals {
			if src := s.Signals.Get(string(sig)); src.Sim != "" {
				m[sig] = src.Sim
			}
		}
		signals[s.Name] = m
	}
	src, err := NewSource(services, time.Duration(cfg.Global.Interval), signals)
	if err != nil {
		return nil, nil, err
	}
	acts := make(map[string][]actuators.Actuator, len(cfg.Services))
	for i, s := range cfg.Services {
		for j, a := range s.Playbook {
			var act actuators.Actuator
			switch {
			case a.Actuator.Kind == config.ActuatorSim:
				k, err := src.Knob(s.Name, a.Actuator.Knob)
				if err != nil {
					return nil, nil, fmt.Errorf("services[%d].playbook[%d]: %w", i, j, err)
				}
				act = k
			case other != nil:
				if act, err = other(s.Name, a); err != nil {
					return nil, nil, fmt.Errorf("services[%d].playbook[%d]: %w", i, j, err)
				}
			default:
				act = actuators.NewRecorder(nil)
			}
			acts[s.Name] = append(acts[s.Name], act)
		}
	}
	return src, acts, nil
}
