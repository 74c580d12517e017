package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats/scalar"

	"github.com/presage-dev/presage/config"
)

// run steps p n times at load with one-minute steps and returns the last
// signals.
func run(p *Plant, load float64, n int) Signals {
	var s Signals
	for range n {
		s = p.Step(load, time.Minute)
	}
	return s
}

func mustSet(t *testing.T, p *Plant, knob string, v float64) {
	t.Helper()
	if err := p.Set(knob, v); err != nil {
		t.Fatal(err)
	}
}

func TestResolvePlant(t *testing.T) {
	got, err := ResolvePlant(config.Plant{})
	if err != nil || got != config.DefaultPlant {
		t.Fatalf("zero Plant resolved to %+v, %v; want config.DefaultPlant", got, err)
	}
	// A partial Plant: invalid zeros take defaults, meaningful zeros stay.
	got, err = ResolvePlant(config.Plant{AppCapacity: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Plant{AppCapacity: 50, DBCapacity: 120, ReplicaCapacity: 60, PoolSize: 50, ServiceTime: 0.05}
	if got != want {
		t.Errorf("partial Plant resolved to %+v, want %+v", got, want)
	}

	bad := config.DefaultPlant
	bad.AppCapacity = -1
	bad.NeighbourCPU = 1
	bad.ReadFraction = 1.5
	bad.QueueFraction = math.NaN()
	bad.Noise = -0.1
	bad.ReplicaWarmup = -1
	_, err = ResolvePlant(bad)
	if err == nil {
		t.Fatal("no error for a bad plant")
	}
	for _, name := range []string{"app_capacity", "neighbour_cpu", "read_fraction", "queue_fraction", "noise", "replica_warmup"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewPlant did not panic on a bad plant")
		}
	}()
	NewPlant(bad, 1)
}

func TestIdleLatencyIsServiceTime(t *testing.T) {
	p := NewPlant(config.Plant{}, 1)
	s := p.Step(0, time.Minute)
	if s.LatencyP99 != config.DefaultPlant.ServiceTime || s.Requests != 0 || s.PoolInUse != 0 || s.PoolLimit != 50 {
		t.Errorf("idle plant: %+v", s)
	}
}

func TestPlantMonotoneInLoad(t *testing.T) {
	prev := Signals{}
	prevGrowth := 0.0
	for load := 0.0; load <= 200; load += 5 {
		// Same seed, same noise draw: the arrivals scale with the load.
		s := run(NewPlant(config.Plant{}, 7), load, 10)
		if s.LatencyP99 < prev.LatencyP99 || s.PoolInUse < prev.PoolInUse || s.Requests < prev.Requests {
			t.Fatalf("load %v: %+v is below %+v at the load before", load, s, prev)
		}
		if load > 0 && load < 80 { // well below capacity: convex
			growth := s.LatencyP99 - prev.LatencyP99
			if growth < prevGrowth-1e-12 {
				t.Errorf("load %v: latency grew %v, less than %v the step before", load, growth, prevGrowth)
			}
			prevGrowth = growth
		}
		prev = s
	}
	if prev.PoolInUse != prev.PoolLimit {
		t.Errorf("pool at twice the capacity: %v in use of %v", prev.PoolInUse, prev.PoolLimit)
	}
}

func TestKnobsLowerLatency(t *testing.T) {
	const load = 110 // above the app's capacity, 92% of the database's
	tests := []struct {
		name  string
		knob  string
		value float64
		steps int
	}{
		{"queue", KnobQueue, 1, 1},
		{"cpu_limit", KnobCPULimit, 0.5, 1},
		{"replicas", KnobReplicas, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, acted := NewPlant(config.Plant{}, 3), NewPlant(config.Plant{}, 3)
			run(base, load, 30)
			run(acted, load, 30)
			mustSet(t, acted, tt.knob, tt.value)
			b, a := run(base, load, tt.steps), run(acted, load, tt.steps)
			if !(a.LatencyP99 < b.LatencyP99) {
				t.Errorf("latency %v with %s = %v, not below %v without", a.LatencyP99, tt.knob, tt.value, b.LatencyP99)
			}
		})
	}
}

