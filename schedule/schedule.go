package schedule

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Kind is what a window does.
type Kind string

// The kinds of schedule.
const (
	// Prewarm holds named playbook actions at a value during the window.
	Prewarm Kind = "prewarm"
	// Freeze starts no action during the window.
	Freeze Kind = "freeze"
	// Event marks a known event the forecast learns from.
	Event Kind = "event"
)

// Kinds lists the kinds.
var Kinds = []Kind{Prewarm, Freeze, Event}

// Spec is a schedule as written in the configuration.
type Spec struct {
	Name string
	Kind Kind
	// Cron is a five-field cron expression or a descriptor (@daily,
	// @weekly, ...; not @every), optionally prefixed by "CRON_TZ=<zone> "
	// (or "TZ=<zone> "). Exactly one of Cron and At.
	Cron string
	// At is a one-off start: RFC 3339 with an offset ("2026-11-11T19:30:00+08:00"),
	// or a date-time or date without one ("2026-11-11T19:30", "2026-11-11 19:30:00",
	// "2026-11-11"), read in the schedule's time zone.
	At string
	// Duration is how long each window lasts, elapsed time; > 0.
	Duration time.Duration
	// Timezone is an IANA zone name; "" means UTC, or the CRON_TZ of Cron.
	Timezone string
	// Actions are, for a prewarm, the value each named action is held at.
	Actions map[string]float64
	// AllowRevert lets a freeze revert actions to the values they
	// replaced.
	AllowRevert bool
}

// FieldError is a problem with one field of a Spec ("cron", "at",
// "timezone", "duration", "kind").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Schedule is a parsed Spec.
type Schedule struct {
	Spec
	loc  *time.Location
	cron cron.Schedule // nil for a one-off
	at   time.Time     // the one-off start
}

// Window is one occurrence of a schedule: [Start, End).
type Window struct {
	Name        string             `json:"name"`
	Kind        Kind               `json:"kind"`
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	Actions     map[string]float64 `json:"actions,omitempty"`
	AllowRevert bool               `json:"allow_revert,omitempty"`
}

// Contains reports whether t is within the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Overlaps reports whether w and o share an instant.
func (w Window) Overlaps(o Window) bool { return w.Start.Before(o.End) && o.Start.Before(w.End) }

// maxGap bounds the daylight-saving gaps and overlaps the wall-clock rule
// looks for on either side of a start: the tz database's largest is 2h.
const maxGap = 3 * time.Hour

// maxSteps bounds the cron starts one query walks through.
const maxSteps = 100_000

