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

const replaySynopsis = "-config FILE [-trace CSV | -signals CSV] [-tz ZONE] [-policies LIST] [-sweep PATH=V1,V2,...]... [-json OUT] [-decisions OUT] [-report OUT.html] [-record CSV]"

const replayDescription = `Replay a load through several policies on the simulated service with a
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
be the file's step. Timestamps without an offset in either file are read
in -tz (an IANA zone, default UTC): a local hour repeated when daylight
saving ends is read in row order, first the earlier then the later, and
one that does not exist moves later by the gap. -record FILE writes the 'none' run's signals in that
format, so a simulated replay can be replayed as a recording.

-sweep PATH=V1,V2,... (repeatable: the grid is the product) sets a
configuration field, by its YAML path, to each value in turn, replays each
point and prints incidents against cost, marking the Pareto front. A path
is keys joined by dots with list indexes, [*] for every element
(services[0].forecast.trigger, services[*].playbook[1].warmup); a path
that does not start with global, source or services applies to every
service (forecast.trigger). Each point is validated as 'presage check'
would; an error names the point and the path. With -sweep, -policies
defaults to reactive,predictive,plan.`

// replayFlags are replay's flags.
type replayFlags struct {
	path, tracePath, signalsPath, policies *string
	jsonOut, decisions, report, record     *string
	withSchedules, perfect                 *bool
	sweeps                                 sweepFlags
	tz                                     *zoneFlag
}

func addReplayFlags(fs *flag.FlagSet) *replayFlags {
	f := &replayFlags{
		path:          fs.String("config", "", "configuration `file`"),
		tracePath:     fs.String("trace", "", "CSV `file` of timestamp,value driving every service instead of its own load (scaled so that its sim.load.peak_quantile is sim.load.peak × the service's capacity)"),
		signalsPath:   fs.String("signals", "", "CSV `file` of recorded signals (the format of presage export) to replay with nothing able to react"),
		policies:      fs.String("policies", "none,reactive,predictive,plan", "comma-separated `list` of policies to compare: none, reactive, predictive (the rule: thresholds on the risk, one action at a time), plan (the actions of least expected cost: incident_cost against cost_per_minute), static, clairvoyant (predictive with a perfect forecast of the load: what a better forecast could buy), oracle (hindsight: the fewest breach minutes and incidents, then the least cost, that decisions knowing the whole load and the plant's noise reach)"),
		jsonOut:       fs.String("json", "", "write the results as JSON to `file` (- for stdout)"),
		decisions:     fs.String("decisions", "", "write the decision log (one line per action) to `file`"),
		report:        fs.String("report", "", "write a self-contained HTML report with charts to `file`"),
		record:        fs.String("record", "", "write the 'none' run's signals to `file` as presage export does (for -signals)"),
		perfect:       fs.Bool("perfect-forecast", false, "every policy that forecasts (predictive, plan) forecasts the load ahead exactly, as clairvoyant does for predictive: what a perfect forecast buys each (the decisions are then the only difference from oracle)"),
		withSchedules: fs.Bool("schedules", true, "honour the configuration's schedules (prewarm, freeze, event); -schedules=false replays without them, for comparison"),
	}
	f.tz = addZoneFlag(fs, "-trace and -signals")
	fs.Var(&f.sweeps, "sweep", "`path=v1,v2,...`: replay each value of a configuration field (repeatable: the grid is the product)")
	return f
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", replaySynopsis, replayDescription, stderr)
	f := addReplayFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	modes, err := f.check(fs, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*f.path, stderr)
	if err != nil {
		return err
	}
	if !*f.withSchedules {
		cfg.Schedules = nil
	}
	out := replayOutputs{f: f, stdout: stdout}
	tracePath, signalsPath := f.tracePath, f.signalsPath
	if *signalsPath != "" {
		rec, err := f.tz.options().ReadSignals(*signalsPath)
		if err != nil {
			return err
		}
		return replaySignals(ctx, replay.SignalsOptions{Config: cfg, Recording: rec, Detail: *f.report != "", Policy: modes[0]}, *signalsPath, out)
	}

	var tr *metrics.Grid
	if *tracePath != "" {
		if tr, err = f.tz.options().ReadTrace(*tracePath); err != nil {
			return err
		}
	}
	opts := replay.ReplayOptions{Config: cfg, Trace: tr, Policies: modes, Detail: *f.report != "", PerfectForecast: *f.perfect}
	if len(f.sweeps) > 0 {
		return replaySweep(ctx, opts, *f.path, f.sweeps, out, stderr)
	}
	rep, err := replay.Replay(ctx, opts)
	if err != nil {
		return err
	}
	return untilDone(ctx, func() error {
		if err := out.write(rep); err != nil {
			return err
		}
		if *f.record != "" {
			return writeFile(*f.record, stdout, rep.WriteNoneSignals)
		}
		return nil
	})
}

