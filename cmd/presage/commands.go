package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
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
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
	fmt.Fprintf(w, "%d problem(s)\n", len(errs))
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

// loopFlags are the flags run and recommend share.
type loopFlags struct {
	config     *string
	logLevel   *string
	speed      *float64
	listen     *string
	kubeconfig *string
}

func addLoopFlags(fs interface {
	String(string, string, string) *string
	Float64(string, float64, string) *float64
}) loopFlags {
	return loopFlags{
		config:     fs.String("config", "", "configuration `file` (see config.example.yaml)"),
		logLevel:   fs.String("log-level", "info", "log `level`: debug, info, warn or error"),
		speed:      fs.Float64("speed", 1, "with source kind sim, run the simulated clock this many `times` faster than real time"),
		listen:     fs.String("listen", "", "`address` of /metrics, /healthz and /readyz (default: global.listen; set global.listen to \"\" to turn the server off)"),
		kubeconfig: fs.String("kubeconfig", "", "kubeconfig `file` for the Kubernetes API (kube actions, leader election); default: kubernetes.kubeconfig, else the in-cluster config"),
	}
}

// loop wires and runs the control loop until ctx ends. act builds the
// actuators of the playbook actions that are not simulator knobs; dry makes
// every action a recorder instead (recommend).
func loop(ctx context.Context, f loopFlags, stderr io.Writer, mode policy.Mode, dry *actuators.Recorder, onDecision func(controller.Record)) error {
	cfg, err := loadConfig(*f.config, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, *f.logLevel)
	if err != nil {
		return err
	}
	if *f.speed <= 0 {
		return fmt.Errorf("-speed must be > 0, got %g", *f.speed)
	}
	if *f.speed != 1 && cfg.Source.Kind != config.SourceSim {
		return errors.New("-speed needs source kind sim: a real source runs in real time")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// other builds the actuators of the actions that are neither
	// simulator knobs nor recorded: webhooks and Kubernetes changes (one
	// client for all, made on first use; read-only in a dry run).
	kc := &kubeClients{flag: *f.kubeconfig, cfg: cfg, reg: reg, log: log, readOnly: dry != nil}
	other := func(service string, a config.Action) (actuators.Actuator, error) {
		if a.Actuator.Kind == config.ActuatorKube {
			return kc.actuator(service, a)
		}
		return webhook.New(a.Actuator.Webhook, log.With("service", service, "action", a.Name))
	}
	var src metrics.Source
	var acts map[string][]actuators.Actuator
	var unreadyAfter time.Duration // 0: three intervals
	switch cfg.Source.Kind {
	case config.SourceSim:
		loads, err := sim.Loads(cfg, nil)
		if err != nil {
			return err
		}
		s, a, err := sim.Build(cfg, loads, other)
		if err != nil {
			return err
		}
		// A live demo plays the loads from their start, looping, and keeps
		// a day of simulator history.
		s.SetOptions(sim.SourceOptions{Align: true, Loop: true, MaxHistory: int(24 * time.Hour / time.Duration(cfg.Global.Interval))})
		src, acts = s, a
	case config.SourcePrometheus:
		p, err := promSource(cfg, reg, log)
		if err != nil {
			return err
		}
		a, err := promActuators(cfg, dry != nil, other)
		if err != nil {
			return err
		}
		src, acts = p, a
		unreadyAfter = time.Duration(cfg.Source.Prometheus.UnreadyAfter)
	default:
		return fmt.Errorf("unknown source kind %q", cfg.Source.Kind)
	}

	// A dry run starts from nothing engaged and neither reads nor writes
	// the state file; both start from what the targets record of changes
	// an earlier presage made (controller.Reconcile only reads them).
	var state map[string]policy.State
	if dry == nil {
		if state, err = loadState(cfg.Global.StateFile); err != nil {
			return err
		}
	}
	if kc.used() {
		state = controller.Reconcile(ctx, cfg, acts, state, time.Now(), log)
	}
	// With leader election every actuator applies only while this replica
	// leads (recommend never campaigns: a Lease is a write).
	elector, err := leaderElector(*f.kubeconfig, cfg, dry != nil, log, reg)
	if err != nil {
		return err
	}
	if elector != nil {
		acts = gateActuators(elector, acts)
	}
	if dry != nil {
		acts = dryActuators(cfg, dry, acts)
	}
	opts := controller.Options{
		Config: cfg, Source: src, Actuators: acts, Mode: mode, Logger: log, Registerer: reg,
		Speed: *f.speed, State: state, OnDecision: onDecision,
	}
	if cfg.Global.StateFile != "" && dry == nil {
		opts.OnStateChange = func(st map[string]policy.State) error {
			if elector != nil && !elector.Leading() {
				return nil // a follower replaced nothing
			}
			return saveState(cfg.Global.StateFile, st)
		}
	}
	ctl, err := controller.New(opts)
	if err != nil {
		return err
	}
	if elector != nil {
		// On gaining the Lease the policy state becomes what the targets
		// record: the previous leader's changes, not this replica's
		// follower decisions.
		elector.OnTakeOver(ctl.RequestReconcile)
	}

	listen := cfg.Global.Listen
	if *f.listen != "" {
		listen = *f.listen
	}
	errc := make(chan error, 1)
	var srv *http.Server
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		srv = &http.Server{Handler: ctl.Handler(reg, unreadyAfter), ReadHeaderTimeout: 10 * time.Second}
		log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	log.Info("presage started", "mode", mode, "services", len(cfg.Services), "interval", time.Duration(cfg.Global.Interval), "speed", *f.speed, "dry_run", dry != nil, "leader_election", elector != nil)
	if elector != nil {
		// The Lease is released only after the loop has stopped: nothing
		// applies once another replica may lead.
		leCtx, stopLE := context.WithCancel(context.WithoutCancel(ctx))
		leDone := make(chan struct{})
		go func() {
			defer close(leDone)
			if err := elector.Run(leCtx); err != nil {
				log.Error("leader election failed", "err", err)
			}
		}()
		defer func() { stopLE(); <-leDone }()
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runErr := make(chan error, 1)
	go func() { runErr <- ctl.Run(runCtx) }()
	select {
	case err = <-runErr:
	case err = <-errc:
		stopRun()
		<-runErr
	}
	if srv != nil {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}
	log.Info("presage stopped")
	return err
}

// dryActuators replaces every actuator with the recorder, bound to each
// knob; the current value is read from the real target where its actuator
// can read (reading changes nothing), else it is what the recorder last
// recorded or the configured baseline.
func dryActuators(cfg *config.Config, rec *actuators.Recorder, real map[string][]actuators.Actuator) map[string][]actuators.Actuator {
	out := make(map[string][]actuators.Actuator, len(real))
	for _, s := range cfg.Services {
		for i, a := range s.Playbook {
			rec.SetBaseline(s.Name, a.Name, a.BaselineValue())
			out[s.Name] = append(out[s.Name], rec.Knob(s.Name, a.Name, real[s.Name][i]))
		}
	}
	return out
}

func runRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "-config FILE [flags]", `Run the control loop: every interval, read the signals, forecast them, decide
and act through the configured actuators. With source kind sim (the example
config) it drives the built-in simulated services in real time; -speed runs
their clock faster. Logs one line per decision that changes something.
SIGINT or SIGTERM stops it cleanly.`, stderr)
	f := addLoopFlags(fs)
	policyName := fs.String("policy", "predictive", "policy `mode`: predictive, reactive or none")
	if err := parse(fs, args); err != nil {
		return err
	}
	mode, err := policy.ParseMode(*policyName)
	if err == nil && mode == policy.Clairvoyant {
		err = errors.New("clairvoyant needs the load ahead, which only presage replay has")
	}
	if err != nil {
		fmt.Fprintf(stderr, "-policy: %v\n", err)
		return errUsage
	}
	return loop(ctx, f, stderr, mode, nil, nil)
}

