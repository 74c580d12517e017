package file

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits on what the readers of this package take, so that no input asks
// for more memory than a controller has:
//
//   - MaxFileSize, 256 MiB: a trace of a year at one row a second is about
//     that size, and a signals file of a week of 100 services at 1m is 40
//     MiB. A larger file is refused before it is read (its size, when
//     Stat knows it) or when the limit is read (a pipe, /dev/zero).
//   - MaxLineSize, 64 KiB: a row holds a timestamp, a name and a few
//     numbers; a file without newlines (/dev/zero) fails at the first
//     64 KiB, not after filling memory with one line.
//   - maxSteps, 10,000,000 (80 MB of float64): the steps of one grid, gaps
//     included, checked before the grid is allocated; a forecast input's
//     series together take at most maxSteps too, and there are at most
//     MaxSeries of them.
const (
	MaxFileSize = 256 << 20
	MaxLineSize = 64 << 10
	MaxSeries   = 10_000
)

// ErrTooLarge is returned, inside a ParseError, for a file or a line over
// MaxFileSize or MaxLineSize.
var ErrTooLarge = errors.New("file: too large")

// open opens path for one of the readers, refusing a regular file over
// MaxFileSize before reading it.
func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxFileSize {
		f.Close()
		return nil, lineError(path, 0, fmt.Errorf("%w: %d bytes, more than %d (%d MiB)", ErrTooLarge, st.Size(), MaxFileSize, MaxFileSize>>20))
	}
	return f, nil
}

// bounded returns r read through the limits: an error naming the file once
// more than MaxFileSize bytes, or a line of more than MaxLineSize, have been
// read; a leading UTF-8 byte order mark is dropped.
func bounded(r io.Reader, name string) *bufio.Reader {
	br := bufio.NewReader(&limitReader{r: r, name: name})
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		br.Discard(3)
	}
	return br
}

type limitReader struct {
	r    io.Reader
	name string
	n    int64 // bytes read
	line int64 // bytes since the last newline
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		l.line = int64(n - i - 1)
	} else {
		l.line += int64(n)
	}
	switch {
	case l.n > MaxFileSize:
		l.err = fmt.Errorf("%w: more than %d bytes (%d MiB)", ErrTooLarge, int64(MaxFileSize), MaxFileSize>>20)
	case l.line > MaxLineSize:
		l.err = fmt.Errorf("%w: a line longer than %d bytes (%d KiB)", ErrTooLarge, MaxLineSize, MaxLineSize>>10)
	}
	if l.err != nil {
		return 0, l.err
	}
	return n, err
}