// check rejects the flags that exclude each other (a usage error) and
// returns the policies to compare: -policies, whose default is
// reactive,predictive,plan with -sweep and predictive with -signals.
func (f *replayFlags) check(fs *flag.FlagSet, stderr io.Writer) ([]policy.Mode, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, format+"\n", a...)
		return errUsage
	}
	sweeps, signals, record := len(f.sweeps) > 0, *f.signalsPath != "", *f.record != ""
	switch {
	case *f.tracePath != "" && signals:
		return nil, usageErr("-trace and -signals exclude each other: a recording brings its own load")
	case signals && sweeps:
		return nil, usageErr("-sweep replays the simulated services; it does not apply to -signals")
	case signals && record:
		return nil, usageErr("-record writes a simulated run's signals; with -signals they are already recorded")
	case signals && set["policies"] && *f.policies != "predictive" && *f.policies != "plan":
		return nil, usageErr("-policies: a recording is replayed through one policy that forecasts: predictive (the default with -signals) or plan")
	case sweeps && (*f.report != "" || *f.decisions != "" || record):
		return nil, usageErr("-report, -decisions and -record describe one replay; with -sweep use -json")
	}
	polList := *f.policies
	switch {
	case sweeps && !set["policies"]:
		polList = "reactive,predictive,plan"
	case signals && !set["policies"]:
		polList = "predictive"
	}
	var modes []policy.Mode
	for _, name := range strings.Split(polList, ",") {
		m, err := policy.ParseMode(strings.TrimSpace(name))
		if err != nil {
			return nil, usageErr("-policies: %v", err)
		}
		modes = append(modes, m)
	}
	return modes, nil
}

// replaySignals replays a recording (read from the file path) and writes
// the outputs.
func replaySignals(ctx context.Context, o replay.SignalsOptions, path string, out replayOutputs) error {
	rep, err := replay.ReplaySignals(ctx, o)
	if err != nil {
		if errors.Is(err, replay.ErrIntervalMismatch) {
			return fmt.Errorf("%s: %w", path, err)
		}
		return err
	}
	return untilDone(ctx, func() error { return out.write(rep) })
}

// untilDone runs write, the writing of a replay's outputs, and returns its
// error, or ctx's as soon as ctx is done: encoding the JSON of a long
// replay of dense schedules takes seconds and does not look at ctx, and a
// replay stops within a second of a signal. The write then goes on until
// the process exits; a file it was writing is left as it was (every output
// file is written to a temporary file renamed into place, which may be
// left behind, hidden, next to it).
func untilDone(ctx context.Context, write func() error) error {
	done := make(chan error, 1)
	go func() { done <- write() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // finished as the signal came
			return err
		default:
			return ctx.Err()
		}
	}
}

// replaySweep replays every point of the grid of sweeps over the
// configuration file path, with the options o, and writes the table and
// -json. A point that is not a valid configuration is reported as
// 'presage check' reports a file (exit 1).
func replaySweep(ctx context.Context, o replay.ReplayOptions, path string, sweeps []replay.SweepParam, out replayOutputs, stderr io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	points, err := replay.SweepConfigs(data, path, sweeps)
	if err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, e)
		}
		return errInvalid
	}
	res, err := replay.Sweep(ctx, sweeps, points, o)
	if err != nil {
		return err
	}
	if err := out.table(res.WriteTable); err != nil {
		return err
	}
	return out.json(res)
}

// replayOutputs writes a replay's outputs where the flags say.
type replayOutputs struct {
	f      *replayFlags
	stdout io.Writer
}

// table writes the table to stdout, unless -json does.
func (o replayOutputs) table(fn func(io.Writer) error) error {
	if *o.f.jsonOut == "-" {
		return nil
	}
	return fn(o.stdout)
}

// json writes v as JSON to the -json file, if any.
func (o replayOutputs) json(v any) error {
	if *o.f.jsonOut == "" {
		return nil
	}
	return writeFile(*o.f.jsonOut, o.stdout, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// write writes what every kind of replay report gives: the table, -json,
// -decisions and -report.
func (o replayOutputs) write(rep replay.Result) error {
	if err := o.table(rep.WriteTable); err != nil {
		return err
	}
	if err := o.json(rep); err != nil {
		return err
	}
	if *o.f.decisions != "" {
		if err := writeFile(*o.f.decisions, o.stdout, rep.WriteDecisions); err != nil {
			return err
		}
	}
	if *o.f.report != "" {
		return writeFile(*o.f.report, o.stdout, rep.WriteHTML)
	}
	return nil
}
