package controller

import "math"

// ring is a bounded history of values, oldest dropped first. The values
// are kept as float32: a signal sampled once a step carries far less than
// float32's 24 bits of precision (about 7 significant digits) in the noise
// it holds, and a week of one-minute samples then takes 40 KB a service
// instead of 80 KB. It reads back as float64.
type ring struct {
	buf   []float32
	start int
	n     int
}

func newRing(capacity int) *ring {
	if capacity < 1 {
		capacity = 1
	}
	return &ring{buf: make([]float32, capacity)}
}

// slot returns the buffer index the next push writes.
func (r *ring) slot() int {
	if r.n < len(r.buf) {
		return r.index(r.n)
	}
	return r.start
}

func (r *ring) push(v float64) {
	if r.n < len(r.buf) {
		r.buf[r.index(r.n)] = float32(v)
		r.n++
		return
	}
	r.buf[r.start] = float32(v)
	if r.start++; r.start == len(r.buf) {
		r.start = 0
	}
}

// index returns the buffer index of the i-th value held, 0 the oldest
// (0 <= i < len(r.buf)).
func (r *ring) index(i int) int {
	if i += r.start; i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

func (r *ring) len() int { return r.n }

// last returns the newest n values (all when n exceeds the length), oldest
// first, in a new slice.
func (r *ring) last(n int) []float64 {
	return r.lastInto(make([]float64, max(min(n, r.n), 0)), n)
}

// lastInto is last into dst, grown when it is too small.
func (r *ring) lastInto(dst []float64, n int) []float64 {
	n = max(min(n, r.n), 0)
	dst = grow(dst, n)
	for k := range n {
		dst[k] = float64(r.buf[r.index(r.n-n+k)])
	}
	return dst
}

// meanLast returns the mean of the newest n values (all when n exceeds
// the length; NaN when there are none).
func (r *ring) meanLast(n int) float64 {
	n = min(n, r.n)
	if n <= 0 {
		return math.NaN()
	}
	var sum float64
	for i := r.n - n; i < r.n; i++ {
		sum += float64(r.buf[r.index(i)])
	}
	return sum / float64(n)
}

// mean returns the mean of every value held (NaN when there are none).
func (r *ring) mean() float64 { return r.meanLast(r.n) }

// history is a service's history, one entry a step, oldest dropped first:
// the forecast signal (the ring the model fits on) and, beside each of its
// values, the latency of the same step and the playbook level (in mode
// plan, the action set) whose breach level the (load, latency) pair
// teaches, if any. The load is kept once, for forecasting and learning
// both: the pairs a level learns from are the history's entries tagged
// with it (levelStats keeps only the few that have left the history).
type history struct {
	ring
	lat []float32 // the latency by buffer index; NaN where the pair teaches nothing
	tag []uint8   // the level (levelStats index) by buffer index, where lat is not NaN
}

// maxTag is the highest level index a history entry can be tagged with:
// every action set of policy plan's at most 8 actions, and the rule's
// first 255 playbook levels (a level beyond is not learned, and inherits
// the breach level beneath, as a level not seen yet does).
const maxTag = math.MaxUint8

func newHistory(capacity int) *history {
	h := &history{ring: *newRing(capacity)}
	h.lat = make([]float32, len(h.buf))
	h.tag = make([]uint8, len(h.buf))
	return h
}

// push appends one step: the forecast signal's value, and the latency
// the pair teaches level tag, or NaN when it teaches nothing. When the
// history was full, it returns the dropped entry's pair and level (lat NaN
// when it taught nothing).
func (h *history) push(load, lat float64, tag uint8) (oldLoad, oldLat float32, oldTag uint8) {
	i := h.slot()
	oldLat = float32(math.NaN())
	if h.n == len(h.buf) {
		oldLoad, oldLat, oldTag = h.buf[i], h.lat[i], h.tag[i]
	}
	h.ring.push(load)
	h.lat[i], h.tag[i] = float32(lat), tag
	return oldLoad, oldLat, oldTag
}
