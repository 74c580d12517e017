package file

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The headers of the forecast input and output.
var (
	forecastInputHeader  = []string{"series", "timestamp", "value"}
	forecastOutputHeader = []string{"series", "step", "forecast", "lo", "hi"}
)

// Series is one series of a forecast input on its regular grid, oldest
// first; NaN marks a step with no value.
type Series struct {
	Name   string
	Values []float64
}

// Forecast is one series' forecast, a row of a forecast output per step:
// Values[j] is the forecast j+1 steps after the series' end, Lo[j] and
// Hi[j] bound its prediction interval. The three have the same length.
type Forecast struct {
	Series         string
	Values, Lo, Hi []float64
}

// readHeader reads the header row of cr, which must be want (fields
// compared without case, leading spaces or a byte order mark).
func readHeader(cr *csv.Reader, name string, want []string) error {
	header, err := cr.Read()
	if err == io.EOF {
		return lineError(name, 0, fmt.Errorf("want the header %s: %w", strings.Join(want, ","), ErrNoRows))
	}
	if err != nil {
		return readError(name, err)
	}
	for i, h := range header {
		if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), want[i]) {
			line, _ := cr.FieldPos(0)
			return lineError(name, line, fmt.Errorf("header %q: want %s", strings.Join(header, ","), strings.Join(want, ",")))
		}
	}
	return nil
}

// inputRow is one data row of a forecast input.
type inputRow struct {
	line int
	t    int64 // the integer, or Unix nanoseconds
	v    float64
}

// ParseForecastInput reads a forecast input (the package documentation
// gives the format) and lays each series on its grid, the series in the
// order they first appear. Errors name the file and the line. Timestamps
// without a zone are read in UTC; Options.ParseForecastInput reads them in
// another.
func ParseForecastInput(r io.Reader, name string) ([]Series, error) {
	return Options{}.ParseForecastInput(r, name)
}

// ParseForecastInput reads a forecast input as the function
// ParseForecastInput does, its timestamps without a zone in o.Location.
func (o Options) ParseForecastInput(r io.Reader, name string) ([]Series, error) {
	loc := o.loc()
	cr := csv.NewReader(bounded(r, name))
	cr.FieldsPerRecord = len(forecastInputHeader)
	cr.ReuseRecord = true
	if err := readHeader(cr, name, forecastInputHeader); err != nil {
		return nil, err
	}
	var order []string
	rows := map[string][]inputRow{}
	kinds := map[string]bool{} // series → timestamps are RFC 3339
	var rerr error
	for line, rec := range records(cr, name, &rerr) {
		series := rec[0]
		if series == "" {
			return nil, lineError(name, line, errors.New("empty series name"))
		}
		ts := strings.TrimSpace(rec[1])
		prev, seen := rows[series]
		var after time.Time
		if seen && kinds[series] {
			after = time.Unix(0, prev[len(prev)-1].t)
		}
		t, isTime, err := parseInputTimestamp(ts, loc, after)
		if err != nil {
			return nil, lineError(name, line, err)
		}
		v, err := parseInputValue(rec[2])
		if err != nil {
			return nil, lineError(name, line, err)
		}
		if !seen {
			if len(order) == MaxSeries {
				return nil, lineError(name, line, fmt.Errorf("more than %d series", MaxSeries))
			}
			order = append(order, series)
			kinds[series] = isTime
		} else {
			if kinds[series] != isTime {
				return nil, lineError(name, line, fmt.Errorf("series %q mixes date-time and integer timestamps", series))
			}
			if last := prev[len(prev)-1]; t <= last.t {
				return nil, lineError(name, line, fmt.Errorf("series %q: timestamp %s not after the one on line %d", series, ts, last.line))
			}
		}
		rows[series] = append(prev, inputRow{line: line, t: t, v: v})
	}
	if rerr != nil {
		return nil, rerr
	}
	if len(order) == 0 {
		return nil, lineError(name, 0, ErrNoRows)
	}
	out := make([]Series, 0, len(order))
	budget := int64(maxSteps) // the steps of every series together
	for _, series := range order {
		s, err := gridInput(name, series, rows[series], budget)
		if err != nil {
			return nil, err
		}
		budget -= int64(len(s.Values))
		out = append(out, s)
	}
	return out, nil
}

// parseInputTimestamp reads a timestamp of a forecast input: an integer, or
// a date-time (isTime) as Unix nanoseconds: RFC 3339, or
// "2006-01-02 15:04:05" (or with a T) without a zone, a wall-clock time in
// loc resolved by localInstant against prev, the series' previous instant.
func parseInputTimestamp(ts string, loc *time.Location, prev time.Time) (t int64, isTime bool, err error) {
	if i, err := strconv.ParseInt(ts, 10, 64); err == nil {
		return i, false, nil
	}
	tm, naive, ok := parseDateTime(ts)
	if !ok {
		return 0, false, fmt.Errorf("timestamp %q is neither RFC 3339, \"2006-01-02 15:04:05\" nor an integer", ts)
	}
	if naive {
		tm = localInstant(tm, loc, prev)
	}
	ns := tm.UnixNano()
	if !time.Unix(0, ns).Equal(tm) {
		return 0, false, fmt.Errorf("timestamp %q: want a time within years 1678–2262", ts)
	}
	return ns, true, nil
}

