package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/metrics/prom"
)

// promSource builds the Prometheus source of cfg, its metrics on reg.
func promSource(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*prom.Source, error) {
	return prom.New(cfg, prom.Options{Logger: log.With("source", "prometheus"), Registerer: reg})
}

// promActuators builds the playbook actuators for a Prometheus source:
// webhooks and Kubernetes changes (kube, built by other). An action of kind
// sim has no simulator to act on here (its knob is set through `presage sim
// serve` with a webhook and sim.knobs); in a dry run (recommend) it is
// recorded like any other.
func promActuators(cfg *config.Config, dry bool, other func(string, config.Action) (actuators.Actuator, error)) (map[string][]actuators.Actuator, error) {
	out := make(map[string][]actuators.Actuator, len(cfg.Services))
	for i, s := range cfg.Services {
		for j, a := range s.Playbook {
			var act actuators.Actuator
			switch {
			case a.Actuator.Kind == config.ActuatorWebhook || a.Actuator.Kind == config.ActuatorKube:
				w, err := other(s.Name, a)
				if err != nil {
					return nil, fmt.Errorf("services[%d].playbook[%d]: %w", i, j, err)
				}
				act = w
			case dry:
				act = actuators.NewRecorder(nil)
			default:
				return nil, cfg.RunError() // an action of kind sim
			}
			out[s.Name] = append(out[s.Name], act)
		}
	}
	return out, nil
}

// exportHelp is presage export's description.
const exportHelp = `Read the configured signals of every service from Prometheus over [from, to]
(query_range on a grid of -step, split under Prometheus's 11,000 points per
series) and write them as CSV:

  timestamp,service,latency,requests,pool_in_use,pool_limit

one row per service and grid time, in time order, timestamps RFC 3339 UTC,
an empty cell where a value is missing (NaN, stale, absent: never zero).
'presage replay -trace FILE' replays such a file's requests column as the
load (the first service's rows).

A time is RFC 3339 ("2026-01-05T00:00:00Z"), "now", or a duration ago
("-2h", "-7d"; the sign may be left out). from is rounded down to a multiple
of the step.`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "-config FILE -from T -to T -out CSV [-step D]", exportHelp, stderr)
	path := fs.String("config", "", "configuration `file` (source kind prometheus)")
	from := fs.String("from", "", "start `time`: RFC 3339, now, or a duration ago such as -2h")
	to := fs.String("to", "now", "end `time`: RFC 3339, now, or a duration ago")
	out := fs.String("out", "", "CSV `file` to write (- for stdout)")
	step := fs.String("step", "", "grid `step` (default: global.interval)")
	logLevel := fs.String("log-level", "warn", "log `level`: debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" || *out == "" {
		fmt.Fprintln(stderr, "-from and -out are required")
		fs.Usage()
		return errUsage
	}
	now := time.Now()
	start, err := parseTime(*from, now)
	if err != nil {
		fmt.Fprintf(stderr, "-from: %v\n", err)
		return errUsage
	}
	end, err := parseTime(*to, now)
	if err != nil {
		fmt.Fprintf(stderr, "-to: %v\n", err)
		return errUsage
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	if cfg.Source.Kind != config.SourcePrometheus {
		return fmt.Errorf("export reads Prometheus: %s has source kind %q", *path, cfg.Source.Kind)
	}
	d := time.Duration(cfg.Global.Interval)
	if *step != "" {
		md, err := model.ParseDuration(*step)
		if err != nil || md <= 0 {
			fmt.Fprintf(stderr, "-step: invalid duration %q\n", *step)
			return errUsage
		}
		d = time.Duration(md)
	}
	start = start.Truncate(d)
	if end.Before(start) {
		return fmt.Errorf("-to %s is before -from %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	return export(ctx, cfg, log, start, end, d, *out, stdout)
}

// export reads cfg's signals from Prometheus over [start, end] on a grid of
// step and writes them to out as a signals file (file.WriteSignals).
func export(ctx context.Context, cfg *config.Config, log *slog.Logger, start, end time.Time, step time.Duration, out string, stdout io.Writer) error {
	src, err := promSource(cfg, nil, log)
	if err != nil {
		return err
	}
	hist, rerr := src.Range(ctx, nil, start, end, step)
	if rerr != nil && len(hist) == 0 {
		return fmt.Errorf("read %s: %w", config.Redact(cfg.Source.Prometheus.URL), rerr)
	}
	if rerr != nil {
		log.Warn("some signals could not be read; their cells are empty", "err", rerr)
	}
	rec := file.RecordingOf(hist, cfg.ServiceNames(), start, end, step)
	if err := writeFile(out, stdout, func(w io.Writer) error { return file.WriteSignals(w, rec) }); err != nil {
		return err
	}
	if rerr != nil {
		return fmt.Errorf("export incomplete: %w", rerr)
	}
	return nil
}

// parseTime reads RFC 3339, "now", or a Prometheus duration ago ("-2h",
// "2h", "7d") relative to now.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := model.ParseDuration(strings.TrimPrefix(s, "-")); err == nil {
		return now.Add(-time.Duration(d)), nil
	}
	return time.Time{}, errors.New(`want RFC 3339 ("2026-01-05T00:00:00Z"), "now" or a duration ago ("-2h")`)
}
