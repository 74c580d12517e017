package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/replay"
)

// sweepFlags collects repeated -sweep flags.
type sweepFlags []replay.SweepParam

func (s *sweepFlags) String() string { return "" }

func (s *sweepFlags) Set(v string) error {
	p, err := replay.ParseSweep(v)
	if err != nil {
		return err
	}
	*s = append(*s, p)
	return nil
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", "-config FILE [-trace CSV | -signals CSV] [-policies LIST] [-sweep PATH=V1,V2,...]... [-json OUT] [-decisions OUT] [-report OUT.html] [-record CSV]", `Replay a load through several policies on the simulated service with a
virtual clock: every policy gets the same load and identical, fresh
simulated services. Prints a comparison table: incidents, breach minutes,
actions, resource cost, and the lead time and precision of the actions
against the 'none' run. The same input gives the same output.

-trace FILE replays any "timestamp,value" CSV (or a 'presage export' file's
requests) as the load of every service, scaled so that its
sim.load.peak_quantile (default 0.99) is sim.load.peak x the service's
capacity.

-signals FILE replays recorded signals instead (the CSV 'presage export'
writes: timestamp,service,latency,requests,pool_in_use,pool_limit), where
nothing can react: the predictive controller runs over them with dry-run
recorders, and the table scores what it would have recommended, and when,
against the incidents of the recorded latency: warned incidents, recall,
lead time, precision. Services are matched by name; global.interval must
be the file's step. -record FILE writes the 'none' run's signals in that
format, so a simulated replay can be replayed as a recording.

-sweep PATH=V1,V2,... (repeatable: the grid is the product) sets a
configuration field, by its YAML path, to each value in turn, replays each
point and prints incidents against cost, marking the Pareto front. A path
is keys joined by dots with list indexes, [*] for every element
(services[0].forecast.trigger, services[*].playbook[1].warmup); a path
that does not start with global, source or services applies to every
service (forecast.trigger). Each point is validated as 'presage check'
would; an error names the point and the path. With -sweep, -policies
defaults to reactive,predictive.`, stderr)
	path := fs.String("config", "", "configuration `file`")
	tracePath := fs.String("trace", "", "CSV `file` of timestamp,value driving every service instead of its own load (scaled so that its sim.load.peak_quantile is sim.load.peak × the service's capacity)")
	signalsPath := fs.String("signals", "", "CSV `file` of recorded signals (the format of presage export) to replay with nothing able to react")
	policies := fs.String("policies", "none,reactive,predictive", "comma-separated `list` of policies to compare: none, reactive, predictive, static, clairvoyant (predictive with a perfect forecast of the load: what a better forecast could buy)")
	jsonOut := fs.String("json", "", "write the results as JSON to `file` (- for stdout)")
	decisions := fs.String("decisions", "", "write the decision log (one line per action) to `file`")
	report := fs.String("report", "", "write a self-contained HTML report with charts to `file`")
	record := fs.String("record", "", "write the 'none' run's signals to `file` as presage export does (for -signals)")
	withSchedules := fs.Bool("schedules", true, "honour the configuration's schedules (prewarm, freeze, event); -schedules=false replays without them, for comparison")
	var sweeps sweepFlags
	fs.Var(&sweeps, "sweep", "`path=v1,v2,...`: replay each value of a configuration field (repeatable: the grid is the product)")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, format+"\n", a...)
		return errUsage
	}
	switch {
	case *tracePath != "" && *signalsPath != "":
		return usageErr("-trace and -signals exclude each other: a recording brings its own load")
	case *signalsPath != "" && len(sweeps) > 0:
		return usageErr("-sweep replays the simulated services; it does not apply to -signals")
	case *signalsPath != "" && *record != "":
		return usageErr("-record writes a simulated run's signals; with -signals they are already recorded")
	case *signalsPath != "" && set["policies"]:
		return usageErr("-policies does not apply to -signals: a recording is replayed through the predictive policy")
	case len(sweeps) > 0 && (*report != "" || *decisions != "" || *record != ""):
		return usageErr("-report, -decisions and -record describe one replay; with -sweep use -json")
	}
	polList := *policies
	if len(sweeps) > 0 && !set["policies"] {
		polList = "reactive,predictive"
	}
	var modes []policy.Mode
	for _, name := range strings.Split(polList, ",") {
		m, err := policy.ParseMode(strings.TrimSpace(name))
		if err != nil {
			return usageErr("-policies: %v", err)
		}
		modes = append(modes, m)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	if !*withSchedules {
		cfg.Schedules = nil
	}
	writeJSON := func(v any) error {
		if *jsonOut == "" {
			return nil
		}
		return writeFile(*jsonOut, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		})
	}
	table := func(fn func(io.Writer) error) error {
		if *jsonOut == "-" {
			return nil
		}
		return fn(stdout)
	}

	// outputs writes what every kind of replay report gives: the table,
	// -json, -decisions and -report.
	outputs := func(rep interface {
		WriteTable(io.Writer) error
		WriteDecisions(io.Writer) error
		WriteHTML(io.Writer) error
	}) error {
		if err := table(rep.WriteTable); err != nil {
			return err
		}
		if err := writeJSON(rep); err != nil {
			return err
		}
		if *decisions != "" {
			if err := writeFile(*decisions, stdout, rep.WriteDecisions); err != nil {
				return err
			}
		}
		if *report != "" {
			return writeFile(*report, stdout, rep.WriteHTML)
		}
		return nil
	}
	if *signalsPath != "" {
		rec, err := file.ReadSignals(*signalsPath)
		if err != nil {
			return err
		}
		rep, err := replay.ReplaySignals(ctx, replay.SignalsOptions{Config: cfg, Recording: rec, Detail: *report != ""})
		if err != nil {
			if errors.Is(err, replay.ErrIntervalMismatch) {
				return fmt.Errorf("%s: %w", *signalsPath, err)
			}
			return err
		}
		return outputs(rep)
	}

	var tr *metrics.Grid
	if *tracePath != "" {
		if tr, err = file.ReadTrace(*tracePath); err != nil {
			return err
		}
	}
	opts := replay.ReplayOptions{Config: cfg, Trace: tr, Policies: modes, Detail: *report != ""}
	if len(sweeps) > 0 {
		data, err := os.ReadFile(*path)
		if err != nil {
			return err
		}
		points, err := replay.SweepConfigs(data, *path, sweeps)
		if err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				fmt.Fprintln(stderr, e)
			}
			return errInvalid
		}
		res, err := replay.Sweep(ctx, sweeps, points, opts)
		if err != nil {
			return err
		}
		if err := table(res.WriteTable); err != nil {
			return err
		}
		return writeJSON(res)
	}

	rep, err := replay.Replay(ctx, opts)
	if err != nil {
		return err
	}
	if err := outputs(rep); err != nil {
		return err
	}
	if *record != "" {
		return writeFile(*record, stdout, rep.WriteNoneSignals)
	}
	return nil
}
