// Package file reads and writes every CSV file presage reads or writes:
// the load trace, the signals file, and the forecast input and output. Each
// is read in one place and written in one place.
//
// # Errors
//
// Every problem a reader finds in a file's content is a *ParseError that
// names the file and, when it is about one row, the line:
// "trace.csv:17: value \"x\": not a number". A file with no data rows is
// ErrNoRows (inside a ParseError). Files that cannot be opened give the
// os error, which names the path.
//
// # Load trace
//
// A load trace is "timestamp,value" rows: a request rate over time, read
// by ReadTrace and ParseTrace into a metrics.Grid, written by WriteTrace.
//
//   - The first row is a header, and skipped, when neither its timestamp nor
//     its value parses. Blank lines and lines starting with # are skipped;
//     spaces around cells are ignored.
//   - A timestamp is RFC 3339 ("2026-01-05T00:00:00Z", any offset),
//     "2006-01-02 15:04:05" (without a zone: read in the Options' zone, UTC
//     by default, see "Time zones" below; a T in place of the space and
//     fractional seconds are accepted) or Unix seconds (fractional allowed,
//     below 1e11), within years 0000–9999 UTC.
//   - A value is a number ≥ 0. An empty value or NaN is a step with no
//     value (NaN in the Grid), never zero; ±Inf and negative values are
//     errors.
//   - The grid rule: timestamps must increase; the step is the most common
//     difference between consecutive rows (the smallest of equally common
//     ones), the grid starts at the first row, and every timestamp must lie
//     on it. A step without a row is a gap, NaN. A trace needs two data
//     rows to have a step.
//   - Limits: at most 10,000,000 steps from the first row to the last, gaps
//     included.
//
// A signals file (below) given where a trace is expected is recognised by
// its header and read as ParseSignalsTrace reads it: the requests column
// of the first service, on the same grid rule.
//
// # Signals file
//
// The signals file holds the signals of several services over time, as
// `presage export` reads them from Prometheus and `presage replay -record`
// writes a simulated run's: a header naming the columns, then one row per
// service and time.
//
//	timestamp,service,latency,requests,pool_in_use,pool_limit
//	2026-01-05T00:00:00Z,checkout,0.084,42.25,1.99,50
//	2026-01-05T00:00:00Z,search,0.038,14.85,,30
//
// ReadSignals and ParseSignals read it into a Recording; WriteSignals is
// the one writer (both commands use it); ParseSignalsTrace reads one
// service's requests as a load trace.
//
//   - Columns are found by name in the header (without case or spaces), so
//     their order may change: timestamp and service are required, and the
//     signal columns latency, requests, pool_in_use and pool_limit
//     (metrics.Signals) are read when present, at least one of them.
//     WriteSignals writes all four, in that order.
//   - Timestamps and values are read as a load trace's: an empty cell or
//     NaN is a missing value, never zero; negative or infinite values are
//     errors. Each service's timestamps must increase.
//   - The grid rule: the step is the most common difference between a
//     service's consecutive rows (over all services; the smallest of
//     equally common ones), the grid starts at the earliest timestamp and
//     ends at the latest, and every timestamp must lie on it; a step a
//     service has no row for is NaN. At least one service needs two rows.
//   - Limits: at most 10,000,000 steps.
//   - Written: a row for every grid step and service, timestamps RFC 3339
//     in UTC (with the fraction of a second only when there is one),
//     numbers the shortest decimal that reads back as the same float64
//     (strconv's 'g', -1), an empty cell for a missing value. A file
//     written reads back with the same grid and values.
//
// # Forecast input
//
// `presage forecast -in` reads "series,timestamp,value" rows, the header
// required (without case, spaces or a byte order mark), then one row per
// observation, the series interleaved or not. ParseForecastInput reads it
// into one Series per series, in order of first appearance;
// WriteForecastInput writes Series with integer timestamps 0, 1, ….
//
//   - A series name is any non-empty text, kept as it is.
//   - A timestamp is an integer (an index) or a date-time (within years
//     1678–2262): RFC 3339, or "2006-01-02 15:04:05" (or with a T) without
//     a zone, read as "Time zones" below says; all of one kind within a
//     series, increasing.
//   - A value is a number of any sign. An empty value, NaN or ±Inf is a
//     missing step, never zero.
//   - The grid rule: a series' step is the smallest difference between its
//     consecutive timestamps, the grid runs from its first row to its last,
//     and every timestamp must lie on it; a step without a row is NaN. A
//     series of one row is one step.
//   - Limits: at most 10,000,000 steps per series, gaps included.
//
// # Time zones
//
// A timestamp with an offset or a Z, and Unix seconds, are instants, read as
// written. A timestamp without a zone is a wall-clock time in
// Options.Location (`-tz` on the commands; UTC when nil, and for the
// functions ParseTrace, ParseSignals, ... that take no Options). Where that
// zone's clock changes, a wall-clock time is resolved, never rejected:
//
//   - a time that happens twice (the hour repeated when daylight saving
//     ends: 02:00–02:59 on 2026-10-25 in Europe/Paris) is told apart by the
//     order of the rows: it is the earlier instant, unless the series'
//     previous row is already at or after it, then the later one. So a
//     file stamped on the wall clock reads 02:00, 02:30 (summer time),
//     02:00, 02:30 (winter time), 03:00 in that order; a third 02:00 is out
//     of order, an error at its line;
//   - a time that does not happen (the hour skipped when daylight saving
//     starts: 02:00–02:59 on 2026-03-29 in Paris) moves later by the gap,
//     read on the offset in force before it (02:30 is 03:30 summer time),
//     as package schedule resolves a start in a gap. A file stamped on the
//     wall clock has no such rows; one that has them may then hold the same
//     instant twice, a duplicate at the later row's line.
//
// A series is one service's rows in a signals file, one series' in a
// forecast input, the whole trace.
//
// # Forecast output
//
// `presage forecast -out` writes "series,step,forecast,lo,hi": for every
// series of the input, in order, the steps 1…H ahead with the forecast and
// the bounds of its prediction interval. WriteForecasts writes it and
// ParseForecasts reads it: a series' rows together, its steps counting
// from 1. Numbers are written as the shortest decimal that reads back as
// the same float64, "NaN" and "±Inf" included; an empty cell reads as NaN.
package file