// localLayouts are the one-off layouts read in the schedule's zone.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// Parse checks and parses a Spec. Its errors are *FieldError values joined
// with errors.Join. Parse loads the time zone (time.LoadLocation).
func Parse(sp Spec) (*Schedule, error) {
	s := &Schedule{Spec: sp, loc: time.UTC}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(Kinds, sp.Kind) {
		bad("kind", "unknown kind %q (want prewarm, freeze or event)", clip(string(sp.Kind)))
	}
	if sp.Duration <= 0 {
		bad("duration", "%s must be > 0", fmtDur(sp.Duration))
	}
	expr, tz := strings.TrimSpace(sp.Cron), ""
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if strings.HasPrefix(expr, p) {
			zone, rest, _ := strings.Cut(strings.TrimPrefix(expr, p), " ")
			tz, expr = zone, strings.TrimSpace(rest)
			break
		}
	}
	zone := sp.Timezone
	switch {
	case tz != "" && zone != "" && tz != zone:
		bad("cron", "CRON_TZ=%s differs from timezone %q: set one of them", clip(tz), clip(zone))
	case tz != "":
		zone = tz
	}
	if zone != "" {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			field := "timezone"
			if tz != "" {
				field = "cron"
			}
			bad(field, "unknown time zone %q", clip(zone))
		} else {
			s.loc = loc
		}
	}
	switch {
	case sp.Cron != "" && sp.At != "":
		bad("at", "only one of cron and at may be set")
	case sp.Cron == "" && sp.At == "":
		bad("cron", "one of cron and at is required")
	case sp.Cron != "":
		if strings.HasPrefix(expr, "@every") {
			bad("cron", "invalid cron expression %q: @every has no calendar start; use five fields or @hourly, @daily, @weekly, @monthly, @yearly", clip(sp.Cron))
			break
		}
		// Parsed without a zone, the expression runs on the wall clock
		// of the times it is given (see wall).
		c, err := ParseCron(expr)
		if err != nil {
			bad("cron", "invalid cron expression %q: %s", clip(sp.Cron), clip(err.Error()))
			break
		}
		s.cron = c
	default:
		at, err := parseAt(sp.At, s.loc)
		if err != nil {
			bad("at", "%v", err)
			break
		}
		s.at = at
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// fmtDur formats a duration as the configuration does ("3h", not "3h0m0s").
func fmtDur(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func parseAt(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		if w, err := time.Parse(layout, v); err == nil {
			return resolve(w, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date-time %q: want RFC 3339 (2026-11-11T19:30:00+08:00), or a date-time or date in the schedule's time zone (2026-11-11T19:30, 2026-11-11)", clip(v))
}

// oneOff reports whether the schedule has a single window (at).
func (s *Schedule) oneOff() bool { return s.cron == nil }

// wall returns t's wall clock in loc as a UTC time with the same fields.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// resolve returns the instant of the wall-clock time w (its UTC fields) in
// loc, by the package's rule: in a gap, later by the gap's length; in an
// overlap, the earlier instant.
func resolve(w time.Time, loc *time.Location) time.Time {
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	_, before := guess.Add(-maxGap).Zone()
	_, after := guess.Add(maxGap).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		c := w.Add(-time.Duration(off) * time.Second).In(loc)
		if wall(c, loc).Equal(w) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if best.IsZero() {
		// A gap: read the wall clock on the offset in force before it.
		best = w.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}

// nextStart returns the first start strictly after t; zero when there is
// none.
func (s *Schedule) nextStart(t time.Time) time.Time {
	if s.oneOff() {
		if s.at.After(t) {
			return s.at
		}
		return time.Time{}
	}
	if at, ok := s.steadyNext(t); ok {
		return at
	}
	return s.walkNext(t)
}

// steadyNext is nextStart where the zone keeps one offset from maxGap
// before t to maxGap after the start found: there wall-clock order is time
// order, and the next start is the cron's next wall-clock time after t's,
// at that offset, found with one call of the cron. ok is false near a
// change of offset, where walkNext must decide.
func (s *Schedule) steadyNext(t time.Time) (at time.Time, ok bool) {
	from := t.Add(-maxGap).In(s.loc)
	w := s.cron.Next(wall(t, s.loc))
	if w.IsZero() {
		return time.Time{}, false
	}
	_, off := from.Zone()
	at = w.Add(-time.Duration(off) * time.Second)
	if _, end := from.ZoneBounds(); !end.IsZero() && !end.After(at.Add(maxGap)) {
		return time.Time{}, false
	}
	return at.In(s.loc), true
}

// walkNext is nextStart by the wall-clock rule near a change of offset.
func (s *Schedule) walkNext(t time.Time) time.Time {
	// Resolving a gap moves a start later than wall-clock order says, so
	// walk from maxGap before t's wall clock and keep the earliest start
	// after t, until the wall clock is maxGap past it.
	var best, bestWall time.Time
	w := wall(t, s.loc).Add(-maxGap)
	for range maxSteps {
		w = s.cron.Next(w)
		if w.IsZero() || !best.IsZero() && w.Sub(bestWall) > maxGap {
			break
		}
		if at := resolve(w, s.loc); at.After(t) && (best.IsZero() || at.Before(best)) {
			best, bestWall = at, w
		}
	}
	return best
}

func (s *Schedule) window(start time.Time) Window {
	w := Window{Name: s.Name, Kind: s.Kind, Start: start, End: start.Add(s.Duration), AllowRevert: s.AllowRevert}
	if len(s.Actions) > 0 {
		w.Actions = maps.Clone(s.Actions)
	}
	return w
}

// Active returns the window that contains now: of the occurrences running
// at now, the one that started last (it ends last). ok is false when none
// does.
func (s *Schedule) Active(now time.Time) (w Window, ok bool) {
	start := s.nextStart(now.Add(-s.Duration))
	if start.IsZero() || start.After(now) {
		return Window{}, false
	}
	for range maxSteps {
		n := s.nextStart(start)
		if n.IsZero() || n.After(now) {
			break
		}
		start = n
	}
	return s.window(start), true
}

// Next returns the first window that starts after now; ok is false when
// there is none (a one-off in the past).
func (s *Schedule) Next(now time.Time) (w Window, ok bool) {
	start := s.nextStart(now)
	if start.IsZero() {
		return Window{}, false
	}
	return s.window(start), true
}

// Windows returns the windows that share an instant with [from, to), in
// start order, at most limit of them (limit ≤ 0: maxSteps).
func (s *Schedule) Windows(from, to time.Time, limit int) []Window {
	if limit <= 0 {
		limit = maxSteps
	}
	var out []Window
	for t := from.Add(-s.Duration); len(out) < limit; {
		start := s.nextStart(t)
		if start.IsZero() || !start.Before(to) {
			break
		}
		out = append(out, s.window(start))
		t = start
	}
	return out
}

// Mask reports, for n steps of length step from start (step i is the
// instant start + i·step), whether step i falls within a window of any of
// the schedules.
func Mask(scheds []*Schedule, start time.Time, step time.Duration, n int) []bool {
	out := make([]bool, n)
	if n <= 0 || step <= 0 {
		return out
	}
	end := start.Add(time.Duration(n) * step)
	for _, s := range scheds {
		for _, w := range s.Windows(start, end, 0) {
			// The steps i with start + i·step in [w.Start, w.End).
			lo := max(0, ceilDiv(w.Start.Sub(start), step))
			hi := min(n, ceilDiv(w.End.Sub(start), step))
			for i := lo; i < hi; i++ {
				out[i] = true
			}
		}
	}
	return out
}

// ceilDiv returns ⌈d/step⌉ for step > 0.
func ceilDiv(d, step time.Duration) int {
	q := d / step
	if d%step > 0 {
		q++
	}
	return int(q)
}

// FirstOverlap returns the first pair of windows, one of a and one of b,
// that share an instant. A one-off is compared with the other schedule
// exactly; two recurring schedules are compared over the windows of a that
// start within [from, to), at most limit of them.
func FirstOverlap(a, b *Schedule, from, to time.Time, limit int) (wa, wb Window, ok bool) {
	if b.oneOff() && !a.oneOff() {
		wb, wa, ok = FirstOverlap(b, a, from, to, limit)
		return wa, wb, ok
	}
	if a.oneOff() {
		from, to = a.at, a.at.Add(time.Nanosecond)
	}
	for _, w := range a.Windows(from, to, limit) {
		if ws := b.Windows(w.Start, w.End, 1); len(ws) > 0 {
			return w, ws[0], true
		}
	}
	return Window{}, Window{}, false
}

// clip returns s cut to 80 characters, with an ellipsis when it was longer:
// an error quotes no more of a value than that.
func clip(s string) string {
	n := 80
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// ParseCron parses a standard cron expression (five fields or a
// descriptor, optionally after "TZ=<zone> " or "CRON_TZ=<zone> ") as
// robfig/cron's ParseStandard does, and rejects a zone prefix with no
// expression after it, on which that parser panics.
func ParseCron(expr string) (cron.Schedule, error) {
	if (strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=")) && !strings.Contains(expr, " ") {
		return nil, fmt.Errorf("time zone %q with no expression after it", expr)
	}
	return cron.ParseStandard(expr)
}
