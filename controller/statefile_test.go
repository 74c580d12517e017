package controller

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/policy"
)

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	want := map[string]policy.State{
		"checkout": {Engaged: []policy.Engagement{{Step: 0, From: 0, To: 1, At: at}, {Step: 1, From: 0, To: 3, At: at.Add(time.Minute)}}},
		"search":   {},
	}
	for _, tt := range []struct {
		name    string
		path    string
		content *string // written first when set
		want    map[string]policy.State
		err     string
	}{
		{name: "no state file configured", path: ""},
		{name: "missing file", path: filepath.Join(dir, "missing.json")},
		{name: "corrupt file", path: filepath.Join(dir, "corrupt.json"), content: ptr("{"), err: "state file " + filepath.Join(dir, "corrupt.json") + ": "},
		{name: "a directory", path: dir, err: "state file: "},
		{name: "saved state", path: filepath.Join(dir, "state.json"), want: want},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != nil {
				if err := os.WriteFile(tt.path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.want != nil {
				if err := SaveState(tt.path, tt.want); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LoadState(tt.path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("LoadState = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", tt.want); g != w {
				t.Errorf("LoadState = %s, want %s", g, w)
			}
		})
	}
	// SaveState leaves nothing but the state file behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "corrupt.json state.json"; got != want {
		t.Errorf("state directory holds %s, want %s", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
