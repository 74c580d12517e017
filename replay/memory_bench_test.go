package replay

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// BenchmarkMemoryPerService steps one controller over the first 50
// services of testdata/replay.100.yaml (the example's two shapes, 25 of
// each) for two weeks of one-minute steps at the default week of history,
// under plan (which learns a breach level per set of actions: the most it
// keeps) and predictive, with presage's own metrics registered as presage
// run registers them, and reports the controller's live heap per service
// after a full GC: bytes/service at two weeks, bytes/service-1w at one
// week (the two agree when the memory is flat once the history is full).
// The simulator's own memory (plants, loads, one record per service) is
// measured before the controller is built and taken off.
//
//	go test ./replay -run '^$' -bench MemoryPerService -benchtime 1x
func BenchmarkMemoryPerService(b *testing.B) {
	for _, mode := range []policy.Mode{policy.Plan, policy.Predictive} {
		b.Run(mode.String(), func(b *testing.B) {
			for b.Loop() {
				week1, week2 := memoryPerService(b, mode, 50)
				b.ReportMetric(week2, "bytes/service")
				b.ReportMetric(week1, "bytes/service-1w")
			}
		})
	}
}

// memoryPerService returns the controller's live heap per service after
// one and two weeks of steps of n services under mode.
func memoryPerService(b *testing.B, mode policy.Mode, n int) (week1, week2 float64) {
	b.Helper()
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Services = cfg.Services[:n]
	for i := range cfg.Services {
		cfg.Services[i].Sim.Load.Duration = config.Duration(14 * 24 * time.Hour)
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
	var priors map[string]controller.Prior
	if mode == policy.Plan {
		priors = make(map[string]controller.Prior, n)
		for _, s := range cfg.Services {
			priors[s.Name] = sim.Prior(s)
		}
	}
	start, _ := span(loads)
	interval := time.Duration(cfg.Global.Interval)
	steps := int(14 * 24 * time.Hour / interval)
	base := liveHeap()
	ctl, err := controller.New(controller.Options{Config: cfg, Source: src, Actuators: acts, Mode: mode, Priors: priors,
		Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range steps {
		if err := ctl.Step(ctx, start.Add(time.Duration(i)*interval)); err != nil {
			b.Fatal(err)
		}
		if i+1 == steps/2 {
			week1 = float64(liveHeap()-base) / float64(n)
		}
	}
	week2 = float64(liveHeap()-base) / float64(n)
	runtime.KeepAlive(ctl)
	return week1, week2
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
