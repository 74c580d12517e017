package sim

import "math/rand/v2"

// Clone returns a deep copy of the plant: its parameters, knobs, replicas
// and their ages, backlogs, costs and the state of its random generator.
// Stepping the copy with the same loads gives exactly the same arrivals,
// signals and costs as stepping the original, and neither changes the
// other: a replay's oracle simulates the plant's future on copies.
func (pl *Plant) Clone() *Plant {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	c := &Plant{}
	pl.copyTo(c)
	return c
}

// CopyTo makes dst a deep copy of the plant, as Clone does, reusing dst's
// memory (a search that copies a plant at every step need not allocate).
// dst must not be pl.
func (pl *Plant) CopyTo(dst *Plant) {
	if dst == pl {
		panic("sim: Plant.CopyTo onto itself")
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	dst.mu.Lock()
	defer dst.mu.Unlock()
	pl.copyTo(dst)
}

// copyTo copies pl into dst; the caller holds pl.mu (and dst's, if dst is
// shared).
func (pl *Plant) copyTo(dst *Plant) {
	pcg, ages := dst.pcg, dst.ages[:0]
	if pcg == nil {
		pcg = new(rand.PCG)
	}
	*pcg = *pl.pcg
	rng := dst.rng
	if rng == nil || dst.pcg == nil {
		rng = rand.New(pcg)
	}
	dst.p, dst.warmup, dst.sigma = pl.p, pl.warmup, pl.sigma
	dst.pcg, dst.rng = pcg, rng
	dst.queue, dst.ages, dst.cpu = pl.queue, append(ages, pl.ages...), pl.cpu
	dst.appBacklog, dst.dbBacklog, dst.asyncBacklog = pl.appBacklog, pl.dbBacklog, pl.asyncBacklog
	dst.dropped = pl.dropped
	dst.muApp, dst.muDB, dst.warm = pl.muApp, pl.muDB, pl.warm
	dst.cost = pl.cost
}