func runRecommend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recommend", "-config FILE [-json] [flags]", `Run the same control loop in dry-run: each recommendation (service, action,
reason, risk, time to breach) is printed, served as metrics and never
applied; the policy goes on as if it had been. Each service's schedule
windows (active and next: name, kind, start, end) are printed at the start
and whenever they change. SIGINT or SIGTERM stops it.`, stderr)
	f := addLoopFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	p := &recommendPrinter{w: stdout, json: *asJSON}
	return loop(ctx, f, stderr, policy.Predictive, actuators.NewRecorder(nil), p.print)
}

type recommendPrinter struct {
	w       io.Writer
	json    bool
	header  bool
	windows map[string]string // by service: the windows last printed
}

// windowLine is one schedule window in recommend's output.
type windowLine struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	State string    `json:"state"` // active or next
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// windowsLine is recommend's JSON line for a service's schedule windows,
// printed at the first step and whenever they change.
type windowsLine struct {
	Time    time.Time    `json:"time"`
	Service string       `json:"service"`
	Windows []windowLine `json:"windows"`
}

// printWindows prints the service's active and next schedule windows when
// they differ from those last printed.
func (p *recommendPrinter) printWindows(r controller.Record) {
	var ws []windowLine
	for _, w := range r.Windows {
		ws = append(ws, windowLine{w.Name, string(w.Kind), controller.WindowActive, w.Start.UTC(), w.End.UTC()})
	}
	for _, w := range r.NextWindows {
		ws = append(ws, windowLine{w.Name, string(w.Kind), controller.WindowNext, w.Start.UTC(), w.End.UTC()})
	}
	if len(ws) == 0 {
		return
	}
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s %s (%s) %s → %s; ", w.State, w.Name, w.Kind, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	sig := strings.TrimSuffix(b.String(), "; ")
	if p.windows == nil {
		p.windows = map[string]string{}
	}
	if p.windows[r.Service] == sig {
		return
	}
	p.windows[r.Service] = sig
	if p.json {
		out, _ := json.Marshal(windowsLine{Time: r.Time.UTC(), Service: r.Service, Windows: ws})
		fmt.Fprintln(p.w, string(out))
		return
	}
	fmt.Fprintf(p.w, "%-20s  %-16s  windows: %s\n", r.Time.UTC().Format(time.RFC3339), r.Service, sig)
}

// recommendation is one line of recommend's JSON output.
type recommendation struct {
	Time                time.Time `json:"time"`
	Service             string    `json:"service"`
	Action              string    `json:"action"`
	Op                  string    `json:"op"`
	From                float64   `json:"from"`
	To                  float64   `json:"to"`
	Reason              string    `json:"reason"`
	Message             string    `json:"message"`
	Risk                float64   `json:"risk"`
	TimeToBreachSeconds *float64  `json:"time_to_breach_seconds"`
	Level               int       `json:"level"`
}

// print writes each decision that recommends a change.
func (p *recommendPrinter) print(r controller.Record) {
	p.printWindows(r)
	a := r.Action
	if a == nil {
		return
	}
	out := recommendation{Time: r.Time.UTC(), Service: r.Service, Action: a.Action, Op: string(a.Op), From: a.From, To: a.To,
		Reason: string(r.Reason), Message: r.Message, Risk: r.Risk, Level: r.Level}
	ttb := "-"
	if r.TimeToBreach >= 0 {
		s := r.TimeToBreach.Seconds()
		out.TimeToBreachSeconds = &s
		ttb = r.TimeToBreach.String()
	}
	if p.json {
		b, _ := json.Marshal(out)
		fmt.Fprintln(p.w, string(b))
		return
	}
	// Fixed widths: rows come one at a time, as the loop decides.
	const row = "%-20s  %-16s  %-16s  %-6s  %6s  %6s  %-17s  %5s  %s\n"
	if !p.header {
		fmt.Fprintf(p.w, row, "TIME", "SERVICE", "ACTION", "OP", "FROM", "TO", "REASON", "RISK", "TIME TO BREACH")
		p.header = true
	}
	fmt.Fprintf(p.w, row, out.Time.Format(time.RFC3339), out.Service, out.Action, out.Op, fmt.Sprint(out.From), fmt.Sprint(out.To),
		out.Reason, fmt.Sprintf("%.2f", out.Risk), ttb)
}

// writeFile writes through fn to path ("-" is stdout) atomically: a
// temporary file renamed into place, so a failed write loses nothing.
func writeFile(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
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
