package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
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
	fs := newFlags("check", "-config FILE [-state FILE]", `Validate a configuration file. Every problem is reported with its file, line
and YAML path; the exit status is 1 when there is any. A note names what
presage run would refuse in a file the other commands take (an action of
kind sim with a real source). With -state, also check
a state file against the configuration as presage run would load it: every
record run would set aside is reported (exit status 1), and every record it
would restore with a change (migrated, a time clamped) is noted.`, stderr)
	path := fs.String("config", "", "configuration `file` to check")
	statePath := fs.String("state", "", "state `file` to check against the configuration (as global.state_file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		printConfigErrors(stderr, err)
		return errInvalid
	}
	fmt.Fprintf(stdout, "%s: ok (%d services, source %s)\n", *path, len(cfg.Services), cfg.Source.Kind)
	for _, e := range config.Errors(cfg.RunError()) {
		fmt.Fprintf(stdout, "note: %v\n", e)
	}
	if *statePath == "" {
		return nil
	}
	return checkState(*statePath, cfg, stdout, stderr)
}

// checkState reports what loading the state file at path would set aside
// and restore with a change.
func checkState(path string, cfg *config.Config, stdout, stderr io.Writer) error {
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "state file: %v\n", err)
		return errInvalid
	}
	l, err := controller.LoadState(path, cfg, time.Now(), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errInvalid
	}
	for _, w := range l.Warnings {
		fmt.Fprintf(stdout, "%s: note: %s\n", path, w)
	}
	for _, r := range l.Rejected {
		fmt.Fprintf(stderr, "%s: %s\n", path, r)
	}
	if len(l.Rejected) > 0 {
		fmt.Fprintf(stderr, "%d record(s) set aside\n", len(l.Rejected))
		return errInvalid
	}
	engaged := 0
	for _, st := range l.State {
		engaged += st.Level() + len(st.Prewarmed)
	}
	fmt.Fprintf(stdout, "%s: ok (version %d, %d services, %d engaged actions)\n", path, l.Version, len(l.State), engaged)
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: redactAttr})), nil
}

// redactAttr redacts every URL in a log attribute's string or error value
// (config.RedactText): the packages redact what they log, and this is the
// net for what they miss.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Any().(type) {
	case string:
		if r := config.RedactText(v); r != v {
			a.Value = slog.StringValue(r)
		}
	case error:
		if r := config.RedactText(v.Error()); r != v.Error() {
			a.Value = slog.StringValue(r)
		}
	}
	return a
}

// writeFile writes through fn to path ("-" is stdout) atomically: a
// temporary file renamed into place, so a failed write loses nothing.
func writeFile(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
	return atomicfile.Write(path, fn)
}
