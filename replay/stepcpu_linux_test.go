package replay

import (
	"context"
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
// metrics registered) over 200 services of testdata/replay.100.yaml's two
// shapes for three days of one-minute steps, on one goroutine locked to
// its thread, and reports the CPU time of a step per service from the
// thread's own CPU clock: p50 and p99 over the steps, the largest step,
// and p99 over the steps from 50 hours on (warm), in µs per service. The
// services all start with no history, so each fits its first model (a
// cold fit: a fit from no earlier parameters, 15 to 25 ms) within the
// first hour, and its first seasonal one within the hour after two days
// (checkout's daily period is configured, search's is detected); from
// 50 hours on, the refits are warm ones. A step's CPU at n
// services is these times n: with the refits spread over their schedule's
// interval (refitShare), a step refits the same share of the services
// whatever their number. The CPU the garbage collector spends on other
// threads is not counted.
//
//	go test ./replay -run '^$' -bench StepCPU -benchtime 1x
func BenchmarkStepCPU(b *testing.B) {
	const n = 200
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	base := cfg.Services
	cfg.Services = nil
	for i := range n {
		s := base[i%len(base)]
		s.Name = s.Name + "-" + string(rune('a'+i/len(base)))
		cfg.Services = append(cfg.Services, s)
	}
	for b.Loop() {
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
		steps := int(3 * 24 * time.Hour / interval)
		cpu := make([]float64, 0, steps)
		runtime.LockOSThread()
		for i := range steps {
			before := threadCPU(b)
			if err := ctl.Step(context.Background(), start.Add(time.Duration(i)*interval)); err != nil {
				b.Fatal(err)
			}
			cpu = append(cpu, (threadCPU(b)-before).Seconds()*1e6/n)
		}
		runtime.UnlockOSThread()
		warm := slices.Clone(cpu[int((50*time.Hour)/interval):])
		slices.Sort(cpu)
		slices.Sort(warm)
		b.ReportMetric(cpu[len(cpu)/2], "p50-µs/service")
		b.ReportMetric(cpu[len(cpu)*99/100], "p99-µs/service")
		b.ReportMetric(cpu[len(cpu)-1], "max-µs/service")
		b.ReportMetric(warm[len(warm)*99/100], "p99-µs/service-warm")
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
