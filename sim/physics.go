package sim

import (
	"math"

	"github.com/presage-dev/presage/config"
)

// BreachLoad returns the arrival rate (requests per second) at which a
// plant with parameters p, in steady state with its knobs at queue (0 or
// 1), replicas (all warm) and cpuLimit, has a latency of above seconds:
// the load at which it breaches once any backlog has drained. A tier
// whose demand exceeds its capacity builds a backlog without bound, so the
// result is at most the load that saturates a tier. It is the planner's
// prior in a replay (the plant's physics): what each set of actions lets
// the service take, before any set has been seen. p is resolved as
// ResolvePlant does; it returns NaN when p is out of range.
func BreachLoad(p config.Plant, queue, replicas, cpuLimit, above float64) float64 {
	rp, err := ResolvePlant(p)
	if err != nil {
		return math.NaN()
	}
	pl := &Plant{p: rp, cpu: cpuLimit, warm: replicas}
	muApp, muDB := pl.capacities()
	dbShare := 1 - rp.QueueFraction*queue // the database's share of the arrivals
	s := rp.ServiceTime / 2
	latency := func(x float64) float64 {
		return s/(1-min(x/muApp, maxRho)) + s/(1-min(x*dbShare/muDB, maxRho))
	}
	saturate := muApp
	if dbShare > 0 {
		saturate = min(saturate, muDB/dbShare)
	}
	if latency(saturate) <= above {
		return saturate
	}
	lo, hi := 0.0, saturate
	for range 60 {
		mid := (lo + hi) / 2
		if latency(mid) > above {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

// Prior returns BreachLoad for the service's plant as a function of each
// playbook action's value (in playbook order): each action sets the knob
// it drives (Service.Knob); the knobs no action drives stay at their
// starting values (queue off, no replica, the neighbours' whole limit).
func Prior(s config.Service) func(values []float64) float64 {
	knobs := make([]string, len(s.Playbook))
	for i, a := range s.Playbook {
		knobs[i] = s.Knob(a.Name)
	}
	return func(values []float64) float64 {
		queue, replicas, cpu := 0.0, 0.0, 1.0
		for i, k := range knobs {
			switch k {
			case KnobQueue:
				queue = values[i]
			case KnobReplicas:
				replicas = values[i]
			case KnobCPULimit:
				cpu = values[i]
			}
		}
		return BreachLoad(s.Sim.Plant, queue, replicas, cpu, s.Incident.Above)
	}
}
