// Command presage is a predictive autoscaling controller: it forecasts the
// signals that come before a latency incident and acts before it happens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA zones; the binary carries them

	"github.com/presage-dev/presage/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "run the control loop and act (long-running controller)", runRun},
	{"recommend", "run the control loop in dry-run: print recommendations, apply nothing", runRecommend},
	{"replay", "replay a load through the policies on the simulated service, or recorded signals; sweep settings", runReplay},
	{"sim", "simulator tools: 'sim serve' serves the simulated services as a Prometheus target", runSim},
	{"export", "export the configured signals from Prometheus to a CSV that replay reads", runExport},
	{"forecast", "forecast CSV series with prediction intervals, or -eval: score the models on M4 and NASA data", runForecast},
	{"check", "validate a configuration file and report every problem", runCheck},
	{"rbac", "print the least Kubernetes RBAC rules (Roles and RoleBindings) a configuration needs", runRBAC},
	{"version", "print the version", runVersion},
}

// errUsage marks a usage error already reported to the user (exit 2).
var errUsage = errors.New("usage")

// errInvalid marks invalid input already reported to the user (exit 1).
var errInvalid = errors.New("invalid")

func usage(w io.Writer) {
	fmt.Fprintf(w, "presage %s: predictive autoscaling controller\n\nUsage:\n  presage <command> [flags]\n\nCommands:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'presage <command> -help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		// After the first signal, a second one kills at once.
		go func() { <-ctx.Done(); stop() }()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errInvalid):
			return 1
		default:
			fmt.Fprintf(stderr, "presage %s: %v\n", c.name, config.RedactError(err))
			return 1
		}
	}
	fmt.Fprintf(stderr, "presage: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// newFlags returns a FlagSet whose -help prints the command's description
// and flags.
func newFlags(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: presage %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning a parse error into errUsage (the flag
// package has already printed it) and rejecting stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", "Print presage's version.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "presage %s\n", version)
	return nil
}
