// Package sim is the simulated service presage controls in replay and in the
// built-in demo: a Plant (the service), the loads that drive it (generated or
// read from a CSV trace), a metrics.Source over plants, the actuators that
// turn their knobs, and Server, which exposes simulated services over HTTP
// as a real service would (`presage sim serve`: /metrics for Prometheus to
// scrape, /actions for webhooks). The replay harness that runs policies
// over these plants is package replay.
//
// It is a model, not the truth: simple, monotone in load, deterministic given
// its seed, with every parameter in config.Plant and config.Workload and every
// equation below.
//
// # The plant
//
// A request goes through the app tier, then makes one query to the
// database; each tier is a queue. With parameters from config.Plant (A =
// AppCapacity, n = NeighbourCPU, D = DBCapacity, C = ReplicaCapacity, r =
// ReadFraction, W = ReplicaWarmup, q = QueueFraction, P = PoolSize, S =
// ServiceTime, c = Noise) and knobs Q (queue, 0 or 1), R (replicas) and f
// (cpu_limit), one step of length Δ (seconds) with load L (requests per
// second) is:
//
// Arrivals, lognormal noise of mean 1 and relative standard deviation c,
// drawn from a PCG source seeded by NewPlant's seed:
//
//	σ² = ln(1 + c²),  Z ~ N(0, 1),  λ = L·exp(σZ − σ²/2)
//
// App capacity: the neighbours use a share n of the node's CPU at their
// normal limit and n·f at cpu_limit f; the app gets the rest.
//
//	μ_app = A·(1 − n·f)/(1 − n)        (f = 1: A; f → 0: A/(1 − n))
//
// Read replicas: replica i, added a_i seconds ago, counts for min(1, a_i/W)
// of a replica (a linear warm-up; the age is counted at the end of the
// step, so with one-minute steps and W = 5m a new replica gives 20% after
// one step and all of it after five). Removed replicas, the youngest first,
// stop at once.
//
//	R_eff = Σ_i min(1, a_i/W)
//
// Database capacity: replicas serve reads only, so the writes, a share
// 1 − r of the queries, all go to the primary, which caps the total:
//
//	μ_db = min(D + R_eff·C, D/(1 − r))  (no cap when r = 1)
//
// Async queue: when on, a share q of the requests' database work leaves the
// request path for a queue served, at strict lower priority, by the
// database's spare capacity; it takes effect in the step after Set.
//
//	λ_db = (1 − q·Q)·λ
//
// Each tier k (app: demand x = λ, capacity μ = μ_app; database: x = λ_db,
// μ = μ_db) keeps a backlog B_k of requests that found it saturated. It
// grows by the excess demand and drains with the spare capacity; requests
// that would wait longer than 30 s time out and are dropped (counted in
// State.Dropped):
//
//	B_k ← min(max(0, B_k + (x − μ)·Δ), 30 s·μ)
//	ρ_k = min(x/μ, 0.99)
//	T_k = (S/2)/(1 − ρ_k) + B_k/μ
//
// The first term is the M/M/1 shape (the p99 of an M/M/1 sojourn is
// proportional to 1/(1 − ρ)), the base latency S split evenly between the
// tiers; the second is the wait behind the backlog. The p99 latency is the
// sum over the tiers in series:
//
//	latency_p99 = T_app + T_db
//
// It is S when idle, convex and increasing in the load, and each knob lowers
// it: cpu_limit f lowers ρ_app by the factor (1 − n)/(1 − n·f); the queue
// lowers ρ_db by (1 − q); a warm replica adds C to μ_db up to D/(1 − r).
//
// The async queue's own backlog A grows by what the queue takes and drains
// with what the database has left once the path's demand and backlog are
// served; it adds nothing to the latency (State.QueueBacklog):
//
//	spare = max(0, μ_db·Δ − λ_db·Δ − B_db)     (B_db before the step)
//	A ← max(0, A + q·Q·λ·Δ − spare)
//
// Connection pool: P connections per database node, primary and replicas
// (warming or not); the connections in use follow Little's law, each query
// on the path holding one for the database's share of the latency, and
// saturate at the limit as the database does:
//
//	pool_limit  = P·(1 + R)
//	pool_in_use = min(pool_limit, λ_db·T_db)
//
// The signals are latency_p99, requests = λ (the arrivals, not the
// completions: under overload the demand stays visible), pool_in_use and
// pool_limit. Nothing but λ is random.
//
// Plant.Clone (and CopyTo) copies a plant exactly, the state of its noise
// generator included: a copy stepped with the same loads emits the same
// signals as the original would, and neither touches the other. The
// replay's oracle simulates a plant's futures on such copies.
//
// Costs accumulate per step, in minutes (see Cost):
//
//	replica_minutes  += R·Δ/60
//	throttle_minutes += (1 − f)·Δ/60
//	queue_minutes    += Q·Δ/60
//
// BreachLoad solves the equations in steady state (no backlog, replicas
// warm, no noise) for the arrival rate at which T_app + T_db reaches a
// latency threshold, or a tier saturates (λ = μ_app, or λ_db = μ_db),
// whichever is lower: what each set of knob values lets a service take.
// Prior gives it per playbook action values: the planner's prior in a
// replay, before it has seen a set.
//
// # The example's two calibrations
//
// config.example.yaml has one service of each kind the playbook is for.
//
// checkout's database saturates first (A = 130, D = 90 requests/s, the
// defaults elsewhere: n = 0.3, C = 60, r = 0.7, q = 0.4). Its base capacity
// is D = 90. The queue takes 40% of the database's work off the request
// path (the database then takes 90/0.6 = 150) and replicas add 60 each, so
// both help until the app tier at 130 is the limit; with the neighbours'
// CPU halved the app takes 130·(1 − 0.15)/0.7 ≈ 158. A set's breach load
// (BreachLoad at 0.5 s) is a little under those capacities: the queue alone
// about 121, the queue and the CPU about 137.
//
// search's app tier saturates first (A = 60, D = 90, C = 40). Its base
// capacity is A = 60, so the queue and the replicas, which only relieve the
// database, barely move what it takes; the neighbours' CPU does:
// 60·(1 − 0.15)/0.7 ≈ 73. The planner learns which action helps which
// service from what each set was seen to take (and, in a replay, from
// these equations before it has seen one), not from the playbook's order.
//
// # Loads
//
// Generate builds a load on a step from config.Workload, with a PCG source
// seeded by its Seed. At time t, d days after Start, hour of day h (in
// Start's zone):
//
//	base(t) = (1 + Daily·cos(2π(h − 15)/24)) · (1 + Trend)^d · w(t)
//
// peaking at 15:00 and lowest at 03:00, with w = 0.85 on Saturdays and
// Sundays and 1 on weekdays. Bursts arrive as a Poisson process of Bursts a
// day; each lasts U(2, 10) minutes and multiplies the load by 1 + U(0.2, 0.6).
// FlashCrowds flash crowds start anywhere they fit, last U(2, 3) hours, rise
// linearly over U(5, 15) minutes, fall over their last 30 minutes, and add
// U(0.5, 1.0)·(1 + Trend)^d, that is half to all of the mean level, on top.
// Crowds are flash crowds of the same shape at set times: each starts at its
// At, lasts its Duration, rises over its Rise (10 minutes by default) and
// adds Height·(1 + Trend)^d.
// The result is scaled (Scale) so that its largest value is Peak × capacity.
// A trace is scaled instead so that its PeakQuantile (ScaleQuantile; 0.99 by
// default) is Peak × capacity: a real trace's maximum is often one spike.
//
// # Traces
//
// A load is a metrics.Grid of arrival rates. Loads reads a service's
// sim.load.trace with file.Options.ReadTrace (package metrics/file: a CSV
// "timestamp,value", or a signals file's requests, onto a regular step;
// steps without a row are gaps, NaN in the Grid), its timestamps without an
// offset in sim.load.timezone (UTC by default).
//
// # The source
//
// A Source steps every plant on a grid of its interval and returns the
// latest signals, so that a controller reads simulated services as it reads
// Prometheus. Where a service's load is NaN (a gap in a trace, or a time
// outside it) its plant idles with no arrivals (time passes: replicas warm,
// backlogs drain, costs run) and the service reports nothing: its signals
// are left out of the snapshot, as after a failed scrape. Holding the last
// value instead would invent hours of load, and any incidents it caused,
// across a long hole such as the three days missing from the NASA trace.
package sim
