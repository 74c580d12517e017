package file

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/presage-dev/presage/metrics"
)

// ReadTrace reads a load trace from a file; see ParseTrace.
func ReadTrace(path string) (*metrics.Grid, error) { return Options{}.ReadTrace(path) }

// ReadTrace reads a load trace from a file with the options o; see
// ParseTrace.
func (o Options) ReadTrace(path string) (*metrics.Grid, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return o.ParseTrace(f, path)
}

// ParseTrace reads a load trace, CSV rows "timestamp,value", onto its
// regular grid (the package documentation gives the rules); name (the
// file's name) prefixes its errors, with the line: "trace.csv:17: ...".
// A signals file (its header starts "timestamp,service,") is read as
// ParseSignalsTrace reads it: the first service's requests. Timestamps
// without a zone are read in UTC; Options.ParseTrace reads them in another.
func ParseTrace(r io.Reader, name string) (*metrics.Grid, error) {
	return Options{}.ParseTrace(r, name)
}

// ParseTrace reads a load trace as the function ParseTrace does, its
// timestamps without a zone in o.Location.
func (o Options) ParseTrace(r io.Reader, name string) (*metrics.Grid, error) {
	br := bounded(r, name)
	if head, _ := br.Peek(len(signalsPrefix)); strings.EqualFold(string(head), signalsPrefix) {
		return o.ParseSignalsTrace(br, name, "")
	}
	loc := o.loc()
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var rows []traceRow
	first := true
	var rerr error
	for line, rec := range records(cr, name, &rerr) {
		header := first // the first record may be a header
		first = false
		if len(rec) != 2 {
			return nil, lineError(name, line, fmt.Errorf("want 2 fields (timestamp,value), got %d", len(rec)))
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		var prev time.Time
		if n := len(rows); n > 0 {
			prev = rows[n-1].t
		}
		t, terr := parseTimestamp(ts, loc, prev)
		v, verr := parseValue(vs)
		if header && terr != nil && verr != nil {
			continue // header
		}
		if terr != nil {
			return nil, lineError(name, line, terr)
		}
		if verr != nil {
			return nil, lineError(name, line, verr)
		}
		if n := len(rows); n > 0 && !t.After(rows[n-1].t) {
			what := "out of order"
			if t.Equal(rows[n-1].t) {
				what = "duplicate"
			}
			return nil, lineError(name, line, fmt.Errorf("timestamp %s %s: not after %s on line %d",
				ts, what, rows[n-1].t.Format(time.RFC3339), rows[n-1].line))
		}
		rows = append(rows, traceRow{t, v, line})
	}
	if rerr != nil {
		return nil, rerr
	}
	if len(rows) == 0 {
		return nil, lineError(name, 0, ErrNoRows)
	}
	return gridTrace(name, rows)
}

// traceRow is one data row of a trace.
type traceRow struct {
	t    time.Time
	v    float64
	line int
}

// gridTrace lays rows (in time order, at least one) on a regular grid: the
// step is the most common difference between rows, the smallest of equally
// common ones; steps without a row are NaN; a row off the grid is an error
// naming its line.
func gridTrace(name string, rows []traceRow) (*metrics.Grid, error) {
	if len(rows) == 1 {
		return nil, lineError(name, rows[0].line, errors.New("only one data row: need two to find the step"))
	}
	start, end := rows[0].t, rows[len(rows)-1].t
	var votes stepVotes
	for i := 1; i < len(rows); i++ {
		votes.add(rows[i].t.Sub(rows[i-1].t))
	}
	step := votes.step
	n, err := gridLen(start, end, step)
	if err != nil {
		return nil, lineError(name, rows[len(rows)-1].line, fmt.Errorf("trace %w", err))
	}
	g := &metrics.Grid{Start: start, Step: step, Values: nans(n)}
	for _, r := range rows {
		off := r.t.Sub(start)
		if off%step != 0 {
			return nil, lineError(name, r.line, fmt.Errorf("timestamp %s is not on the %v grid from %s",
				r.t.Format(time.RFC3339Nano), step, start.Format(time.RFC3339Nano)))
		}
		g.Values[off/step] = r.v
	}
	return g, nil
}

// WriteTrace writes g as a load trace: the header "timestamp,value", then
// a row for every step of the grid, an empty value where g has none.
// ParseTrace reads it back as g, when g has two steps or more and its values
// are ≥ 0 or NaN.
func WriteTrace(w io.Writer, g *metrics.Grid) error {
	return writeCSV(w, []string{"timestamp", "value"}, func(write func(...string) error) error {
		for i, v := range g.Values {
			if err := write(formatTime(g.Start.Add(time.Duration(i)*g.Step)), formatValue(v)); err != nil {
				return err
			}
		}
		return nil
	})
}