func TestKnobAmounts(t *testing.T) {
	p := NewPlant(config.Plant{}, 1)
	mustSet(t, p, KnobCPULimit, 0.5)
	p.Step(10, time.Minute)
	if got, want := p.State().AppCapacity, 100*(1-0.3*0.5)/0.7; !scalar.EqualWithinAbsOrRel(got, want, 1e-12, 1e-12) {
		t.Errorf("μ_app at cpu_limit 0.5 = %v, want %v", got, want)
	}
	mustSet(t, p, KnobReplicas, 10)
	run(p, 10, 5)
	if got, want := p.State().DBCapacity, 120/(1-0.7); !scalar.EqualWithinAbsOrRel(got, want, 1e-12, 1e-12) {
		t.Errorf("μ_db with 10 warm replicas = %v, want the write cap %v", got, want)
	}
	if got := p.Step(10, time.Minute).PoolLimit; got != 50*11 {
		t.Errorf("pool limit with 10 replicas = %v, want 550", got)
	}
}

func TestReplicasWarmUp(t *testing.T) {
	const load = 115
	warm := NewPlant(config.Plant{}, 5)
	mustSet(t, warm, KnobReplicas, 1)
	run(warm, load, 60)
	cold := NewPlant(config.Plant{}, 5)
	run(cold, load, 55)
	mustSet(t, cold, KnobReplicas, 1)

	prev := math.Inf(1)
	for i := 1; i <= 5; i++ {
		cold.Step(load, time.Minute)
		st := cold.State()
		if want := float64(i) / 5; !scalar.EqualWithinAbsOrRel(st.WarmReplicas, want, 1e-12, 1e-12) {
			t.Errorf("after %d min: R_eff = %v, want %v", i, st.WarmReplicas, want)
		}
		if i > 1 && st.DBCapacity <= prev {
			t.Errorf("after %d min: μ_db %v did not grow", i, st.DBCapacity)
		}
		prev = st.DBCapacity
	}
	w, c := warm.Step(load, time.Minute), cold.Step(load, time.Minute)
	if !scalar.EqualWithinAbsOrRel(w.LatencyP99, c.LatencyP99, 1e-9, 1e-9) {
		t.Errorf("after the warm-up: latency %v, want %v as with a long-warm replica", c.LatencyP99, w.LatencyP99)
	}
	mustSet(t, cold, KnobReplicas, 0)
	cold.Step(load, time.Minute)
	if st := cold.State(); st.WarmReplicas != 0 || st.DBCapacity != 120 {
		t.Errorf("after removing the replica: %+v", st)
	}
}

func TestBacklogGrowsAndDrains(t *testing.T) {
	p := NewPlant(config.Plant{}, 1)
	prev := 0.0
	var lat []float64
	for i := range 5 {
		s := p.Step(105, time.Minute)
		b := p.State().Backlog
		if !(b > prev) {
			t.Fatalf("overload step %d: backlog %v did not grow from %v", i, b, prev)
		}
		prev = b
		lat = append(lat, s.LatencyP99)
	}
	for i := 1; i < len(lat); i++ {
		if !(lat[i] > lat[i-1]) {
			t.Errorf("latency under overload did not grow: %v", lat)
		}
	}
	for i := range 30 {
		p.Step(50, time.Minute)
		b := p.State().Backlog
		if b > prev {
			t.Fatalf("underload step %d: backlog %v grew from %v", i, b, prev)
		}
		prev = b
	}
	if b := p.State().Backlog; b != 0 {
		t.Errorf("backlog %v after 30 minutes at half the capacity", b)
	}
	if s := p.Step(0, time.Minute); s.LatencyP99 != config.DefaultPlant.ServiceTime {
		t.Errorf("latency %v once drained and idle, want %v", s.LatencyP99, config.DefaultPlant.ServiceTime)
	}
}

