package file

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/presage-dev/presage/metrics"
)

// signalsPrefix starts the header of a signals file:
// "timestamp,service,latency,requests,pool_in_use,pool_limit".
const signalsPrefix = "timestamp,service,"

// signalsHeader is the header WriteSignals writes: the columns of
// metrics.Signals after timestamp and service.
var signalsHeader = []string{"timestamp", "service", "latency", "requests", "pool_in_use", "pool_limit"}

// Recording is the signals of several services on one regular grid, as a
// signals file holds them: what the services exported (`presage export`),
// or what simulated ones would have (`presage replay -record`).
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

// RecordingOf returns the samples of hist of the named services on the
// grid start, start+step, …, ≤ end (end − start over step below 10,000,000
// steps): NaN where hist has no sample at a grid time, a sample off the
// grid left out. Every signal of metrics.Signals is present.
func RecordingOf(hist metrics.History, services []string, start, end time.Time, step time.Duration) *Recording {
	rec := &Recording{Start: start, Step: step, Len: int(end.Sub(start)/step) + 1, Services: services,
		Values: make(map[string]map[metrics.Signal][]float64, len(services))}
	for _, svc := range services {
		m := make(map[metrics.Signal][]float64, len(metrics.Signals))
		for _, sig := range metrics.Signals {
			vs := nans(rec.Len)
			for _, s := range hist[svc][sig] {
				if off := s.Time.Sub(start); off >= 0 && off%step == 0 && off/step < time.Duration(rec.Len) {
					vs[off/step] = s.Value
				}
			}
			m[sig] = vs
		}
		rec.Values[svc] = m
	}
	return rec
}

// ReadSignals reads a recording from a signals file; see ParseSignals.
func ReadSignals(path string) (*Recording, error) { return Options{}.ReadSignals(path) }

// ReadSignals reads a recording from a signals file with the options o;
// see ParseSignals.
func (o Options) ReadSignals(path string) (*Recording, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return o.ParseSignals(f, path)
}

// ParseSignals reads a signals file (the package documentation gives the
// format) onto its grid. Errors name the file and the line. Timestamps
// without a zone are read in UTC; Options.ParseSignals reads them in
// another.
func ParseSignals(r io.Reader, name string) (*Recording, error) {
	return Options{}.ParseSignals(r, name)
}

// ParseSignals reads a signals file as the function ParseSignals does, its
// timestamps without a zone in o.Location.
func (o Options) ParseSignals(r io.Reader, name string) (*Recording, error) {
	loc := o.loc()
	cr, col, err := openSignals(r, name, "timestamp", "service")
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
		return nil, lineError(name, line, errors.New("no signal column (latency, requests, pool_in_use, pool_limit)"))
	}

	type row struct {
		t    time.Time
		v    [4]float64 // by index in cols
		line int
	}
	rows := map[string][]row{}
	var services []string
	var rerr error
	for line, rec := range records(cr, name, &rerr) {
		if len(rec) < need {
			return nil, lineError(name, line, fmt.Errorf("want %d fields, got %d", len(col), len(rec)))
		}
		svc := strings.TrimSpace(rec[col["service"]])
		if svc == "" {
			return nil, lineError(name, line, errors.New("empty service"))
		}
		rs := rows[svc]
		var prev time.Time
		if n := len(rs); n > 0 {
			prev = rs[n-1].t
		}
		t, err := parseTimestamp(strings.TrimSpace(rec[col["timestamp"]]), loc, prev)
		if err != nil {
			return nil, lineError(name, line, err)
		}
		rw := row{t: t, line: line}
		for k, c := range cols {
			v, err := parseValue(strings.TrimSpace(rec[c.i]))
			if err != nil {
				return nil, lineError(name, line, fmt.Errorf("%s: %w", c.sig, err))
			}
			rw.v[k] = v
		}
		if n := len(rs); n > 0 && !t.After(rs[n-1].t) {
			return nil, lineError(name, line, fmt.Errorf("service %s: timestamp %s not after %s on line %d",
				svc, rec[col["timestamp"]], rs[n-1].t.Format(time.RFC3339), rs[n-1].line))
		}
		if rs == nil {
			services = append(services, svc)
		}
		rows[svc] = append(rs, rw)
	}
	if rerr != nil {
		return nil, rerr
	}
	if len(services) == 0 {
		return nil, lineError(name, 0, ErrNoRows)
	}

	var votes stepVotes
	var start, end time.Time
	for i, svc := range services {
		rs := rows[svc]
		if i == 0 || rs[0].t.Before(start) {
			start = rs[0].t
		}
		if i == 0 || rs[len(rs)-1].t.After(end) {
			end = rs[len(rs)-1].t
		}
		for i := 1; i < len(rs); i++ {
			votes.add(rs[i].t.Sub(rs[i-1].t))
		}
	}
	step := votes.step
	if step <= 0 {
		return nil, lineError(name, 0, errors.New("no service has two rows: need two to find the step"))
	}
	n, err := gridLen(start, end, step)
	if err != nil {
		return nil, lineError(name, 0, fmt.Errorf("the recording %w", err))
	}
	rec := &Recording{Start: start, Step: step, Len: n, Services: services,
		Values: make(map[string]map[metrics.Signal][]float64, len(services))}
	for _, svc := range services {
		m := make(map[metrics.Signal][]float64, len(cols))
		for _, c := range cols {
			m[c.sig] = nans(rec.Len)
		}
		for _, rw := range rows[svc] {
			off := rw.t.Sub(start)
			if off%step != 0 {
				return nil, lineError(name, rw.line, fmt.Errorf("timestamp %s is not on the %v grid from %s",
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

// WriteSignals writes rec as a signals file: the header
// "timestamp,service,latency,requests,pool_in_use,pool_limit", then a row
// for every grid step and service (in the order of rec.Services), an empty
// cell where a value is NaN, ±Inf or absent. Timestamps are RFC 3339 in UTC
// (with the fraction of a second when there is one), numbers the shortest
// decimal that reads back as the same float64, so ParseSignals reads back
// rec's values exactly (a signal rec lacks reads back as all NaN), when rec
// has two steps or more and its values are ≥ 0 or NaN.
func WriteSignals(w io.Writer, rec *Recording) error {
	return writeCSV(w, signalsHeader, func(write func(...string) error) error {
		row := make([]string, len(signalsHeader))
		for i := range rec.Len {
			row[0] = formatTime(rec.Time(i))
			for _, svc := range rec.Services {
				row[1] = svc
				for k, sig := range metrics.Signals {
					row[2+k] = ""
					if vs := rec.Values[svc][sig]; i < len(vs) {
						row[2+k] = formatValue(vs[i])
					}
				}
				if err := write(row...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