// parseInputValue reads a value of a forecast input: a number, or empty,
// NaN or ±Inf for no value.
func parseInputValue(s string) (float64, error) {
	switch vs := strings.TrimSpace(s); {
	case vs == "", strings.EqualFold(vs, "nan"):
		return math.NaN(), nil
	default:
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", s)
		}
		if math.IsInf(v, 0) {
			v = math.NaN()
		}
		return v, nil
	}
}

// gridInput lays the rows of one series (in time order, at least one) on
// the grid of their smallest gap, NaN where there is no row, when that grid
// has at most budget steps.
func gridInput(name, series string, rs []inputRow, budget int64) (Series, error) {
	var step int64 = math.MaxInt64
	for i := 1; i < len(rs); i++ {
		d := rs[i].t - rs[i-1].t
		if d <= 0 { // overflow: they increase
			return Series{}, lineError(name, rs[i].line, fmt.Errorf("series %q: timestamp too far from the one before", series))
		}
		step = min(step, d)
	}
	if len(rs) == 1 {
		step = 1
	}
	last := rs[len(rs)-1]
	if span := last.t - rs[0].t; span < 0 { // overflow
		return Series{}, lineError(name, last.line, fmt.Errorf("series %q spans more than %d steps", series, maxSteps))
	}
	for i := 1; i < len(rs); i++ {
		if (rs[i].t-rs[0].t)%step != 0 {
			return Series{}, lineError(name, rs[i].line, fmt.Errorf("series %q: timestamp off the regular step of its smallest gap", series))
		}
	}
	n := (last.t-rs[0].t)/step + 1
	switch {
	case n > maxSteps:
		return Series{}, lineError(name, last.line, fmt.Errorf("series %q spans %d steps, more than %d", series, n, maxSteps))
	case n > budget:
		return Series{}, lineError(name, last.line, fmt.Errorf("series %q spans %d steps: with the series before it, more than %d", series, n, maxSteps))
	}
	s := Series{Name: series, Values: nans(int(n))}
	for _, r := range rs {
		s.Values[(r.t-rs[0].t)/step] = r.v
	}
	return s, nil
}

// WriteForecastInput writes series as a forecast input, the timestamps the
// integers 0, 1, …, an empty value where one is NaN or ±Inf.
// ParseForecastInput reads it back as series (a series with no values
// vanishes).
func WriteForecastInput(w io.Writer, series []Series) error {
	return writeCSV(w, forecastInputHeader, func(write func(...string) error) error {
		for _, s := range series {
			for i, v := range s.Values {
				if err := write(s.Name, strconv.Itoa(i), formatValue(v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// WriteForecasts writes forecasts as a forecast output, the series in
// order, with steps 1…H. Numbers are the shortest decimal that reads back as
// the same float64 ("NaN", "+Inf" and "-Inf" included), so ParseForecasts
// reads back forecasts (one with no steps vanishes).
func WriteForecasts(w io.Writer, forecasts []Forecast) error {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return writeCSV(w, forecastOutputHeader, func(write func(...string) error) error {
		for _, f := range forecasts {
			for j := range f.Values {
				if err := write(f.Series, strconv.Itoa(j+1), num(f.Values[j]), num(f.Lo[j]), num(f.Hi[j])); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// writeCSV writes header, then the rows rows writes, through a buffer.
func writeCSV(w io.Writer, header []string, rows func(write func(...string) error) error) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := rows(func(rec ...string) error { return cw.Write(rec) }); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// ParseForecasts reads a forecast output (the package documentation gives
// the format). Errors name the file and the line.
func ParseForecasts(r io.Reader, name string) ([]Forecast, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = len(forecastOutputHeader)
	cr.ReuseRecord = true
	if err := readHeader(cr, name, forecastOutputHeader); err != nil {
		return nil, err
	}
	var out []Forecast
	seen := map[string]bool{}
	var rerr error
	for line, rec := range records(cr, name, &rerr) {
		series := rec[0]
		if series == "" {
			return nil, lineError(name, line, errors.New("empty series name"))
		}
		if n := len(out); n == 0 || out[n-1].Series != series {
			if seen[series] {
				return nil, lineError(name, line, fmt.Errorf("series %q: its rows are not together", series))
			}
			seen[series] = true
			out = append(out, Forecast{Series: series})
		}
		f := &out[len(out)-1]
		if step, err := strconv.Atoi(strings.TrimSpace(rec[1])); err != nil || step != len(f.Values)+1 {
			return nil, lineError(name, line, fmt.Errorf("series %q: step %q, want %d", series, rec[1], len(f.Values)+1))
		}
		var v [3]float64
		for k, col := range forecastOutputHeader[2:] {
			var err error
			if v[k], err = parseForecastValue(rec[2+k]); err != nil {
				return nil, lineError(name, line, fmt.Errorf("%s: %w", col, err))
			}
		}
		f.Values, f.Lo, f.Hi = append(f.Values, v[0]), append(f.Lo, v[1]), append(f.Hi, v[2])
	}
	if rerr != nil {
		return nil, rerr
	}
	if len(out) == 0 {
		return nil, lineError(name, 0, ErrNoRows)
	}
	return out, nil
}

// parseForecastValue reads a number of a forecast output: any float64
// ("NaN", "+Inf" and "-Inf" included); empty is NaN.
func parseForecastValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}
