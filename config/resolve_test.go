package config

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// resolveConfig is two services, checkout and search, each with a queue
// and a replicas action, from the defaults.
func resolveConfig() *Config {
	svc := func(name string) Service {
		s := DefaultService
		s.Name = name
		s.Signals.Latency.Sim = SimLatencyP99
		s.Incident = Incident{Above: 0.5, Consecutive: 2}
		q := DefaultAction
		q.Name = "queue"
		q.Actuator.Kind, q.Actuator.Knob = ActuatorSim, KnobQueue
		r := DefaultAction
		r.Name = "replicas"
		r.Actuator.Kind, r.Actuator.Knob = ActuatorSim, KnobReplicas
		r.Warmup, r.Margin, r.Max, r.Baseline = Duration(5*time.Minute), Duration(2*time.Minute), 3, ptr(1.0)
		s.Playbook = []Action{q, r}
		return s
	}
	c := DefaultConfig
	c.Services = []Service{svc("checkout"), svc("search")}
	c.SetDefaults()
	return &c
}

func TestResolve(t *testing.T) {
	type steps struct{ horizon, period, long, history int }
	for _, tt := range []struct {
		name    string
		edit    func(c *Config)
		want    steps  // of services[0]
		wantErr string // the error's start; "" for none
	}{
		{name: "defaults", want: steps{30, 1440, 0, 10080}},
		{name: "interval 30s", edit: func(c *Config) { c.Global.Interval = Duration(30 * time.Second) },
			want: steps{60, 2880, 0, 20160}},
		{name: "horizon rounds down", edit: func(c *Config) { c.Services[0].Forecast.Horizon = Duration(90 * time.Second) },
			want: steps{1, 1440, 0, 10080}},
		{name: "horizon 30m at 7m", edit: func(c *Config) {
			c.Global.Interval = Duration(7 * time.Minute)
			c.Services[0].Forecast.Period = 0
		}, want: steps{4, 0, 0, 1440}},
		{name: "horizon below the interval is one step", edit: func(c *Config) { c.Services[0].Forecast.Horizon = Duration(30 * time.Second) },
			want: steps{1, 1440, 0, 10080}},
		{name: "period detected", edit: func(c *Config) { c.Services[0].Forecast.Period = 0 },
			want: steps{30, 0, 0, 10080}},
		{name: "double-seasonal", edit: func(c *Config) {
			c.Global.History = Duration(14 * 24 * time.Hour)
			c.Services[0].Forecast.Model = ModelDouble
		}, want: steps{30, 1440, 10080, 20160}},
		{name: "long period only for double-seasonal", edit: func(c *Config) { c.Services[0].Forecast.Model = ModelHoltWinters },
			want: steps{30, 1440, 0, 10080}},
		{name: "history rounds down", edit: func(c *Config) { c.Global.History = Duration(150*time.Minute + 30*time.Second) },
			want: steps{30, 1440, 0, 150}},
		{name: "history at least 2", edit: func(c *Config) { c.Global.History = Duration(90 * time.Second) },
			want: steps{30, 1440, 0, 2}},
		{name: "a schedule that applies to no service is not parsed", edit: func(c *Config) {
			c.Schedules = []Schedule{{Name: "x", Kind: ScheduleFreeze, Cron: "30 25 * * *", Duration: Duration(time.Hour), Services: []string{"other"}}}
		}, want: steps{30, 1440, 0, 10080}},

		{name: "zero interval", edit: func(c *Config) { c.Global.Interval = 0 },
			wantErr: "global.interval: 0s must be > 0"},
		{name: "refit does not parse", edit: func(c *Config) { c.Services[0].Forecast.Refit = "@hourli" },
			wantErr: "services[0].forecast.refit: "},
		{name: "refit out of range in the second service", edit: func(c *Config) { c.Services[1].Forecast.Refit = "61 * * * *" },
			wantErr: "services[1].forecast.refit: "},
		{name: "empty refit", edit: func(c *Config) { c.Services[0].Forecast.Refit = "" },
			wantErr: "services[0].forecast.refit: "},
		{name: "schedule does not parse", edit: func(c *Config) {
			c.Schedules = []Schedule{
				{Name: "ok", Kind: ScheduleFreeze, Cron: "@daily", Duration: Duration(time.Hour)},
				{Name: "bad", Kind: ScheduleFreeze, Cron: "30 25 * * *", Duration: Duration(time.Hour), Services: []string{"search"}},
			}
		}, wantErr: "schedules[1]: "},
		{name: "schedule without a duration", edit: func(c *Config) {
			c.Schedules = []Schedule{{Name: "x", Kind: ScheduleEvent, At: "2026-01-05", Services: []string{"checkout"}}}
		}, wantErr: "schedules[0]: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := resolveConfig()
			if tt.edit != nil {
				tt.edit(c)
			}
			rs, err := c.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve: %v, want an error starting %q", err, tt.wantErr)
				}
				if rs != nil {
					t.Errorf("Resolve returned %d services with its error", len(rs))
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if len(rs) != len(c.Services) {
				t.Fatalf("%d resolved services, want %d", len(rs), len(c.Services))
			}
			r := rs[0]
			if got := (steps{r.Horizon, r.Period, r.LongPeriod, r.History}); got != tt.want {
				t.Errorf("steps (horizon, period, long period, history) = %v, want %v", got, tt.want)
			}
			if got, want := r.Interval, time.Duration(c.Global.Interval); got != want {
				t.Errorf("interval = %v, want %v", got, want)
			}
		})
	}
}

