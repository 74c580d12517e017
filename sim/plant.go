package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/presage-dev/presage/config"
)

// The knobs of a Plant.
const (
	KnobQueue    = config.KnobQueue    // async queue: 0 off, 1 on
	KnobReplicas = config.KnobReplicas // read replicas: a whole number ≥ 0
	KnobCPULimit = config.KnobCPULimit // neighbours' CPU limit, fraction (0, 1] of normal
)

// Knobs lists the knobs of a Plant in a stable order.
var Knobs = []string{KnobQueue, KnobReplicas, KnobCPULimit}

// The names of the signals a Plant emits, as config's signals.*.sim uses them.
const (
	SignalLatencyP99 = config.SimLatencyP99 // Signals.LatencyP99
	SignalRequests   = config.SimRequests   // Signals.Requests
	SignalPoolInUse  = config.SimPoolInUse  // Signals.PoolInUse
	SignalPoolLimit  = config.SimPoolLimit  // Signals.PoolLimit
)

// ErrUnknownKnob is returned for a knob name that is not one of Knobs.
var ErrUnknownKnob = errors.New("sim: unknown knob")

// The plant's fixed constants; see the package documentation.
const (
	maxRho      = 0.99 // utilisation at which the queueing term stops growing
	maxWait     = 30.0 // seconds a request waits in a backlog before it times out
	maxReplicas = 1000 // largest replicas knob accepted
)

// Signals is what a Plant emits for one step, the signals a real service
// exports to Prometheus.
type Signals struct {
	LatencyP99 float64 // p99 response time, seconds
	Requests   float64 // arrivals of the step (the noisy load), requests per second
	PoolInUse  float64 // database connections in use
	PoolLimit  float64 // database connection pool size
}

// Value returns the signal with the given simulator name (SignalLatencyP99,
// ...) and whether the name is known.
func (s Signals) Value(name string) (float64, bool) {
	switch name {
	case SignalLatencyP99:
		return s.LatencyP99, true
	case SignalRequests:
		return s.Requests, true
	case SignalPoolInUse:
		return s.PoolInUse, true
	case SignalPoolLimit:
		return s.PoolLimit, true
	}
	return math.NaN(), false
}

// State is a Plant's inner state after a step: its knobs, its capacities and
// its backlogs. A real service would not export most of it; replays and tests
// read it.
type State struct {
	Queue        float64 // async queue knob, 0 or 1
	Replicas     float64 // read replicas running (warm or warming)
	WarmReplicas float64 // R_eff: replicas weighted by how far they are warmed up
	CPULimit     float64 // neighbours' CPU limit, fraction of normal
	AppCapacity  float64 // μ_app, requests per second
	DBCapacity   float64 // μ_db, queries per second
	Backlog      float64 // requests waiting on the request path (app + database)
	QueueBacklog float64 // database work waiting in the async queue, queries
	Dropped      float64 // requests (app) and queries (database) timed out of a full backlog since the start
}

// Cost is the resource cost a Plant's knobs have run up since it started.
type Cost struct {
	// ReplicaMinutes is Σ replicas·dt: minutes of read replicas running,
	// counted from when each is added (warming up costs too).
	ReplicaMinutes float64
	// ThrottleMinutes is Σ (1 − cpu_limit)·dt: minutes the neighbours are
	// throttled, weighted by how much of their CPU is taken back (a minute at
	// cpu_limit 0.5 counts half a minute; an untouched limit counts nothing).
	ThrottleMinutes float64
	// QueueMinutes is Σ queue·dt: minutes the async queue is on.
	QueueMinutes float64
}

// Plant is the simulated service: an app tier and a database in series, read
// replicas, an async queue and CPU-hungry neighbours; see the package
// documentation for its equations. A Plant is safe for concurrent use.
type Plant struct {
	mu sync.Mutex

	p      config.Plant // resolved parameters
	warmup float64      // ReplicaWarmup, seconds
	sigma  float64      // sd of the log of the arrivals' noise
	pcg    *rand.PCG    // rng's source, whose state Clone copies
	rng    *rand.Rand

	queue bool
	ages  []float64 // seconds each replica has run, oldest first
	cpu   float64

	appBacklog, dbBacklog, asyncBacklog float64
	dropped                             float64
	muApp, muDB, warm                   float64 // of the last step

	cost Cost
}

