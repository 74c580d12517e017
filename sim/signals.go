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

	"github.com/presage-dev/presage/metrics"
)

// Recording is the signals of several services on one regular grid, as
// `presage export` writes them: what the services really exported, which
// nothing replayed from it can change.
type Recording struct {
	Start time.Time
	Step  time.Duration
	// Len is the number of grid steps, from Start.
	Len int
	// Services lists the services in the order they first appear.
	Services []string
	// Values holds, by service and signal, one value per grid step; NaN
	// where the file has no value. A signal whose column the file lacks is
	// absent.
	Values map[string]map[metrics.Signal][]float64
}

// Time returns the time of grid step i.
func (r *Recording) Time(i int) time.Time { return r.Start.Add(time.Duration(i) * r.Step) }

// ReadSignals reads a recording from a file; see ParseSignals.
func ReadSignals(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseSignals(f, path)
}

// ParseSignals reads the CSV `presage export` writes: a header naming the
// columns (timestamp and service required; latency, requests, pool_in_use
// and pool_limit read when present, in any order), then one row per service
// and time. Timestamps and values are read as ParseTrace reads them: an
// empty cell or NaN is a missing value, never zero. Each service's
// timestamps must increase. The grid step is the most common difference
// between a service's consecutive rows (over all services; the smallest
// of equally common ones), the grid starts at the earliest timestamp, and
// every timestamp must lie on it. Errors name the file and the line.
func ParseSignals(r io.Reader, name string) (*Recording, error) {
	cr, col, lineErr, readErr, err := openExport(r, name, "timestamp", "service")
	if err != nil {
		return nil, err
	}
	type column struct {
		sig metrics.Signal
		i   int
	}
	var cols []column
	need := max(col["timestamp"], col["service"]) + 1
	for _, sig := range metrics.Signals {
		if i, ok := col[string(sig)]; ok {
			cols = append(cols, column{sig, i})
			need = max(need, i+1)
		}
	}
	if len(cols) == 0 {
		line, _ := cr.FieldPos(0)
		return nil, lineErr(line, errors.New("no signal column (latency, requests, pool_in_use, pool_limit)"))
	}

	type row struct {
		t    time.Time
		v    [4]float64 // by index in cols
		line int
	}
	rows := map[string][]row{}
	var services []string
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
		svc := strings.TrimSpace(rec[col["service"]])
		if svc == "" {
			return nil, lineErr(line, errors.New("empty service"))
		}
		t, err := parseTimestamp(strings.TrimSpace(rec[col["timestamp"]]))
		if err != nil {
			return nil, lineErr(line, err)
		}
		rw := row{t: t, line: line}
		for k, c := range cols {
			v, err := parseValue(strings.TrimSpace(rec[c.i]))
			if err != nil {
				return nil, lineErr(line, fmt.Errorf("%s: %w", c.sig, err))
			}
			rw.v[k] = v
		}
		rs := rows[svc]
		if n := len(rs); n > 0 && !t.After(rs[n-1].t) {
			return nil, lineErr(line, fmt.Errorf("service %s: timestamp %s not after %s on line %d",
				svc, rec[col["timestamp"]], rs[n-1].t.Format(time.RFC3339), rs[n-1].line))
		}
		if rs == nil {
			services = append(services, svc)
		}
		rows[svc] = append(rs, rw)
	}
	if len(services) == 0 {
		return nil, &ParseError{File: name, Err: ErrEmptyTrace}
	}

	var votes stepVotes
	var start, end time.Time
	for _, svc := range services {
		rs := rows[svc]
		if start.IsZero() || rs[0].t.Before(start) {
			start = rs[0].t
		}
		if rs[len(rs)-1].t.After(end) {
			end = rs[len(rs)-1].t
		}
		for i := 1; i < len(rs); i++ {
			votes.add(rs[i].t.Sub(rs[i-1].t))
		}
	}
	step := votes.step
	if step <= 0 {
		return nil, &ParseError{File: name, Err: errors.New("no service has two rows: need two to find the step")}
	}
	last := end.Sub(start) / step
	if last >= maxTraceLen {
		return nil, &ParseError{File: name, Err: fmt.Errorf("the recording spans more than %d steps of %v", maxTraceLen, step)}
	}
	rec := &Recording{Start: start, Step: step, Len: int(last) + 1, Services: services,
		Values: make(map[string]map[metrics.Signal][]float64, len(services))}
	for _, svc := range services {
		m := make(map[metrics.Signal][]float64, len(cols))
		for _, c := range cols {
			vs := make([]float64, rec.Len)
			for i := range vs {
				vs[i] = math.NaN()
			}
			m[c.sig] = vs
		}
		for _, rw := range rows[svc] {
			off := rw.t.Sub(start)
			if off%step != 0 {
				return nil, lineErr(rw.line, fmt.Errorf("timestamp %s is not on the %v grid from %s",
					rw.t.Format(time.RFC3339Nano), step, start.Format(time.RFC3339Nano)))
			}
			for k, c := range cols {
				m[c.sig][off/step] = rw.v[k]
			}
		}
		rec.Values[svc] = m
	}
	return rec, nil
}

// WriteSignals writes steps, by service in the order of services, as the
// CSV `presage export` writes: a header, then one row per grid time and
// service, an empty cell where a value is missing. ParseSignals reads it
// back.
func WriteSignals(w io.Writer, services []string, steps map[string][]Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"timestamp", "service", "latency", "requests", "pool_in_use", "pool_limit"}); err != nil {
		return err
	}
	cell := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	n := 0
	for _, s := range services {
		n = max(n, len(steps[s]))
	}
	for i := range n {
		for _, s := range services {
			if i >= len(steps[s]) {
				continue
			}
			r := steps[s][i]
			g := r.Signals
			if err := cw.Write([]string{r.Time().Format(time.RFC3339), s, cell(g.LatencyP99), cell(g.Requests),
				cell(g.PoolInUse), cell(g.PoolLimit)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
