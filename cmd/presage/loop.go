package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	oklog "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/controller/leader"
	"github.com/presage-dev/presage/controller/shard"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
	"github.com/presage-dev/presage/ui"
)

func runRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "-config FILE [flags]", `Run the control loop: every interval, read the signals, forecast them, decide
and act through the configured actuators. With source kind sim (the example
config) it drives the built-in simulated services in real time; -speed runs
their clock faster. Logs one line per decision that changes something.
SIGINT or SIGTERM stops it cleanly.`, stderr)
	f := addLoopFlags(fs)
	policyName := fs.String("policy", "plan", "policy `mode`: plan (the set of actions of least expected cost: incident_cost against the actions' cost_per_minute), predictive (the rule: thresholds on the breach risk, one action at a time), reactive or none")
	f.stateReset = fs.Bool("state-reset", false, "start with nothing engaged on purpose: do not read global.state_file (kept aside as FILE.reset) and start a new one")
	if err := parse(fs, args); err != nil {
		return err
	}
	mode, err := policy.ParseMode(*policyName)
	if err == nil && mode.ReplayOnly() {
		err = fmt.Errorf("%s needs the load ahead, which only presage replay has", mode)
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
	policyName := fs.String("policy", "plan", "policy `mode` whose recommendations to print: plan, predictive or reactive")
	if err := parse(fs, args); err != nil {
		return err
	}
	mode, err := policy.ParseMode(*policyName)
	if err == nil && (mode.ReplayOnly() || mode == policy.None || mode == policy.Static) {
		err = fmt.Errorf("recommend prints what plan, predictive or reactive would do, not %s", mode)
	}
	if err != nil {
		fmt.Fprintf(stderr, "-policy: %v\n", err)
		return errUsage
	}
	p := &recommendPrinter{w: stdout, json: *asJSON}
	return loop(ctx, f, stderr, mode, actuators.NewRecorder(nil), p.print)
}

// loopFlags are the flags run and recommend share.
type loopFlags struct {
	config     *string
	logLevel   *string
	speed      *float64
	listen     *string
	kubeconfig *string
	// verboseReady makes /readyz say why it is not ready.
	verboseReady *bool
	webUI        *bool // -web.ui: serve the live page under /ui
	stateReset   *bool // run only: -state-reset
}

func addLoopFlags(fs interface {
	String(string, string, string) *string
	Float64(string, float64, string) *float64
	Bool(string, bool, string) *bool
}) loopFlags {
	return loopFlags{
		config:       fs.String("config", "", "configuration `file` (see config.example.yaml)"),
		logLevel:     fs.String("log-level", "info", "log `level`: debug, info, warn or error"),
		speed:        fs.Float64("speed", 1, "with source kind sim, run the simulated clock this many `times` faster than real time"),
		listen:       fs.String("listen", "", "`address` of /metrics, /healthz, /readyz and the live page /ui (default: global.listen; set global.listen to \"\" to turn the server off)"),
		kubeconfig:   fs.String("kubeconfig", "", "kubeconfig `file` for the Kubernetes API (kube actions, leader election); default: kubernetes.kubeconfig, else the in-cluster config"),
		webUI:        fs.Bool("web.ui", true, "serve the live page under /ui on the same address as /metrics: an overview of every service and a page per service (load and forecast band, capacities, latency against the threshold, engaged actions, schedule windows, decisions, the planner's sets); read-only, embedded in the binary, no configuration shown; -web.ui=false turns it off (404)"),
		verboseReady: fs.Bool("web.verbose-ready", false, "make /readyz say why it is not ready (the source never read, or unreachable since when, and the kind of the last failure: timeout, connection, HTTP status); by default it says only \"ready\" or \"not ready\", since anyone who reaches the port can read it"),
	}
}

