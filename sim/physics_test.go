package sim

import (
	"math"
	"testing"
	"time"

	"github.com/presage-dev/presage/config"
)

// TestBreachLoad checks BreachLoad against the plant itself: held at a
// load a little under the breach load the plant's latency stays under
// the threshold, a little over it goes above (noise off, replicas warm).
func TestBreachLoad(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		p                    config.Plant
		queue, replicas, cpu float64
		above                float64
	}{
		{"checkout, nothing engaged", config.Plant{AppCapacity: 130, DBCapacity: 90}, 0, 0, 1, 0.5},
		{"checkout, the queue", config.Plant{AppCapacity: 130, DBCapacity: 90}, 1, 0, 1, 0.5},
		{"checkout, queue and CPU", config.Plant{AppCapacity: 130, DBCapacity: 90}, 1, 0, 0.5, 0.5},
		{"search, replicas (app-bound)", config.Plant{AppCapacity: 60, DBCapacity: 90, ReplicaCapacity: 40}, 0, 2, 1, 0.3},
		{"a threshold above the saturated latency: the saturation", config.Plant{AppCapacity: 100, DBCapacity: 120}, 0, 0, 1, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Noise, tt.p.ReplicaWarmup = 1e-12, 0
			l := BreachLoad(tt.p, tt.queue, tt.replicas, tt.cpu, tt.above)
			if !(l > 0) || math.IsInf(l, 0) {
				t.Fatalf("breach load %v", l)
			}
			latency := func(load float64) float64 {
				pl := NewPlant(tt.p, 1)
				must(t, pl.Set(KnobQueue, tt.queue))
				must(t, pl.Set(KnobReplicas, tt.replicas))
				must(t, pl.Set(KnobCPULimit, tt.cpu))
				var s Signals
				for range 30 {
					s = pl.Step(load, time.Minute)
				}
				return s.LatencyP99
			}
			if lat := latency(0.99 * l); lat > tt.above {
				t.Errorf("at 99%% of the breach load %.2f: latency %.3f above %.3f", l, lat, tt.above)
			}
			if lat := latency(1.01 * l); lat <= tt.above {
				t.Errorf("at 101%% of the breach load %.2f: latency %.3f not above %.3f", l, lat, tt.above)
			}
		})
	}
	if l := BreachLoad(config.Plant{AppCapacity: -1}, 0, 0, 1, 0.5); !math.IsNaN(l) {
		t.Errorf("a plant out of range: %v, want NaN", l)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
