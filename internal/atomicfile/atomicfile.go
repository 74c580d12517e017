// Package atomicfile writes a file so that a reader sees its old content or
// its new, never a part: the content goes to a temporary file in the same
// directory, renamed into place once whole.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes path through fn atomically: a temporary file renamed into
// place, so a failed write loses nothing and leaves nothing behind. The
// file gets mode 0644, as an ordinary output. An error of fn or of closing
// the file is wrapped as "write PATH: ...".
func Write(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	// CreateTemp makes the file private; the output is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
