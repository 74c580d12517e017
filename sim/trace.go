package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrEmptyTrace is returned for a trace file with no data rows.
var ErrEmptyTrace = errors.New("sim: trace has no data rows")

// ParseError is a problem in a trace file, at a line when Line > 0.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ReadTrace reads a trace CSV file; see ParseTrace.
func ReadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTrace(f, path)
}

// naiveLayouts are the timestamp layouts without a zone, read as UTC.
var naiveLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05"}

// parseTimestamp reads RFC 3339, "2006-01-02 15:04:05" (or with a T; UTC,
// fractional seconds allowed) or Unix seconds (fractional allowed).
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range naiveLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339, \"2006-01-02 15:04:05\" or Unix seconds", s)
}

// parseValue reads a value: a number ≥ 0, or empty or "NaN" for no value.
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

// ParseTrace reads a trace from CSV rows "timestamp,value"; name (the file's
// name) prefixes its errors, with the line: "trace.csv:17: ...".
//
//   - The first row is a header, and skipped, when neither its timestamp nor
//     its value parses.
//   - A timestamp is RFC 3339, "2006-01-02 15:04:05" (read as UTC; a T in
//     place of the space and fractional seconds are accepted) or Unix seconds.
//   - A value is a number ≥ 0; an empty value or "NaN" is a step with no value.
//   - Blank lines and lines starting with # are skipped.
//   - Timestamps must increase; the step is the most common difference
//     between consecutive rows (the smallest of equally common ones) and every
//     timestamp must lie on that grid from the first. Steps without a row are
//     gaps, NaN in the trace.
//
// A trace needs two data rows to have a step; one with none is ErrEmptyTrace.
// A file `presage export` wrote is read as ParseExportTrace reads it (the
// first service's requests).
func ParseTrace(r io.Reader, name string) (*Trace, error) {
	if tr, ok, err := exportedTrace(&r, name); ok { // a `presage export` file
		return tr, err
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var rows []traceRow
	lineErr := func(line int, err error) error { return &ParseError{File: name, Line: line, Err: err} }
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, lineErr(pe.Line, pe.Err)
			}
			return nil, &ParseError{File: name, Err: err}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, lineErr(line, fmt.Errorf("want 2 fields (timestamp,value), got %d", len(rec)))
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		t, terr := parseTimestamp(ts)
		v, verr := parseValue(vs)
		if first && terr != nil && verr != nil {
			continue // header
		}
		if terr != nil {
			return nil, lineErr(line, terr)
		}
		if verr != nil {
			return nil, lineErr(line, verr)
		}
		if n := len(rows); n > 0 && !t.After(rows[n-1].t) {
			what := "out of order"
			if t.Equal(rows[n-1].t) {
				what = "duplicate"
			}
			return nil, lineErr(line, fmt.Errorf("timestamp %s %s: not after %s on line %d",
				ts, what, rows[n-1].t.Format(time.RFC3339), rows[n-1].line))
		}
		rows = append(rows, traceRow{t, v, line})
	}
	if len(rows) == 0 {
		return nil, &ParseError{File: name, Err: ErrEmptyTrace}
	}
	return gridTrace(name, rows)
}

// traceRow is one data row of a trace file.
type traceRow struct {
	t    time.Time
	v    float64
	line int
}

// gridTrace lays rows (in time order, at least one) on a regular grid: the
// step is the most common difference between rows, the smallest of equally
// common ones; steps without a row are NaN; a row off the grid is an error
// naming its line.
func gridTrace(name string, rows []traceRow) (*Trace, error) {
	lineErr := func(line int, err error) error { return &ParseError{File: name, Line: line, Err: err} }
	if len(rows) == 1 {
		return nil, lineErr(rows[0].line, errors.New("only one data row: need two to find the step"))
	}
	var votes stepVotes
	for i := 1; i < len(rows); i++ {
		votes.add(rows[i].t.Sub(rows[i-1].t))
	}
	step := votes.step
	start := rows[0].t
	last := rows[len(rows)-1].t.Sub(start) / step
	if last >= maxTraceLen {
		return nil, lineErr(rows[len(rows)-1].line, fmt.Errorf("trace spans more than %d steps of %v", maxTraceLen, step))
	}
	tr := &Trace{Start: start, Step: step, Values: make([]float64, last+1)}
	for i := range tr.Values {
		tr.Values[i] = math.NaN()
	}
	for _, r := range rows {
		off := r.t.Sub(start)
		if off%step != 0 {
			return nil, lineErr(r.line, fmt.Errorf("timestamp %s is not on the %v grid from %s",
				r.t.Format(time.RFC3339Nano), step, start.Format(time.RFC3339Nano)))
		}
		tr.Values[off/step] = r.v
	}
	return tr, nil
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