func TestBacklogTimesOut(t *testing.T) {
	pl := config.DefaultPlant
	pl.Noise = 0
	p := NewPlant(pl, 1)
	run(p, 200, 60)
	st := p.State()
	// The app's backlog stops at 30 s of its capacity, the database's too.
	if want := maxWait * (100 + 120); !scalar.EqualWithinAbsOrRel(st.Backlog, want, 1e-9, 1e-9) {
		t.Errorf("backlog %v after an hour at twice the capacity, want the cap %v", st.Backlog, want)
	}
	if !(st.Dropped > 0) {
		t.Errorf("nothing dropped: %+v", st)
	}
}

func TestQueueBacklog(t *testing.T) {
	pl := config.DefaultPlant
	pl.Noise = 0
	p := NewPlant(pl, 1)
	mustSet(t, p, KnobQueue, 1)
	// At 100 req/s the path takes 60 q/s of 120: the queue's 40 q/s drain as they come.
	run(p, 100, 10)
	if b := p.State().QueueBacklog; b != 0 {
		t.Errorf("queue backlog %v when the database has room", b)
	}
	// At 150 the app is saturated, the path takes 90 q/s, the queue 60 with 30 spare.
	run(p, 150, 1)
	if b, want := p.State().QueueBacklog, 30*60.0; !scalar.EqualWithinAbsOrRel(b, want, 1e-9, 1e-9) {
		t.Errorf("queue backlog %v after a minute at 150, want %v", b, want)
	}
	mustSet(t, p, KnobQueue, 0)
	run(p, 150, 5) // the app backlog grows, the database is saturated: no spare
	if b := p.State().QueueBacklog; b != 30*60.0 {
		t.Errorf("queue backlog %v changed with the queue off and no spare capacity", b)
	}
	run(p, 20, 60)
	if b := p.State().QueueBacklog; b != 0 {
		t.Errorf("queue backlog %v not drained at low load", b)
	}
}

