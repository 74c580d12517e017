package sim

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// exportPrefix starts the header of a file `presage export` writes:
// "timestamp,service,latency,requests,pool_in_use,pool_limit".
const exportPrefix = "timestamp,service,"

// ParseExportTrace reads a load from the CSV `presage export` writes: a
// header "timestamp,service,latency,requests,pool_in_use,pool_limit" (the
// columns found by name, so their order may change), then one row per
// service and time. The trace is the requests column of the rows of
// service, or of the first service in the file when service is "". An
// empty cell, or a row the file does not have, is a step with no value;
// the step and grid rules are ParseTrace's. ParseTrace reads such a file
// too (the first service's rows), so `presage replay -trace exported.csv`
// replays a recorded load.
func ParseExportTrace(r io.Reader, name, service string) (*Trace, error) {
	cr, col, lineErr, readErr, err := openExport(r, name, "timestamp", "service", "requests")
	if err != nil {
		return nil, err
	}
	ti, si, ri := col["timestamp"], col["service"], col["requests"]
	need := max(ti, si, ri) + 1

	var rows []traceRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < need {
			return nil, lineErr(line, fmt.Errorf("want %d fields, got %d", len(col), len(rec)))
		}
		svc := strings.TrimSpace(rec[si])
		if service == "" {
			service = svc
		}
		if svc != service {
			continue
		}
		t, err := parseTimestamp(strings.TrimSpace(rec[ti]))
		if err != nil {
			return nil, lineErr(line, err)
		}
		v, err := parseValue(strings.TrimSpace(rec[ri]))
		if err != nil {
			return nil, lineErr(line, err)
		}
		if n := len(rows); n > 0 && !t.After(rows[n-1].t) {
			return nil, lineErr(line, fmt.Errorf("service %s: timestamp %s not after %s on line %d",
				service, rec[ti], rows[n-1].t.Format(time.RFC3339), rows[n-1].line))
		}
		rows = append(rows, traceRow{t, v, line})
	}
	switch {
	case len(rows) == 0 && service != "":
		return nil, &ParseError{File: name, Err: fmt.Errorf("no rows for service %q: %w", service, ErrEmptyTrace)}
	case len(rows) == 0:
		return nil, &ParseError{File: name, Err: ErrEmptyTrace}
	}
	return gridTrace(name, rows)
}

// openExport reads the header of a file `presage export` wrote and returns
// the CSV reader positioned after it, the columns by lower-case name, and
// the functions that turn a line's problem or a read error into a
// ParseError naming the file (and line). A missing required column is an
// error naming the header's line; an empty file is ErrEmptyTrace.
func openExport(r io.Reader, name string, required ...string) (cr *csv.Reader, col map[string]int,
	lineErr func(int, error) error, readErr func(error) error, err error) {
	cr = csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	lineErr = func(line int, err error) error { return &ParseError{File: name, Line: line, Err: err} }
	readErr = func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return lineErr(pe.Line, pe.Err)
		}
		return &ParseError{File: name, Err: err}
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil, nil, &ParseError{File: name, Err: ErrEmptyTrace}
	}
	if err != nil {
		return nil, nil, nil, nil, readErr(err)
	}
	col = make(map[string]int, len(header))
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range required {
		if _, ok := col[c]; !ok {
			line, _ := cr.FieldPos(0)
			return nil, nil, nil, nil, lineErr(line, fmt.Errorf("no %q column: want the header %slatency,requests,pool_in_use,pool_limit", c, exportPrefix))
		}
	}
	return cr, col, lineErr, readErr, nil
}

// exportedTrace reads *r as an exported file (the first service's rows)
// when it starts with the export header, and reports whether it did; else
// it leaves in *r a reader that yields the same bytes.
func exportedTrace(r *io.Reader, name string) (*Trace, bool, error) {
	br := bufio.NewReader(*r)
	*r = br
	head, _ := br.Peek(len(exportPrefix))
	if !strings.EqualFold(string(head), exportPrefix) {
		return nil, false, nil
	}
	tr, err := ParseExportTrace(br, name, "")
	return tr, true, err
}