// loop wires the control loop of run and recommend and runs it until ctx
// ends (SIGINT or SIGTERM). dry, when set, makes every action a recorder
// (recommend); onDecision, when set, receives every decision.
func loop(ctx context.Context, f loopFlags, stderr io.Writer, mode policy.Mode, dry *actuators.Recorder, onDecision func(controller.Record)) error {
	if mode.ReplayOnly() {
		// run refuses them at its flag; recommend runs predictive.
		return fmt.Errorf("%s needs the load ahead, which only presage replay has", mode)
	}
	cfg, log, err := loopSetup(f, stderr)
	if err != nil {
		return err
	}
	w, err := wire(ctx, cfg, log, f, mode, dry, onDecision)
	if err != nil {
		return err
	}
	listen := listenAddr(cfg, f)
	var ln net.Listener
	if listen != "" {
		if ln, err = net.Listen("tcp", listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	// The shutdown order is the order of the actors: the loop stops first,
	// so nothing more is applied; then the server; the Lease goes last,
	// so that no other replica leads while this one may still apply.
	var g oklog.Group
	addContext(&g, ctx)
	addActor(&g, ctx, w.ctl.Run)
	if w.warmups != nil {
		addActor(&g, ctx, w.warmups)
	}
	if ln != nil {
		log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String())
		h := w.ctl.Handler(w.reg, w.unreadyAfter, *f.verboseReady)
		if w.shard != nil {
			h = shardHandler(h, w.shard)
		}
		if *f.webUI {
			h = withUI(h, ui.Handler(w.ctl, ui.Options{Logger: log}))
			log.Info("serving the live page", "url", "http://"+ln.Addr().String()+"/ui")
		}
		addServer(&g, ctx, ln, h)
	}
	if w.elector != nil {
		addElector(&g, ctx, w.elector, log)
	}
	if w.shard != nil {
		// Last, as the Elector: the member Lease goes once nothing applies.
		addActor(&g, context.WithoutCancel(ctx), w.shard.Run)
	}
	log.Info("presage started", "mode", mode, "services", len(cfg.Services), "interval", time.Duration(cfg.Global.Interval), "speed", *f.speed, "dry_run", dry != nil, "leader_election", w.elector != nil, "sharded", w.shard != nil)
	err = g.Run()
	log.Info("presage stopped")
	return err
}

// listenAddr returns the address of presage's own server: -listen, else
// global.listen ("": no server).
func listenAddr(cfg *config.Config, f loopFlags) string {
	if *f.listen != "" {
		return *f.listen
	}
	return cfg.Global.Listen
}

// withUI serves the live page's paths (/ui and below) from page, the
// others from h.
func withUI(h, page http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ui", page)
	mux.Handle("/ui/", page)
	mux.Handle("/", h)
	return mux
}

// loopSetup loads the configuration and makes the logger of run and
// recommend, and checks -speed against the source.
func loopSetup(f loopFlags, stderr io.Writer) (*config.Config, *slog.Logger, error) {
	cfg, err := loadConfig(*f.config, stderr)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(stderr, *f.logLevel)
	if err != nil {
		return nil, nil, err
	}
	if *f.speed <= 0 {
		return nil, nil, fmt.Errorf("-speed must be > 0, got %g", *f.speed)
	}
	if *f.speed != 1 && cfg.Source.Kind != config.SourceSim {
		return nil, nil, errors.New("-speed needs source kind sim: a real source runs in real time")
	}
	return cfg, log, nil
}

// wired is what wire builds for loop to run.
type wired struct {
	ctl     *controller.Controller
	elector *leader.Elector   // nil without leader election
	shard   *shard.Membership // nil unless sharded (replicas > 1)
	// warmups measures the kube scale-ups' warm-ups (nil without kube
	// actions, and in a dry run, which scales nothing).
	warmups      func(context.Context) error
	reg          *prometheus.Registry
	unreadyAfter time.Duration // of /readyz; 0: three intervals
}

// wire builds the controller of run and recommend: its source, its
// actuators (gated by leader election; recorders in a dry run), the
// state it starts from and the state file it keeps.
func wire(ctx context.Context, cfg *config.Config, log *slog.Logger, f loopFlags, mode policy.Mode, dry *actuators.Recorder, onDecision func(controller.Record)) (wired, error) {
	w := wired{reg: prometheus.NewRegistry()}
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	kc := &kubeClients{flag: *f.kubeconfig, cfg: cfg, reg: w.reg, log: log, readOnly: dry != nil}
	src, acts, unreadyAfter, err := loopSource(cfg, w.reg, log, kc, dry != nil)
	if err != nil {
		return w, err
	}
	w.unreadyAfter = unreadyAfter
	// A dry run starts from nothing engaged and neither reads nor writes
	// the state file; both start from what the targets record of changes
	// an earlier presage made (controller.Reconcile only reads them).
	var loaded controller.LoadedState
	if dry == nil {
		if loaded, err = loadState(cfg.Global.StateFile, cfg, f.stateReset != nil && *f.stateReset, log); err != nil {
			return w, err
		}
	}
	state := loaded.State
	if kc.used() {
		state = controller.Reconcile(ctx, cfg, acts, state, time.Now(), log)
		if dry == nil {
			w.warmups = kc.client.WatchWarmups
		}
	}
	// With leader election every actuator applies only while this replica
	// leads (recommend never campaigns: a Lease is a write).
	if w.elector, err = leaderElector(*f.kubeconfig, cfg, dry != nil, log, w.reg); err != nil {
		return w, err
	}
	if w.elector != nil {
		acts = gateActuators(w.elector, acts)
	}
	// Sharded, every actuator applies only while this replica owns its
	// service, and the controller steps only the services it owns.
	if w.shard, err = shardMembership(*f.kubeconfig, cfg, dry != nil, log, w.reg); err != nil {
		return w, err
	}
	if w.shard != nil {
		acts = gateShard(w.shard, acts)
	}
	if dry != nil {
		acts = dryActuators(cfg, dry, acts)
	}
	opts := controller.Options{
		Config: cfg, Source: src, Actuators: acts, Mode: mode, Logger: log, Registerer: w.reg,
		Speed: *f.speed, State: state, StateRejected: loaded.Rejected, OnDecision: onDecision,
		View: *f.webUI && listenAddr(cfg, f) != "", // the live page will read it
	}
	if w.shard != nil {
		opts.Owner = w.shard
	}
	if cfg.Global.StateFile != "" && dry == nil {
		opts.OnStateChange = func(st map[string]policy.State) error {
			if w.elector != nil && !w.elector.Leading() {
				return nil // a follower replaced nothing
			}
			return controller.SaveState(cfg.Global.StateFile, cfg, st)
		}
	}
	if w.ctl, err = controller.New(opts); err != nil {
		return w, err
	}
	if w.elector != nil {
		// On gaining the Lease the policy state becomes what the targets
		// record: the previous leader's changes, not this replica's
		// follower decisions.
		w.elector.OnTakeOver(w.ctl.RequestReconcile)
	}
	return w, nil
}

// loadState loads the state file run starts from, at the wall-clock now;
// with reset (-state-reset) it reads nothing and moves the file aside to
// path.reset, so that the next start without the flag starts afresh too.
func loadState(path string, cfg *config.Config, reset bool, log *slog.Logger) (controller.LoadedState, error) {
	if !reset {
		return controller.LoadState(path, cfg, time.Now(), log)
	}
	if path == "" {
		log.Warn("-state-reset: no global.state_file: starting with nothing engaged")
		return controller.LoadedState{}, nil
	}
	switch err := os.Rename(path, path+".reset"); {
	case errors.Is(err, os.ErrNotExist):
		log.Warn("-state-reset: starting with nothing engaged; there was no state file", "file", path)
	case err != nil:
		return controller.LoadedState{}, fmt.Errorf("-state-reset: %w", err)
	default:
		log.Warn("-state-reset: starting with nothing engaged on purpose; the state file is not read and is kept aside",
			"file", path, "kept_as", path+".reset")
	}
	return controller.LoadedState{}, nil
}

// loopSource builds the source of the signals and the playbook actuators:
// the simulated services, or Prometheus. kc builds the Kubernetes
// actuators (read-only in a dry run); the others are webhooks.
func loopSource(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, kc *kubeClients, dry bool) (metrics.Source, map[string][]actuators.Actuator, time.Duration, error) {
	// other builds the actuators of the actions that are neither
	// simulator knobs nor recorded: webhooks and Kubernetes changes (one
	// client for all, made on first use; read-only in a dry run).
	other := func(service string, a config.Action) (actuators.Actuator, error) {
		if a.Actuator.Kind == config.ActuatorKube {
			return kc.actuator(service, a)
		}
		w, err := webhook.New(a.Actuator.Webhook, log.With("service", service, "action", a.Name))
		if err != nil {
			return nil, err
		}
		return w.Actuator(service, a.Name), nil
	}
	switch cfg.Source.Kind {
	case config.SourceSim:
		loads, err := sim.Loads(cfg, nil)
		if err != nil {
			return nil, nil, 0, err
		}
		s, a, err := sim.Build(cfg, loads, other)
		if err != nil {
			return nil, nil, 0, err
		}
		// A live demo plays the loads from their start, looping, and keeps
		// a day of simulator history.
		s.SetOptions(sim.SourceOptions{Align: true, Loop: true, MaxHistory: int(24 * time.Hour / time.Duration(cfg.Global.Interval))})
		return s, a, 0, nil
	case config.SourcePrometheus:
		p, err := promSource(cfg, reg, log)
		if err != nil {
			return nil, nil, 0, err
		}
		a, err := promActuators(cfg, dry, other)
		if err != nil {
			return nil, nil, 0, err
		}
		return p, a, time.Duration(cfg.Source.Prometheus.UnreadyAfter), nil
	}
	return nil, nil, 0, fmt.Errorf("unknown source kind %q", cfg.Source.Kind)
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
