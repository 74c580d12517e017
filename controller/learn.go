package controller

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// levelStats is what the controller learned of one playbook level (in
// mode plan, of one action set): the load at which it breaches, and the
// few (load, latency) pairs of the level that have left the service's
// history.
//
// A level learns from the pairs observed while it was engaged and
// settled: its last history-length pairs (global.history in steps), as
// model.BreachLevel reads them. The pairs of the last history-length
// steps are the service's history itself (history: the load the model
// fits on, with the step's latency and level beside it), so no level
// keeps a copy of them. A level engaged for a while and then not for
// longer than the history would lose them all: older keeps the newest
// olderPairs that left the history, and an estimate reads as many of them
// as the history lacks. Every level's estimate is therefore the one from
// its last history-length pairs, exactly, whenever those of them older
// than the history number at most olderPairs: always for the level that is
// engaged most of the time (its pairs fill the history), and for the
// others until they have been away for long. The alternatives were worse:
// a sorted copy per level (what this replaced) grows to the whole history
// per level and per set, 484 KB each at a week of minutes; a reservoir
// sampled over all of a level's pairs, or counts of breaches by load bin,
// change the estimate for every level at every step, where this one leaves
// it as it was.
type levelStats struct {
	older  *pairRing // nil until a pair of the level leaves the history
	added  int       // pairs learned since the last estimate
	level  float64
	known  bool
	breach bool // a breach sample arrived since the last estimate
}

// olderPairs is how many pairs that left the history a level keeps: 25
// times the least model.BreachLevel reads (MinBreachLevelPairs), 8.5 hours
// of a level at a one-minute interval, in 4 KB.
const olderPairs = 512

// pairRing is a bounded history of (x, y) pairs, oldest dropped first.
type pairRing struct {
	x, y ring
}

func newPairRing(capacity int) *pairRing {
	return &pairRing{x: *newRing(capacity), y: *newRing(capacity)}
}

func (p *pairRing) push(x, y float32) {
	p.x.push(float64(x))
	p.y.push(float64(y))
}

// learnEvery is how many new observations of a level trigger a new estimate
// of its breach level; learnAfterBreach, how many when one of them breached.
// A level holds up to a week of observations and an estimate sorts them,
// so estimates are kept rare while nothing breaches, and made soon after a
// breach, when the level has just been seen to fail.
const (
	learnEvery       = 240
	learnAfterBreach = 10
)

// record appends the step's load to the service's history, with its
// latency when the (load, latency) pair teaches a level (learnable), and
// re-estimates that level's breach level from time to time.
func (c *Controller) record(s *service, lat, load float64, now time.Time) {
	level := c.learnable(s, lat, load, now)
	tagLat, tag := math.NaN(), uint8(0)
	if level >= 0 {
		tagLat, tag = onSide(lat, s.pattern.Above), uint8(level)
	}
	s.keepOlder(s.hist.push(load, tagLat, tag))
	if level < 0 {
		return
	}
	ls := &s.levels[level]
	ls.added++
	if lat > s.pattern.Above {
		ls.breach = true
	}
	// A breach teaches the most: re-estimate soon after one (at once
	// while the level is unknown), else every learnEvery observations.
	if ls.added < learnEvery && !(ls.breach && (!ls.known || ls.added >= learnAfterBreach)) {
		return
	}
	c.relearn(s, level)
}

