package file

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/presage-dev/presage/metrics"
)

// ParseSignalsTrace reads a load trace from a signals file (the CSV
// `presage export` and `presage replay -record` write): the requests column
// of the rows of service, or of the first service in the file when service
// is "". An empty cell, or a row the file does not have, is a step with no
// value; the step and grid rules are ParseTrace's. ParseTrace reads such a
// file too (the first service's rows), so `presage replay -trace
// exported.csv` replays a recorded load. Timestamps without a zone are read
// in UTC; Options.ParseSignalsTrace reads them in another.
func ParseSignalsTrace(r io.Reader, name, service string) (*metrics.Grid, error) {
	return Options{}.ParseSignalsTrace(r, name, service)
}

// ParseSignalsTrace reads a load trace from a signals file as the function
// ParseSignalsTrace does, its timestamps without a zone in o.Location.
func (o Options) ParseSignalsTrace(r io.Reader, name, service string) (*metrics.Grid, error) {
	loc := o.loc()
	cr, col, err := openSignals(r, name, "timestamp", "service", "requests")
	if err != nil {
		return nil, err
	}
	ti, si, ri := col["timestamp"], col["service"], col["requests"]
	need := max(ti, si, ri) + 1

	var rows []traceRow
	var rerr error
	for line, rec := range records(cr, name, &rerr) {
		if len(rec) < need {
			return nil, lineError(name, line, fmt.Errorf("want %d fields, got %d", len(col), len(rec)))
		}
		svc := strings.TrimSpace(rec[si])
		if service == "" {
			service = svc
		}
		if svc != service {
			continue
		}
		var prev time.Time
		if n := len(rows); n > 0 {
			prev = rows[n-1].t
		}
		t, err := parseTimestamp(strings.TrimSpace(rec[ti]), loc, prev)
		if err != nil {
			return nil, lineError(name, line, err)
		}
		v, err := parseValue(strings.TrimSpace(rec[ri]))
		if err != nil {
			return nil, lineError(name, line, err)
		}
		if n := len(rows); n > 0 && !t.After(rows[n-1].t) {
			return nil, lineError(name, line, fmt.Errorf("service %s: timestamp %s not after %s on line %d",
				service, rec[ti], rows[n-1].t.Format(time.RFC3339), rows[n-1].line))
		}
		rows = append(rows, traceRow{t, v, line})
	}
	if rerr != nil {
		return nil, rerr
	}
	switch {
	case len(rows) == 0 && service != "":
		return nil, lineError(name, 0, fmt.Errorf("no rows for service %q: %w", service, ErrNoRows))
	case len(rows) == 0:
		return nil, lineError(name, 0, ErrNoRows)
	}
	return gridTrace(name, rows)
}

// openSignals reads the header of a signals file and returns the CSV
// reader positioned after it and the columns by lower-case name. A missing
// required column is an error naming the header's line; an empty file is
// ErrNoRows.
func openSignals(r io.Reader, name string, required ...string) (*csv.Reader, map[string]int, error) {
	cr := csv.NewReader(bounded(r, name))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, lineError(name, 0, ErrNoRows)
	}
	if err != nil {
		return nil, nil, readError(name, err)
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range required {
		if _, ok := col[c]; !ok {
			line, _ := cr.FieldPos(0)
			return nil, nil, lineError(name, line, fmt.Errorf("no %q column: want the header %s", c, strings.Join(signalsHeader, ",")))
		}
	}
	return cr, col, nil
}
