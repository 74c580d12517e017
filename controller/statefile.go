package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/presage-dev/presage/internal/atomicfile"
	"github.com/presage-dev/presage/policy"
)

// The state file (global.state_file) keeps the policy state of every
// service across restarts, as JSON: what Controller.State returns, by
// service name. A controller starts from it (Options.State) and rewrites
// it after every change (Options.OnStateChange).

// LoadState reads the state file an earlier run wrote; a missing file, or
// no file (path ""), is no state.
func LoadState(path string) (map[string]policy.State, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var st map[string]policy.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return st, nil
}

// SaveState writes the state file atomically: a reader, or a controller
// that starts after a crash, finds the previous state or the new one.
func SaveState(path string, st map[string]policy.State) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}
