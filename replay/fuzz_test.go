package replay

import (
	"os"
	"testing"
)

// FuzzSweep parses any -sweep expression and applies it to the example
// configuration: neither panics, a parsed expression has a path and at
// least one value, and every point of a grid is a configuration Load
// accepted.
func FuzzSweep(f *testing.F) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"forecast.trigger=0.3,0.7", "services[1].playbook[*].warmup=3m", "global.interval=2m",
		"sim.load.trace=load.csv", "playbook[*].revert_after=5m,15m", "services[9].name=x",
		"global=1", "forecast.trigger=", "=1", "services[-1].x=1", "a[*][*].b=1,2,3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSweep(s)
		if err != nil {
			return
		}
		if p.Path == "" || len(p.Values) == 0 {
			t.Fatalf("ParseSweep(%q) = %+v: no path or no value", s, p)
		}
		if len(p.Values) > 8 {
			return // the grid's size is the user's; keep each input fast
		}
		points, err := SweepConfigs(data, "config.example.yaml", []SweepParam{p})
		if err != nil {
			return
		}
		if len(points) != len(p.Values) {
			t.Fatalf("%d points for %d values", len(points), len(p.Values))
		}
		for i, pt := range points {
			if pt.Config == nil {
				t.Fatalf("point %d has no configuration", i)
			}
		}
	})
}