func TestCost(t *testing.T) {
	p := NewPlant(config.Plant{}, 1)
	mustSet(t, p, KnobReplicas, 2)
	mustSet(t, p, KnobCPULimit, 0.5)
	mustSet(t, p, KnobQueue, 1)
	run(p, 50, 10)
	mustSet(t, p, KnobQueue, 0)
	p.Step(50, 30*time.Second)
	got := p.Cost()
	want := Cost{ReplicaMinutes: 21, ThrottleMinutes: 5.25, QueueMinutes: 10}
	if !scalar.EqualWithinAbsOrRel(got.ReplicaMinutes, want.ReplicaMinutes, 1e-9, 1e-9) ||
		!scalar.EqualWithinAbsOrRel(got.ThrottleMinutes, want.ThrottleMinutes, 1e-9, 1e-9) ||
		!scalar.EqualWithinAbsOrRel(got.QueueMinutes, want.QueueMinutes, 1e-9, 1e-9) {
		t.Errorf("cost %+v, want %+v", got, want)
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	a, b, c := NewPlant(config.Plant{}, 42), NewPlant(config.Plant{}, 42), NewPlant(config.Plant{}, 43)
	differ := false
	for i := range 200 {
		load := 60 + 50*math.Sin(float64(i)/20)
		sa, sb, sc := a.Step(load, time.Minute), b.Step(load, time.Minute), c.Step(load, time.Minute)
		if sa != sb {
			t.Fatalf("step %d: %+v and %+v with the same seed", i, sa, sb)
		}
		differ = differ || sa != sc
	}
	if !differ {
		t.Error("seeds 42 and 43 gave the same output")
	}
}

func TestNoise(t *testing.T) {
	p := NewPlant(config.Plant{}, 9)
	const n, load = 20000, 80.0
	var sum, sum2 float64
	for range n {
		r := p.Step(load, time.Minute).Requests / load
		sum += r
		sum2 += r * r
	}
	mean := sum / n
	sd := math.Sqrt(sum2/n - mean*mean)
	if math.Abs(mean-1) > 0.003 || math.Abs(sd-0.05) > 0.003 {
		t.Errorf("arrivals/load: mean %v sd %v, want 1 and 0.05", mean, sd)
	}

	pl := config.DefaultPlant
	pl.Noise = 0
	if r := NewPlant(pl, 9).Step(load, time.Minute).Requests; r != load {
		t.Errorf("noise 0: arrivals %v, want the load %v", r, load)
	}
}

func TestBadLoadCountsAsZero(t *testing.T) {
	for _, load := range []float64{math.NaN(), -1, math.Inf(1), math.Inf(-1)} {
		if s := NewPlant(config.Plant{}, 1).Step(load, time.Minute); s.Requests != 0 || s.LatencyP99 != 0.05 {
			t.Errorf("load %v: %+v", load, s)
		}
	}
}

func TestSetGet(t *testing.T) {
	tests := []struct {
		name    string
		knob    string
		v       float64
		wantErr string
	}{
		{"queue on", KnobQueue, 1, ""},
		{"queue off", KnobQueue, 0, ""},
		{"queue half", KnobQueue, 0.5, "want 0 or 1"},
		{"replicas", KnobReplicas, 3, ""},
		{"replicas rounding error", KnobReplicas, 3 + 1e-12, ""},
		{"replicas fractional", KnobReplicas, 1.5, "whole number"},
		{"replicas negative", KnobReplicas, -1, "whole number"},
		{"replicas too many", KnobReplicas, 1001, "whole number"},
		{"replicas NaN", KnobReplicas, math.NaN(), "whole number"},
		{"cpu_limit", KnobCPULimit, 0.25, ""},
		{"cpu_limit one", KnobCPULimit, 1, ""},
		{"cpu_limit zero", KnobCPULimit, 0, "(0, 1]"},
		{"cpu_limit above one", KnobCPULimit, 1.5, "(0, 1]"},
		{"cpu_limit NaN", KnobCPULimit, math.NaN(), "(0, 1]"},
		{"unknown", "disk", 1, "unknown knob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlant(config.Plant{}, 1)
			before, _ := p.Get(tt.knob)
			err := p.Set(tt.knob, tt.v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%s, %v) = %v, want an error with %q", tt.knob, tt.v, err, tt.wantErr)
				}
				if after, _ := p.Get(tt.knob); !(after == before || math.IsNaN(after) && math.IsNaN(before)) {
					t.Errorf("failed Set changed the knob from %v to %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Get(tt.knob)
			if err != nil || !scalar.EqualWithinAbsOrRel(got, tt.v, 1e-9, 1e-9) {
				t.Errorf("Get(%s) = %v, %v; want %v", tt.knob, got, err, tt.v)
			}
		})
	}
	p := NewPlant(config.Plant{}, 1)
	if _, err := p.Get("disk"); !errors.Is(err, ErrUnknownKnob) {
		t.Errorf("Get(disk) error %v, want ErrUnknownKnob", err)
	}
	for knob, want := range map[string]float64{KnobQueue: 0, KnobReplicas: 0, KnobCPULimit: 1} {
		if got, _ := p.Get(knob); got != want {
			t.Errorf("new plant: %s = %v, want %v", knob, got, want)
		}
	}
}

func TestStepPanicsOnBadDt(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Step(…, 0) did not panic")
		}
	}()
	NewPlant(config.Plant{}, 1).Step(1, 0)
}

func TestSignalsValue(t *testing.T) {
	s := Signals{LatencyP99: 1, Requests: 2, PoolInUse: 3, PoolLimit: 4}
	for name, want := range map[string]float64{SignalLatencyP99: 1, SignalRequests: 2, SignalPoolInUse: 3, SignalPoolLimit: 4} {
		if got, ok := s.Value(name); !ok || got != want {
			t.Errorf("Value(%s) = %v, %v", name, got, ok)
		}
	}
	if _, ok := s.Value("latency"); ok {
		t.Error(`Value("latency") is known`)
	}
}