// NewPlant returns a Plant with parameters p (resolved by ResolvePlant)
// whose arrivals' noise is seeded by seed. Its knobs start at queue 0,
// replicas 0, cpu_limit 1. NewPlant panics if a parameter is out of range
// (config validation rejects those); ResolvePlant reports the same problems
// as an error.
func NewPlant(p config.Plant, seed uint64) *Plant {
	rp, err := ResolvePlant(p)
	if err != nil {
		panic(err.Error())
	}
	pcg := rand.NewPCG(seed, 0x706c616e74) // stream "plant"
	pl := &Plant{
		p:      rp,
		warmup: time.Duration(rp.ReplicaWarmup).Seconds(),
		sigma:  math.Sqrt(math.Log1p(rp.Noise * rp.Noise)),
		pcg:    pcg,
		rng:    rand.New(pcg),
		cpu:    1,
	}
	pl.muApp, pl.muDB = pl.capacities()
	return pl
}

// ResolvePlant applies defaults as config does and checks the ranges. The
// zero Plant stands for config.DefaultPlant. Otherwise a zero field takes
// its default only where zero is not a valid setting (app_capacity,
// db_capacity, replica_capacity, pool_size, service_time), as
// config.SetDefaults does; elsewhere zero means what it says: neighbour_cpu 0
// (lowering cpu_limit frees nothing), read_fraction 0 (replicas serve
// nothing), queue_fraction 0 (the queue moves nothing), replica_warmup 0
// (replicas help at once), noise 0 (arrivals = load). It returns every
// parameter out of range, joined.
func ResolvePlant(p config.Plant) (config.Plant, error) {
	if p == (config.Plant{}) {
		return config.DefaultPlant, nil
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	d := config.DefaultPlant
	def(&p.AppCapacity, d.AppCapacity)
	def(&p.DBCapacity, d.DBCapacity)
	def(&p.ReplicaCapacity, d.ReplicaCapacity)
	def(&p.PoolSize, d.PoolSize)
	def(&p.ServiceTime, d.ServiceTime)

	var errs []error
	check := func(name string, v float64, ok bool, want string) {
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("sim: plant %s: must be %s, got %v", name, want, v))
		}
	}
	check("app_capacity", p.AppCapacity, p.AppCapacity > 0, "> 0")
	check("neighbour_cpu", p.NeighbourCPU, p.NeighbourCPU >= 0 && p.NeighbourCPU < 1, "in [0, 1)")
	check("db_capacity", p.DBCapacity, p.DBCapacity > 0, "> 0")
	check("replica_capacity", p.ReplicaCapacity, p.ReplicaCapacity > 0, "> 0")
	check("read_fraction", p.ReadFraction, p.ReadFraction >= 0 && p.ReadFraction <= 1, "in [0, 1]")
	check("queue_fraction", p.QueueFraction, p.QueueFraction >= 0 && p.QueueFraction <= 1, "in [0, 1]")
	check("pool_size", p.PoolSize, p.PoolSize > 0, "> 0")
	check("service_time", p.ServiceTime, p.ServiceTime > 0, "> 0")
	check("noise", p.Noise, p.Noise >= 0, "≥ 0")
	if p.ReplicaWarmup < 0 {
		errs = append(errs, fmt.Errorf("sim: plant replica_warmup: must be ≥ 0, got %v", p.ReplicaWarmup))
	}
	return p, errors.Join(errs...)
}

// Params returns the plant's parameters, defaults applied.
func (pl *Plant) Params() config.Plant { return pl.p }

// capacities returns μ_app and μ_db for the current knobs and warm-up.
func (pl *Plant) capacities() (muApp, muDB float64) {
	p := pl.p
	muApp = p.AppCapacity * (1 - p.NeighbourCPU*pl.cpu) / (1 - p.NeighbourCPU)
	muDB = p.DBCapacity + pl.warm*p.ReplicaCapacity
	if p.ReadFraction < 1 {
		muDB = min(muDB, p.DBCapacity/(1-p.ReadFraction))
	}
	return muApp, muDB
}

