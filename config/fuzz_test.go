package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds Load any bytes: it never panics, every problem it
// reports is an *Error, and a configuration it accepts resolves (Resolve
// rejects only what Validate rejects).
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("../testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(files, "../config.example.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("global: {interval: 1ns}\n"))
	f.Add([]byte("services: [{name: a, incident: {above: 1e309}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("a config with an error")
			}
			if len(Errors(err)) == 0 {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is no *Error", err)
				}
			}
			return
		}
		if _, err := c.Resolve(); err != nil {
			t.Fatalf("Load accepted a config that Resolve rejects: %v", err)
		}
	})
}
