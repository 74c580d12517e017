package file

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
)

// ErrNoRows is returned, inside a ParseError, for a file with no data rows.
var ErrNoRows = errors.New("file: no data rows")

// ParseError is a problem in a file, at a line when Line > 0. Every error of
// the readers of this package that is about the file's content is a
// *ParseError; "trace.csv:17: value \"x\": not a number".
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// lineError returns a ParseError of file name at line (0: the whole file).
func lineError(name string, line int, err error) error {
	return &ParseError{File: name, Line: line, Err: err}
}

// readError turns an error of a csv.Reader into a ParseError of file name,
// at the line the CSV error names.
func readError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return lineError(name, pe.Line, pe.Err)
	}
	return lineError(name, 0, err)
}

// records returns the records cr reads, each with its line, until the end
// of the input. A CSV error ends the loop and is left in *errp as a
// ParseError of file name; *errp is nil after the whole input was read.
func records(cr *csv.Reader, name string, errp *error) iter.Seq2[int, []string] {
	return func(yield func(int, []string) bool) {
		*errp = nil
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				*errp = readError(name, err)
				return
			}
			line, _ := cr.FieldPos(0)
			if !yield(line, rec) {
				return
			}
		}
	}
}