// onSide returns v as the history keeps it (a float32), on the same side
// of above as v: nudged by one float32 step where the rounding would move
// it across, so that a latency learned is in breach exactly when it was.
func onSide(v, above float64) float64 {
	f := float32(v)
	switch {
	case v > above && !(float64(f) > above):
		f = math.Nextafter32(f, float32(math.Inf(1)))
	case v <= above && float64(f) > above:
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return float64(f)
}

// keepOlder files a pair that left the history (lat NaN when it taught
// nothing) with its level.
func (s *service) keepOlder(load, lat float32, tag uint8) {
	if lat != lat || int(tag) >= len(s.levels) {
		return
	}
	ls := &s.levels[tag]
	if ls.older == nil {
		ls.older = newPairRing(olderPairs)
	}
	ls.older.push(load, lat)
}

// learnable returns the level whose breach level the step's (load,
// latency) pair teaches, or -1: the current playbook level once it has
// settled (its last action warmed up); in mode plan the engaged action
// set (its mask), settled once all its actions have warmed up.
func (c *Controller) learnable(s *service, lat, load float64, now time.Time) int {
	if c.mode == policy.None || s.signal == metrics.Latency || !finite(lat) || !finite(load) {
		return -1
	}
	if !finite(float64(float32(lat))) || !finite(float64(float32(load))) {
		return -1 // beyond float32, as the history keeps them
	}
	if len(s.st.Prewarmed) > 0 {
		// A prewarm holds steps outside the playbook's levels: what the
		// service takes now says nothing of any one level.
		return -1
	}
	level := s.st.Level()
	if s.settings.Mode == policy.Plan {
		// Any set: it has settled once every engaged action has warmed up.
		for _, e := range s.st.Engaged {
			if now.Before(e.At.Add(s.settings.Playbook[e.Step].Warmup)) {
				return -1
			}
		}
		level = int(s.st.Mask())
	} else if level > 0 {
		e := s.st.Engaged[level-1]
		if now.Before(e.At.Add(s.settings.Playbook[e.Step].Warmup)) {
			return -1
		}
	}
	if level > maxTag || level >= len(s.levels) {
		return -1
	}
	return level
}

// relearn re-estimates the breach level of one playbook level from its
// observations.
func (c *Controller) relearn(s *service, level int) {
	ls := &s.levels[level]
	ls.added, ls.breach = 0, false
	sc := pairScratch.Get().(*pairs)
	defer pairScratch.Put(sc)
	x, y := s.pairs(level, sc)
	if v, ok := model.BreachLevelSorted(x, y, s.pattern.Above); ok {
		ls.level, ls.known = v, true
		s.learned++
	}
}

// pairs is the buffers a level's pairs are gathered and sorted in.
type pairs struct {
	keys []uint64  // per pair: its load's order key, then its place in time
	y32  []float32 // the latency, by place in time
	x, y []float64
}

// pairScratch holds the buffers of relearn, shared by the services (which
// step concurrently): a week of pairs is 200 KB, and a service estimates
// rarely.
var pairScratch = sync.Pool{New: func() any { return new(pairs) }}

// loadKey maps a float32 to a uint32 in the same order (negative values
// with their bits flipped below the positive ones with their sign bit
// set), −0 as +0.
func loadKey(f float32) uint32 {
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b>>31 == 1 {
		return ^b
	}
	return b | 1<<31
}

// loadOfKey inverts loadKey.
func loadOfKey(k uint32) float32 {
	if k>>31 == 1 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}

// pairs returns the level's last history-length pairs (the history's
// entries of the level, and as many of those that left it as the history
// lacks, the newest), sorted by load, ties in time order, in sc's buffers.
// The sort is of one uint64 a pair, the load's order key above its place
// in time: an estimate sorts up to a week of pairs, and a sort of plain
// integers takes a fraction of the time of one by a comparison function.
func (s *service) pairs(level int, sc *pairs) (x, y []float64) {
	h := s.hist
	tag := uint8(level)
	inHistory := 0
	for i := range h.n {
		if j := h.index(i); h.tag[j] == tag && h.lat[j] == h.lat[j] {
			inHistory++
		}
	}
	keys, y32 := sc.keys[:0], sc.y32[:0]
	add := func(x, y float32) {
		keys = append(keys, uint64(loadKey(x))<<32|uint64(len(y32)))
		y32 = append(y32, y)
	}
	if o := s.levels[level].older; o != nil {
		take := min(o.x.n, len(h.buf)-inHistory)
		for k := o.x.n - take; k < o.x.n; k++ {
			i := o.x.index(k)
			add(o.x.buf[i], o.y.buf[i])
		}
	}
	for i := range h.n {
		if j := h.index(i); h.tag[j] == tag && h.lat[j] == h.lat[j] {
			add(h.buf[j], h.lat[j])
		}
	}
	slices.Sort(keys)
	sc.keys, sc.y32 = keys, y32
	sc.x, sc.y = grow(sc.x, len(keys)), grow(sc.y, len(keys))
	for i, k := range keys {
		sc.x[i], sc.y[i] = float64(loadOfKey(uint32(k>>32))), float64(y32[uint32(k)])
	}
	return sc.x, sc.y
}
