package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	oklog "github.com/oklog/run"

	"github.com/presage-dev/presage/sim"
)

// runSim dispatches the sim subcommands.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: presage sim <subcommand> [flags]

Subcommands:
  serve      serve the simulated services as a Prometheus target that accepts webhook actions

Run 'presage sim <subcommand> -help' for its flags.
`)
	}
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runSimServe(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "presage sim: unknown subcommand %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func runSimServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("sim serve", "-config FILE [-listen ADDR] [-speed N]", `Run the configuration's simulated services (their sim sections, whatever
the source kind) in real time, or -speed times faster, and serve them as a
Prometheus target: GET /metrics exports, per service, the latency as a
histogram (presage_sim_request_duration_seconds), the requests as a counter
(presage_sim_requests_total), the connection pool in use and its limit as
gauges, the plant's own p99 and its knobs. POST /actions accepts the
webhook actuator's actions and sets the knob of the named service's action
(its actuator.knob for kind sim, else its sim.knobs entry), once per
Idempotency-Key. SIGINT or SIGTERM stops it.`, stderr)
	path := fs.String("config", "", "configuration `file` whose services to simulate")
	listen := fs.String("listen", "127.0.0.1:9798", "`address` of /metrics, /actions and /healthz")
	speed := fs.Float64("speed", 1, "run the simulated clock this many `times` faster than real time (a step every interval/speed)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !(*speed > 0) {
		return fmt.Errorf("-speed must be > 0, got %g", *speed)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	srv, err := sim.NewServer(cfg, sim.ServeOptions{Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Shutdown order: the simulation stops, then the server.
	var g oklog.Group
	addContext(&g, ctx)
	addActor(&g, ctx, func(ctx context.Context) error { return srv.Run(ctx, *speed) })
	addServer(&g, ctx, ln, srv.ServeHandler())
	log.Info("sim serve started", "addr", ln.Addr().String(), "services", len(cfg.Services),
		"interval", time.Duration(cfg.Global.Interval), "speed", *speed)
	err = g.Run()
	log.Info("sim serve stopped")
	return err
}
