package replay

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSweep(t *testing.T) {
	for _, tt := range []struct {
		in   string
		path string
		want []string
		err  string
	}{
		{in: "forecast.trigger=0.3,0.5, 0.7", path: "forecast.trigger", want: []string{"0.3", "0.5", "0.7"}},
		{in: "services[1].playbook[*].max=[1,2],{a: 1, b: 2}", path: "services[1].playbook[*].max", want: []string{"[1,2]", "{a: 1, b: 2}"}},
		{in: `forecast.refit="*/15 * * * *",@hourly`, path: "forecast.refit", want: []string{`"*/15 * * * *"`, "@hourly"}},
		{in: "forecast.trigger", err: "want path=v1,v2"},
		{in: "forecast.trigger=0.3,,0.5", err: "empty value"},
		{in: "services[x].name=a", err: `index "x"`},
		{in: "services[0.name=a", err: "no closing ]"},
		{in: `forecast.refit="@hourly`, err: "not closed"},
		{in: "services[0].playbook[0].max=[1,2", err: "not closed"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseSweep(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || p.Path != tt.path || !slices.Equal(p.Values, tt.want) {
				t.Errorf("got %+v, %v; want %s %q", p, err, tt.path, tt.want)
			}
		})
	}
}

// TestSweepConfigs sets fields by full path, by the every-service
// shorthand and by [*], creating keys the file leaves out, and keeps
// relative paths relative to the file.
func TestSweepConfigs(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var params []SweepParam
	for _, s := range []string{"forecast.trigger=0.3,0.7", "services[1].playbook[*].warmup=3m", "global.interval=2m", "sim.load.trace=load.csv"} {
		p, err := ParseSweep(s)
		if err != nil {
			t.Fatal(err)
		}
		params = append(params, p)
	}
	points, err := SweepConfigs(data, filepath.Join("dir", "x.yaml"), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 {
		t.Fatalf("%d points, want 2", len(points))
	}
	for i, want := range []float64{0.3, 0.7} {
		c := points[i].Config
		// search sets no trigger in the file: the key is created.
		if c.Services[0].Forecast.Trigger != want || c.Services[1].Forecast.Trigger != want {
			t.Errorf("point %d: triggers %v, %v; want %v", i, c.Services[0].Forecast.Trigger, c.Services[1].Forecast.Trigger, want)
		}
		if time.Duration(c.Services[1].Playbook[1].Warmup) != 3*time.Minute || time.Duration(c.Services[0].Playbook[1].Warmup) != 5*time.Minute {
			t.Errorf("point %d: warm-ups %v, %v", i, c.Services[1].Playbook[1].Warmup, c.Services[0].Playbook[1].Warmup)
		}
		if time.Duration(c.Global.Interval) != 2*time.Minute {
			t.Errorf("point %d: interval %v", i, c.Global.Interval)
		}
		if got := c.Services[0].Sim.Load.Trace; got != filepath.Join("dir", "load.csv") {
			t.Errorf("point %d: trace %q, want it relative to the file", i, got)
		}
	}
}
