package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Series is one named series on a regular step; NaN marks a missing step.
type Series struct {
	ID     string
	Values []float64
}

// ErrNoData is returned when the data folder or a file in it is absent.
var ErrNoData = errors.New("eval: data not found")

// Data file paths inside the data folder (see ../shared/data/README.md).
const (
	M4HourlyFile = "m4-hourly/Hourly-train.csv"
	NASAFile     = "nasa-http/nasa_requests_per_5min.csv"
)

// DataDir returns dir, or the PRESAGE_DATA environment variable when dir
// is empty; ErrNoData when neither names an existing folder.
func DataDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("PRESAGE_DATA")
	}
	if dir == "" {
		return "", fmt.Errorf("no data folder: set PRESAGE_DATA or pass one: %w", ErrNoData)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("data folder %s: %w", dir, ErrNoData)
	}
	return dir, nil
}

func open(dir, name string) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), ErrNoData)
	}
	return f, err
}

// LoadM4Hourly reads the M4 Hourly training series from the data folder.
func LoadM4Hourly(dir string) ([]Series, error) {
	f, err := open(dir, M4HourlyFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadM4(f)
}

// ReadM4 reads an M4 data file: a header row, then one series per row with
// its id in the first column and its observations in the others, the row
// padded with empty cells at the end.
func ReadM4(r io.Reader) ([]Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return nil, fmt.Errorf("m4 header: %w", err)
	}
	var out []Series
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("m4: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 2 {
			return nil, fmt.Errorf("m4 line %d: no observations", line)
		}
		s := Series{ID: rec[0]}
		for _, cell := range rec[1:] {
			cell = strings.TrimSpace(cell)
			if cell == "" || cell == "NA" {
				break
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, fmt.Errorf("m4 line %d, series %s: %w", line, s.ID, err)
			}
			s.Values = append(s.Values, v)
		}
		out = append(out, s)
	}
}

// LoadNASA reads the NASA-HTTP requests per 5 minutes from the data folder
// with ReadNASA.
func LoadNASA(dir string) (Series, error) {
	f, err := open(dir, NASAFile)
	if err != nil {
		return Series{}, err
	}
	defer f.Close()
	return ReadNASA(f)
}

var nasaLast = time.Date(1995, 9, 1, 0, 0, 0, 0, time.UTC)

// ReadNASA reads a "timestamp,count" file ("2006-01-02 15:04:05"
// timestamps in time order) onto a regular grid whose step is the smallest
// gap between rows: steps without a row are NaN. The NASA file's last row,
// 1995-09-01 00:00, holds only the minute 1995-08-31 23:59 (see the data
// README): it is added to the bucket before it.
func ReadNASA(r io.Reader) (Series, error) {
	cr := csv.NewReader(r)
	if _, err := cr.Read(); err != nil {
		return Series{}, fmt.Errorf("nasa header: %w", err)
	}
	var ts []time.Time
	var vs []float64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Series{}, fmt.Errorf("nasa: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return Series{}, fmt.Errorf("nasa line %d: %d fields, want 2", line, len(rec))
		}
		t, err := time.Parse(time.DateTime, rec[0])
		if err != nil {
			return Series{}, fmt.Errorf("nasa line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return Series{}, fmt.Errorf("nasa line %d: %w", line, err)
		}
		if len(ts) > 0 && !t.After(ts[len(ts)-1]) {
			return Series{}, fmt.Errorf("nasa line %d: time %s not after the previous row", line, rec[0])
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	if len(ts) < 2 {
		return Series{}, fmt.Errorf("nasa: %d rows, need 2", len(ts))
	}
	step := time.Duration(math.MaxInt64)
	for i := 1; i < len(ts); i++ {
		step = min(step, ts[i].Sub(ts[i-1]))
	}
	if k := len(ts) - 1; ts[k].Equal(nasaLast) && step > time.Minute {
		vs[k-1] += vs[k]
		ts, vs = ts[:k], vs[:k]
	}
	n := int(ts[len(ts)-1].Sub(ts[0])/step) + 1
	out := Series{ID: "nasa-http", Values: make([]float64, n)}
	for i := range out.Values {
		out.Values[i] = math.NaN()
	}
	for i, t := range ts {
		out.Values[int(t.Sub(ts[0])/step)] = vs[i]
	}
	return out, nil
}
