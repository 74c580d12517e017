package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/internal/atomicfile"
)

// loadConfig loads and validates a config file, printing every problem.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	if path == "" {
		fmt.Fprintln(stderr, "-config is required")
		return nil, errUsage
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		printConfigErrors(stderr, err)
		return nil, errInvalid
	}
	return cfg, nil
}

func printConfigErrors(w io.Writer, err error) {
	errs := config.Errors(err)
	if len(errs) == 0 {
		fmt.Fprintln(w, err)
		return
	}
	// Buffered: a file can hold a million problems.
	bw := bufio.NewWriter(w)
	for _, e := range errs {
		fmt.Fprintln(bw, e)
	}
	fmt.Fprintf(bw, "%d problem(s)\n", len(errs))
	bw.Flush()
}

func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "-config FILE", "Validate a configuration file. Every problem is reported with its file, line\nand YAML path; the exit status is 1 when there is any.", stderr)
	path := fs.String("config", "", "configuration `file` to check")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		if data, rerr := os.ReadFile(*path); rerr == nil {
			config.SetLines(data, err)
		}
		for _, e := range config.Errors(err) {
			e.File = *path
		}
		printConfigErrors(stderr, err)
		return errInvalid
	}
	fmt.Fprintf(stdout, "%s: ok (%d services, source %s)\n", *path, len(cfg.Services), cfg.Source.Kind)
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// writeFile writes through fn to path ("-" is stdout) atomically: a
// temporary file renamed into place, so a failed write loses nothing.
func writeFile(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
	return atomicfile.Write(path, fn)
}