// TestResolveSettings checks what Resolve gives besides the step counts:
// the refit schedule, the incident pattern, the policy's settings and the
// schedules that apply.
func TestResolveSettings(t *testing.T) {
	c := resolveConfig()
	c.Services[1].Forecast.Refit = "*/30 * * * *"
	c.Services[1].Forecast.Trigger, c.Services[1].Forecast.Clear = 0.7, 0.3
	c.Services[0].Incident.ResolveAfter = Duration(90 * time.Second) // 1.5 steps: 2
	c.Services[1].Incident.ResolveAfter = Duration(2 * time.Minute)
	c.Schedules = []Schedule{
		{Name: "all", Kind: ScheduleFreeze, Cron: "@daily", Duration: Duration(time.Hour)},
		{Name: "search-only", Kind: ScheduleEvent, At: "2026-01-05T12:00:00Z", Duration: Duration(time.Hour), Services: []string{"search"}},
		{Name: "checkout-sale", Kind: SchedulePrewarm, Cron: "0 9 * * *", Duration: Duration(time.Hour),
			Services: []string{"checkout"}, Actions: map[string]float64{"queue": 1}},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	rs, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	checkout, search := rs[0], rs[1]
	if checkout.Name != "checkout" || search.Name != "search" {
		t.Fatalf("names %q, %q, want checkout, search", checkout.Name, search.Name)
	}

	now := time.Date(2026, 1, 5, 10, 17, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		r    Resolved
		want time.Time
	}{
		{"checkout @hourly", checkout, time.Date(2026, 1, 5, 11, 0, 0, 0, time.UTC)},
		{"search */30", search, time.Date(2026, 1, 5, 10, 30, 0, 0, time.UTC)},
	} {
		if got := tt.r.Refit.Next(now); !got.Equal(tt.want) {
			t.Errorf("%s: next refit after %v = %v, want %v", tt.name, now, got, tt.want)
		}
	}

	if got, want := checkout.Incident, (Pattern{Above: 0.5, Consecutive: 2, ResolveAfter: 2}); got != want {
		t.Errorf("checkout incident = %+v, want %+v", got, want)
	}
	if got, want := search.Incident, (Pattern{Above: 0.5, Consecutive: 2, ResolveAfter: 2}); got != want {
		t.Errorf("search incident = %+v, want %+v", got, want)
	}
	if checkout.Trigger != 0.5 || checkout.Clear != 0.2 || search.Trigger != 0.7 || search.Clear != 0.3 {
		t.Errorf("trigger, clear = %v, %v (checkout) and %v, %v (search), want 0.5, 0.2 and 0.7, 0.3",
			checkout.Trigger, checkout.Clear, search.Trigger, search.Clear)
	}
	wantSteps := []Step{
		{Name: "queue", Warmup: time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute, Min: 0, Max: 1, Baseline: 0, Engaged: 1, CostPerMinute: 1},
		{Name: "replicas", Warmup: 5 * time.Minute, Margin: 2 * time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute,
			Min: 0, Max: 3, Baseline: 1, Engaged: 3, CostPerMinute: 1},
	}
	if len(checkout.Playbook) != len(wantSteps) {
		t.Fatalf("%d playbook steps, want %d", len(checkout.Playbook), len(wantSteps))
	}
	for i, want := range wantSteps {
		if got := checkout.Playbook[i]; got != want {
			t.Errorf("playbook[%d] = %+v, want %+v", i, got, want)
		}
	}

	names := func(r Resolved) []string {
		var out []string
		for _, s := range r.Schedules {
			out = append(out, s.Name)
		}
		return out
	}
	if got, want := strings.Join(names(checkout), ","), "all,checkout-sale"; got != want {
		t.Errorf("checkout schedules %s, want %s", got, want)
	}
	if got, want := strings.Join(names(search), ","), "all,search-only"; got != want {
		t.Errorf("search schedules %s, want %s", got, want)
	}
	if checkout.Schedules[0] != search.Schedules[0] {
		t.Error(`schedule "all" parsed twice: want one *schedule.Schedule shared by the services`)
	}

	// A service without playbook or schedules resolves to none.
	c.Services[1].Playbook, c.Schedules = nil, nil
	rs, err = c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if rs[1].Playbook != nil || rs[1].Schedules != nil {
		t.Errorf("playbook %v, schedules %v, want nil", rs[1].Playbook, rs[1].Schedules)
	}
}

// TestResolveShipped resolves every configuration shipped that Validate
// accepts: what Validate accepts, Resolve does.
func TestResolveShipped(t *testing.T) {
	files, err := filepath.Glob("../testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, examplePath)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".bad.yaml") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := c.Resolve()
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			for i, r := range rs {
				if r.Name != c.Services[i].Name || r.Horizon < 1 || r.History < 2 || r.Refit == nil {
					t.Errorf("services[%d] resolved to %+v", i, r)
				}
			}
		})
	}
	if n < 3 {
		t.Errorf("%d configurations resolved, want the example and testdata's", n)
	}
}

// TestRefitZoneWithoutExpression: a refit that is only a zone prefix is a
// problem at its YAML path, not a panic of the cron parser.
func TestRefitZoneWithoutExpression(t *testing.T) {
	_, err := Load([]byte(`
services:
  - name: web
    signals: {latency: {sim: latency_p99}}
    incident: {above: 0.5}
    forecast: {refit: "TZ=UTC"}
`), "refit.yaml")
	if err == nil || !strings.Contains(err.Error(), "services[0].forecast.refit") {
		t.Fatalf("error %v, want one at services[0].forecast.refit", err)
	}
}

func TestCeilSteps(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {-time.Minute, 0}, {time.Second, 1}, {time.Minute, 1}, {time.Minute + time.Nanosecond, 2},
		{10 * time.Minute, 10}, {time.Duration(math.MaxInt64), int(math.MaxInt64/int64(time.Minute)) + 1},
	} {
		if got := ceilSteps(tt.d, time.Minute); got != tt.want {
			t.Errorf("ceilSteps(%v, 1m) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
