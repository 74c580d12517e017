package file

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLimits: every reader fails fast, with an error naming the file, on an
// input over the limits, before it allocates for it.
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.csv")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil { // sparse: nothing written
		t.Fatal(err)
	}
	f.Close()
	readers := map[string]func(string) error{
		"trace":   func(p string) error { _, err := ReadTrace(p); return err },
		"signals": func(p string) error { _, err := ReadSignals(p); return err },
	}
	for _, tt := range []struct{ reader, path, want string }{
		{"trace", "/dev/zero", "/dev/zero: file: too large: a line longer than 65536 bytes"},
		{"signals", "/dev/zero", "/dev/zero: file: too large: a line longer than 65536 bytes"},
		{"trace", big, "big.csv: file: too large: 268435457 bytes, more than 268435456 (256 MiB)"},
		{"signals", big, "big.csv: file: too large: 268435457 bytes"},
	} {
		t.Run(tt.reader+" "+filepath.Base(tt.path), func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil {
				t.Skip(err)
			}
			start := time.Now()
			err := readers[tt.reader](tt.path)
			if err == nil || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want …%s…", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestLimitsStream: the limit on the whole input holds for a stream, whose
// size is not known before it is read.
func TestLimitsStream(t *testing.T) {
	row := "# a comment, skipped\n"
	r := io.MultiReader(strings.NewReader("timestamp,value\n"), &repeat{s: row})
	_, err := ParseTrace(r, "pipe")
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "pipe: file: too large: more than 268435456 bytes") {
		t.Errorf("got %v", err)
	}
}

// repeat reads s over and over.
type repeat struct{ s string }

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n+len(r.s) <= len(p) {
		n += copy(p[n:], r.s)
	}
	return n, nil
}

// TestSignalsBOM: a signals file may start with a UTF-8 byte order mark,
// as a trace may.
func TestSignalsBOM(t *testing.T) {
	data := "\ufefftimestamp,service,latency,requests\n2026-01-05T00:00:00Z,a,0.1,5\n2026-01-05T00:01:00Z,a,0.2,6\n"
	rec, err := ParseSignals(strings.NewReader(data), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Len != 2 || len(rec.Services) != 1 {
		t.Errorf("got %d steps of %v", rec.Len, rec.Services)
	}
	if _, err := ParseTrace(strings.NewReader(data), "s.csv"); err != nil {
		t.Errorf("ParseTrace: %v", err)
	}
}

// TestForecastInputLimits: a small forecast input cannot ask for a large
// grid: the series together span at most maxSteps, and there are at most
// MaxSeries.
func TestForecastInputLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("series,timestamp,value\n")
	for i := range 5 { // each 4,000,001 steps: 20 M together
		fmt.Fprintf(&b, "s%d,0,1\ns%d,1,1\ns%d,4000000,1\n", i, i, i)
	}
	_, err := ParseForecastInput(strings.NewReader(b.String()), "in.csv")
	if err == nil || !strings.Contains(err.Error(), `in.csv:10: series "s2" spans 4000001 steps: with the series before it, more than 10000000`) {
		t.Errorf("got %v", err)
	}

	b.Reset()
	b.WriteString("series,timestamp,value\n")
	for i := range MaxSeries + 1 {
		fmt.Fprintf(&b, "s%d,0,1\n", i)
	}
	_, err = ParseForecastInput(strings.NewReader(b.String()), "in.csv")
	if err == nil || !strings.Contains(err.Error(), "in.csv:10002: more than 10000 series") {
		t.Errorf("got %v", err)
	}
}
