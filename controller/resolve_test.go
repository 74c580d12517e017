package controller

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// TestNewResolves checks that New runs each service as config.Resolve
// resolves it, and that the helpers turn a Resolved into the pattern and
// the policy settings field for field.
func TestNewResolves(t *testing.T) {
	cfg := loadConfig(t)
	cfg.Services[0].Forecast.Horizon = config.Duration(10*time.Minute + 30*time.Second)
	rs, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]

	if got, want := IncidentPattern(r), (model.Pattern{Above: 0.5, Consecutive: 3, ResolveAfter: 10}); got != want { // resolve_after 10m (the default) in 1m steps
		t.Errorf("IncidentPattern = %+v, want %+v", got, want)
	}
	want := policy.Settings{Mode: policy.Predictive, Trigger: 0.5, Clear: 0.2, Interval: time.Minute, IncidentCost: 1000, Playbook: []policy.Step{
		{Name: "queue", Warmup: time.Minute, Cooldown: 2 * time.Minute, RevertAfter: 5 * time.Minute, Min: 0, Max: 1, Baseline: 0, Engaged: 1, CostPerMinute: 1},
		{Name: "replicas", Warmup: 5 * time.Minute, Cooldown: 5 * time.Minute, RevertAfter: 15 * time.Minute, Min: 0, Max: 3, Baseline: 0, Engaged: 3, CostPerMinute: 1},
	}}
	if got := PolicySettings(r, policy.Predictive); !reflect.DeepEqual(got, want) {
		t.Errorf("PolicySettings =\n%+v, want\n%+v", got, want)
	}

	rec := actuators.NewRecorder(nil)
	ctl, err := New(Options{Config: cfg, Source: &script{lat: []float64{0.1}, load: []float64{50}}, Mode: policy.Predictive,
		Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
	if err != nil {
		t.Fatal(err)
	}
	s := ctl.services[0]
	if s.horizon != 10 || s.period != 0 || s.long != 0 || len(s.hist.buf) != 1440 {
		t.Errorf("horizon, period, long period, history = %d, %d, %d, %d steps, want 10, 0, 0, 1440",
			s.horizon, s.period, s.long, len(s.hist.buf))
	}
	if s.pattern != IncidentPattern(r) || !reflect.DeepEqual(s.settings, want) {
		t.Errorf("service pattern %+v, settings %+v, want those of its Resolved", s.pattern, s.settings)
	}
}

// TestNewRejectsWhatResolveRejects: a configuration that did not go through
// Validate fails in New with Resolve's error, prefixed by "controller: ".
func TestNewRejectsWhatResolveRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"refit", func(c *config.Config) { c.Services[0].Forecast.Refit = "61 * * * *" }, "controller: services[0].forecast.refit: "},
		{"schedule", func(c *config.Config) {
			c.Schedules = []config.Schedule{{Name: "x", Kind: config.ScheduleFreeze, Cron: "30 25 * * *", Duration: config.Duration(time.Hour)}}
		}, "controller: schedules[0]: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t)
			tt.edit(cfg)
			rec := actuators.NewRecorder(nil)
			_, err := New(Options{Config: cfg, Source: &script{lat: []float64{0.1}, load: []float64{50}}, Mode: policy.Reactive,
				Actuators: map[string][]actuators.Actuator{"web": {rec, rec}}})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error starting %q", err, tt.want)
			}
		})
	}
}
