package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := Write(path, write("first\n")); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("half written")
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, "sec")
		return failed
	})
	if !errors.Is(err, failed) || !strings.HasPrefix(err.Error(), "write "+path+": ") {
		t.Errorf("failed write: error %v, want %q wrapped as write %s", err, failed, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "first\n" {
		t.Errorf("after a failed write the file holds %q, want the first content", b)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want the output alone", len(entries))
	}
}
