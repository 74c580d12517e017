package replay

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// BenchmarkStepCPU steps one controller (policy plan, presage's own
// metrics registered) over services of testdata/replay.100.yaml's two
// shapes at one-minute steps, on one goroutine locked to its thread, and
// reports the CPU time of a step from the thread's own clock: p50, p99
// and the largest over the steps, in ms. The services all start with no
// history, so each fits its first model (a cold fit: from no earlier
// parameters, tens of milliseconds) within the first hour, and its first
// seasonal one within the hour after two days (checkout's daily period is
// configured, search's is detected); warm refits follow. Two sizes:
//
//   - 200 services for three days, which hold both, with the p99 from 50
//     hours on (warm) besides. At that size the refits of a step stay
//     within coldFitBudget: these are the costs before the budget, and
//     a step of n services costs about n/200 times as much (the refits
//     are spread over their schedule's interval, refitShare).
//   - 10,000 services for three hours: the first hour's cold fits under
//     coldFitBudget, measured.
//
// The CPU the garbage collector spends on other threads is not counted.
//
//	go test ./replay -run '^$' -bench StepCPU -benchtime 1x -timeout 1h
func BenchmarkStepCPU(b *testing.B) {
	for _, c := range []struct {
		n   int
		run time.Duration
	}{{200, 72 * time.Hour}, {10000, 3 * time.Hour}} {
		b.Run(fmt.Sprintf("%dx%v", c.n, c.run), func(b *testing.B) {
			for b.Loop() {
				stepCPU(b, c.n, c.run)
			}
		})
	}
}

// stepCPU steps n services for run and reports the steps' CPU.
func stepCPU(b *testing.B, n int, run time.Duration) {
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	base := cfg.Services
	cfg.Services = nil
	for i := range n {
		s := base[i%len(base)]
		s.Name = fmt.Sprintf("%s-%d", s.Name, i/len(base))
		cfg.Services = append(cfg.Services, s)
	}
	loads, err := sim.Loads(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	src, acts, err := sim.Build(cfg, loads, nil)
	if err != nil {
		b.Fatal(err)
	}
	src.SetOptions(sim.SourceOptions{MaxHistory: 1, ReuseSnapshot: true})
	priors := make(map[string]controller.Prior, n)
	for _, s := range cfg.Services {
		priors[s.Name] = sim.Prior(s)
	}
	ctl, err := controller.New(controller.Options{Config: cfg, Source: src, Actuators: acts, Mode: policy.Plan,
		Priors: priors, Workers: 1, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	start, _ := span(loads)
	interval := time.Duration(cfg.Global.Interval)
	steps := int(run / interval)
	cpu := make([]float64, 0, steps)
	runtime.LockOSThread()
	for i := range steps {
		before := threadCPU(b)
		if err := ctl.Step(context.Background(), start.Add(time.Duration(i)*interval)); err != nil {
			b.Fatal(err)
		}
		cpu = append(cpu, (threadCPU(b)-before).Seconds()*1e3)
	}
	runtime.UnlockOSThread()
	var warm []float64
	if w := int(50 * time.Hour / interval); w < len(cpu) {
		warm = slices.Clone(cpu[w:])
		slices.Sort(warm)
	}
	slices.Sort(cpu)
	b.ReportMetric(cpu[len(cpu)/2], "p50-ms")
	b.ReportMetric(cpu[len(cpu)*99/100], "p99-ms")
	b.ReportMetric(cpu[len(cpu)-1], "max-ms")
	if warm != nil {
		b.ReportMetric(warm[len(warm)*99/100], "p99-ms-warm")
	}
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
