package file

import (
	"time"
)

// Options are what a reader is told about a file that the file does not
// say itself. The zero value reads timestamps without a zone as UTC.
type Options struct {
	// Location is the time zone of the timestamps written without an
	// offset ("2026-10-25 02:30:00"); nil means UTC. A timestamp with an
	// offset or a Z, and Unix seconds, are instants whatever Location is.
	Location *time.Location
}

// maxShift bounds the daylight-saving gaps and overlaps looked for on
// either side of a wall-clock time: the tz database's largest is 2h.
const maxShift = 3 * time.Hour

// loc returns the zone of timestamps without one.
func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// localInstant returns the instant of the wall-clock time w (its fields, as
// read without a zone) in loc, by the package's rule (see "Time zones" in
// the package documentation): a wall-clock time that does not exist (in a
// daylight-saving gap) moves later by the gap's length; one that happens
// twice (in an overlap) is the earlier instant, unless that is not after
// prev, the previous instant of the same series (zero for none), and the
// later one is: then the later one.
func localInstant(w time.Time, loc *time.Location, prev time.Time) time.Time {
	if loc == time.UTC {
		return w
	}
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	_, before := guess.Add(-maxShift).Zone()
	_, after := guess.Add(maxShift).Zone()
	var first, second time.Time // the instants whose wall clock is w, in order
	for _, off := range []int{before, after} {
		c := w.Add(-time.Duration(off) * time.Second)
		if !wallEqual(c.In(loc), w) {
			continue
		}
		switch {
		case first.IsZero():
			first = c
		case c.Before(first):
			first, second = c, first
		case c.After(first):
			second = c
		}
	}
	switch {
	case first.IsZero(): // a gap: read on the offset in force before it
		return w.Add(-time.Duration(before) * time.Second)
	case !second.IsZero() && !prev.IsZero() && !first.After(prev) && second.After(prev):
		return second
	}
	return first
}

// wallEqual reports whether t's wall clock (in its own location) is w's
// fields.
func wallEqual(t, w time.Time) bool {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	wy, wmo, wd := w.Date()
	wh, wmi, ws := w.Clock()
	return y == wy && mo == wmo && d == wd && h == wh && mi == wmi && s == ws && t.Nanosecond() == w.Nanosecond()
}
