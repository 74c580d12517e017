package sim

import (
	"math"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
)

// trajectory steps p over loads with one-minute steps and returns its
// signals, state and cost after each step.
type point struct {
	sig   Signals
	state State
	cost  Cost
}

func trajectory(p *Plant, loads []float64) []point {
	out := make([]point, len(loads))
	for i, l := range loads {
		out[i] = point{p.Step(l, time.Minute), p.State(), p.Cost()}
	}
	return out
}

func TestClone(t *testing.T) {
	p := NewPlant(config.Plant{Noise: 0.2}, 7)
	// Some history: a replica warming, the queue on, backlogs.
	mustSet(t, p, KnobReplicas, 2)
	mustSet(t, p, KnobQueue, 1)
	run(p, 150, 3)
	mustSet(t, p, KnobCPULimit, 0.5)
	run(p, 300, 2)

	loads := []float64{200, 90, math.NaN(), 400, 130, 130, 0, 250}
	for _, tt := range []struct {
		name string
		copy func(*Plant) *Plant
	}{
		{"Clone", (*Plant).Clone},
		{"CopyTo fresh", func(p *Plant) *Plant { var c Plant; p.CopyTo(&c); return &c }},
		{"CopyTo used", func(p *Plant) *Plant {
			c := NewPlant(config.Plant{AppCapacity: 10, ReplicaWarmup: 1}, 99)
			mustSet(t, c, KnobReplicas, 5)
			run(c, 50, 4)
			p.CopyTo(c)
			return c
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orig := p.Clone() // p itself stays as it is for the next case
			c := tt.copy(orig)
			if c.Params() != orig.Params() {
				t.Fatalf("params %+v, want %+v", c.Params(), orig.Params())
			}
			if c.State() != orig.State() || c.Cost() != orig.Cost() {
				t.Fatalf("copy's state %+v cost %+v, want %+v %+v", c.State(), c.Cost(), orig.State(), orig.Cost())
			}
			want := trajectory(orig, loads)
			got := trajectory(c, loads)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("step %d: copy %+v, original %+v", i, got[i], want[i])
				}
			}
			// Independence: changing and stepping the copy changes nothing
			// of the original, whose future is that of a copy made before.
			twin := orig.Clone()
			mustSet(t, c, KnobReplicas, 0)
			mustSet(t, c, KnobQueue, 0)
			run(c, 500, 5)
			want = trajectory(twin, loads)
			got = trajectory(orig, loads)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("step %d after the copy changed: original %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}
