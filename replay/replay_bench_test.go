package replay

import (
	"context"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

func BenchmarkReplayExample(b *testing.B) {
	cfg, err := config.LoadFile("../config.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Replay(context.Background(), ReplayOptions{Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
}

// timeReplay replays o and returns the wall time it took.
func timeReplay(b *testing.B, o ReplayOptions) time.Duration {
	b.Helper()
	start := time.Now()
	if _, err := Replay(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkReplay100 replays testdata/replay.100.yaml, a week of one-minute
// steps for 100 services, through none, reactive, predictive and plan: what
//
//	presage replay -config testdata/replay.100.yaml
//
// does. Besides the time of a replay it reports, measured in the same run
// so that the figure does not depend on the machine, x-none: the replay's
// time over that of the same services under policy none alone (the
// simulation, with nothing forecast or decided).
//
//	go test ./sim -run '^$' -bench Replay100 -benchtime 1x
func BenchmarkReplay100(b *testing.B) {
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var full, none time.Duration
	for b.Loop() {
		full += timeReplay(b, ReplayOptions{Config: cfg})
		b.StopTimer()
		none += timeReplay(b, ReplayOptions{Config: cfg, Policies: []policy.Mode{policy.None}})
		b.StartTimer()
	}
	b.ReportMetric(full.Seconds()/float64(b.N), "s/replay")
	b.ReportMetric(float64(full)/float64(none), "x-none")
}

// BenchmarkReplay100Plan replays the 100 services' week through none,
// reactive and plan, and reports x-predictive: its time over that of the
// same replay with predictive in place of plan, measured in the same run.
//
//	go test ./replay -run '^$' -bench Replay100Plan -benchtime 1x
func BenchmarkReplay100Plan(b *testing.B) {
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var plan, pred time.Duration
	for b.Loop() {
		plan += timeReplay(b, ReplayOptions{Config: cfg, Policies: []policy.Mode{policy.None, policy.Reactive, policy.Plan}})
		b.StopTimer()
		pred += timeReplay(b, ReplayOptions{Config: cfg, Policies: []policy.Mode{policy.None, policy.Reactive, policy.Predictive}})
		b.StartTimer()
	}
	b.ReportMetric(plan.Seconds()/float64(b.N), "s/replay")
	b.ReportMetric(float64(plan)/float64(pred), "x-predictive")
}

// BenchmarkReplaySpeedup replays ten services of testdata/replay.100.yaml
// (five of each kind) for a week, as presage does, and as it did before
// the screening of sample paths, the fixed deviations and the parallel
// replay: every path drawn at every step, one service after the other
// (ReplayOptions.FullPaths, Workers 1). It reports speedup, the second
// time over the first, both measured in the same run.
func BenchmarkReplaySpeedup(b *testing.B) {
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Services = cfg.Services[:10]
	var fast, slow time.Duration
	for b.Loop() {
		fast += timeReplay(b, ReplayOptions{Config: cfg})
		b.StopTimer()
		slow += timeReplay(b, ReplayOptions{Config: cfg, FullPaths: true, Workers: 1})
		b.StartTimer()
	}
	b.ReportMetric(float64(slow)/float64(fast), "speedup")
}
