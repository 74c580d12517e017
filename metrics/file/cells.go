package file

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxSteps bounds the length of a series on its grid, gaps included.
const maxSteps = 10_000_000

// Timestamps are read within years 0000–9999 (UTC), the years RFC 3339
// writes.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
)

// naiveLayouts are the timestamp layouts without a zone, read in the
// zone of the reader's Options (UTC by default).
var naiveLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05"}

// parseTimestamp reads a timestamp of a trace or signals file: RFC 3339,
// "2006-01-02 15:04:05" (or with a T; fractional seconds allowed) or Unix
// seconds (fractional allowed, below 1e11), within years 0000–9999 UTC. A
// timestamp without a zone is a wall-clock time in loc, resolved by
// localInstant against prev, the series' previous instant.
func parseTimestamp(s string, loc *time.Location, prev time.Time) (time.Time, error) {
	t, naive, ok := parseTime(s)
	if !ok {
		return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339, \"2006-01-02 15:04:05\" or Unix seconds", s)
	}
	if naive {
		t = localInstant(t, loc, prev)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("timestamp %q: want a time within years 0000–9999 UTC", s)
	}
	return t, nil
}

// parseTime reads a timestamp; naive reports one without a zone, whose
// fields t holds as UTC.
func parseTime(s string) (t time.Time, naive, ok bool) {
	if t, naive, ok := parseDateTime(s); ok {
		return t, naive, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), false, true
	}
	return time.Time{}, false, false
}

// parseDateTime reads RFC 3339 or a naive layout; naive reports the
// latter, whose fields t holds as UTC.
func parseDateTime(s string) (t time.Time, naive, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true
	}
	for _, layout := range naiveLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true, true
		}
	}
	return time.Time{}, false, false
}

// formatTime writes a timestamp as the writers of this package do: RFC 3339
// in UTC, with the fraction of a second when there is one.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseValue reads a value of a trace or signals file: a number ≥ 0, or
// empty or "NaN" for no value.
func parseValue(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q: not a number", s)
	}
	if math.IsNaN(v) {
		return v, nil
	}
	if v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q: want a finite number ≥ 0", s)
	}
	return v, nil
}

// formatValue writes a value as the writers of this package do: the
// shortest decimal that reads back as the same float64, an empty cell for
// NaN or ±Inf (no value).
func formatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// stepVotes finds a grid's step from the differences between consecutive
// rows: the most common, the smallest of equally common ones (0 before the
// first).
type stepVotes struct {
	counts map[time.Duration]int
	step   time.Duration
}

func (v *stepVotes) add(d time.Duration) {
	if v.counts == nil {
		v.counts = make(map[time.Duration]int)
	}
	v.counts[d]++
	if c, best := v.counts[d], v.counts[v.step]; c > best || c == best && d < v.step {
		v.step = d
	}
}

// gridLen returns the number of steps of step from start to end, both
// included (end on the grid): an error, to follow a subject ("trace
// spans..."), when that is more than maxSteps or end − start is more than a
// time.Duration holds (292 years).
func gridLen(start, end time.Time, step time.Duration) (int, error) {
	span := end.Sub(start)
	if !start.Add(span).Equal(end) {
		return 0, fmt.Errorf("spans more than %.0f years", span.Hours()/24/365)
	}
	last := span / step
	if last >= maxSteps {
		return 0, fmt.Errorf("spans more than %d steps of %v", maxSteps, step)
	}
	return int(last) + 1, nil
}

// nans returns n NaNs.
func nans(n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = math.NaN()
	}
	return vs
}
