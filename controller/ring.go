package controller

import "math"

// ring is a bounded history of float64 values, oldest dropped first.
type ring struct {
	buf   []float64
	start int
	n     int
}

func newRing(capacity int) *ring {
	if capacity < 1 {
		capacity = 1
	}
	return &ring{buf: make([]float64, capacity)}
}

func (r *ring) push(v float64) {
	if r.n < len(r.buf) {
		r.buf[r.index(r.n)] = v
		r.n++
		return
	}
	r.buf[r.start] = v
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

// last returns the newest n values (all when n exceeds the length), oldest first.
func (r *ring) last(n int) []float64 {
	if n > r.n {
		n = r.n
	}
	out := make([]float64, n)
	if n == 0 {
		return out
	}
	i := r.index(r.n - n)
	k := copy(out, r.buf[i:min(i+n, len(r.buf))])
	copy(out[k:], r.buf)
	return out
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
		sum += r.buf[r.index(i)]
	}
	return sum / float64(n)
}

// pairRing is a bounded history of (x, y) pairs.
type pairRing struct {
	x, y *ring
}

func newPairRing(capacity int) *pairRing {
	return &pairRing{x: newRing(capacity), y: newRing(capacity)}
}

func (p *pairRing) push(x, y float64) { p.x.push(x); p.y.push(y) }