// Step advances the plant by dt with load as the mean arrival rate (requests
// per second) and returns the step's signals. A load that is not a finite
// number ≥ 0 counts as 0. Step panics if dt ≤ 0.
func (pl *Plant) Step(load float64, dt time.Duration) Signals {
	if dt <= 0 {
		panic("sim: Plant.Step with dt ≤ 0")
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	p := pl.p
	d := dt.Seconds()

	// Arrivals: load × lognormal noise of mean 1 and relative sd Noise. The
	// draw happens whatever the load, so the noise sequence depends only on
	// the seed and the number of steps.
	z := pl.rng.NormFloat64()
	if !(load >= 0) || math.IsInf(load, 1) {
		load = 0
	}
	lambda := load * math.Exp(pl.sigma*z-pl.sigma*pl.sigma/2)

	// Replicas warm up linearly over ReplicaWarmup.
	pl.warm = 0
	for i := range pl.ages {
		pl.ages[i] += d
		if pl.warmup > 0 {
			pl.warm += min(1, pl.ages[i]/pl.warmup)
		} else {
			pl.warm++
		}
	}
	pl.muApp, pl.muDB = pl.capacities()

	// The async queue takes QueueFraction of the database work off the path.
	lambdaDB := lambda
	var async float64
	if pl.queue {
		async = p.QueueFraction * lambda
		lambdaDB = lambda - async
	}

	s := p.ServiceTime / 2
	tApp, dropApp, _ := tier(s, lambda, pl.muApp, &pl.appBacklog, d)
	tDB, dropDB, spare := tier(s, lambdaDB, pl.muDB, &pl.dbBacklog, d)
	pl.dropped += dropApp + dropDB
	pl.asyncBacklog = max(0, pl.asyncBacklog+async*d-spare)

	replicas := float64(len(pl.ages))
	limit := p.PoolSize * (1 + replicas)

	m := d / 60
	pl.cost.ReplicaMinutes += replicas * m
	pl.cost.ThrottleMinutes += (1 - pl.cpu) * m
	if pl.queue {
		pl.cost.QueueMinutes += m
	}

	return Signals{
		LatencyP99: tApp + tDB,
		Requests:   lambda,
		PoolInUse:  min(limit, lambdaDB*tDB),
		PoolLimit:  limit,
	}
}

// tier advances one queueing tier by d seconds: demand x per second against
// capacity mu, with *backlog requests waiting. It returns the tier's share of
// the p99 latency, the requests dropped because the backlog exceeded maxWait,
// and the capacity left over in the step (work units) once the demand and
// the backlog are served.
func tier(s, x, mu float64, backlog *float64, d float64) (t, dropped, spare float64) {
	b := *backlog + (x-mu)*d
	spare = max(0, -b)
	b = max(0, b)
	if c := mu * maxWait; b > c {
		dropped, b = b-c, c
	}
	*backlog = b
	rho := min(x/mu, maxRho)
	return s/(1-rho) + b/mu, dropped, spare
}

// Set sets a knob: KnobQueue to 0 or 1, KnobReplicas to a whole number in
// [0, 1000], KnobCPULimit to a fraction in (0, 1]. It takes effect from the
// next Step. Added replicas start warming up then; removed ones (the youngest
// first) stop at once.
func (pl *Plant) Set(knob string, v float64) error {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	switch knob {
	case KnobQueue:
		if v != 0 && v != 1 {
			return fmt.Errorf("sim: knob %s: want 0 or 1, got %v", knob, v)
		}
		pl.queue = v == 1
	case KnobReplicas:
		r := math.Round(v)
		if !(math.Abs(v-r) < 1e-9) || r < 0 || r > maxReplicas {
			return fmt.Errorf("sim: knob %s: want a whole number in [0, %d], got %v", knob, maxReplicas, v)
		}
		n := int(r)
		if n < len(pl.ages) {
			pl.ages = pl.ages[:n]
		}
		for len(pl.ages) < n {
			pl.ages = append(pl.ages, 0)
		}
	case KnobCPULimit:
		if !(v > 0 && v <= 1) {
			return fmt.Errorf("sim: knob %s: want a fraction in (0, 1], got %v", knob, v)
		}
		pl.cpu = v
	default:
		return fmt.Errorf("%w %q", ErrUnknownKnob, knob)
	}
	return nil
}

// Get returns a knob's value: the replicas knob counts replicas running,
// warm or not.
func (pl *Plant) Get(knob string) (float64, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	switch knob {
	case KnobQueue:
		if pl.queue {
			return 1, nil
		}
		return 0, nil
	case KnobReplicas:
		return float64(len(pl.ages)), nil
	case KnobCPULimit:
		return pl.cpu, nil
	}
	return math.NaN(), fmt.Errorf("%w %q", ErrUnknownKnob, knob)
}

// State returns the plant's state after its last step (knobs as they are now).
func (pl *Plant) State() State {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	q := 0.0
	if pl.queue {
		q = 1
	}
	return State{
		Queue:        q,
		Replicas:     float64(len(pl.ages)),
		WarmReplicas: pl.warm,
		CPULimit:     pl.cpu,
		AppCapacity:  pl.muApp,
		DBCapacity:   pl.muDB,
		Backlog:      pl.appBacklog + pl.dbBacklog,
		QueueBacklog: pl.asyncBacklog,
		Dropped:      pl.dropped,
	}
}

// Cost returns the cost run up since the plant started.
func (pl *Plant) Cost() Cost {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.cost
}
