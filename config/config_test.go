package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../config.example.yaml"

func TestLoadExample(t *testing.T) {
	c, err := LoadFile(examplePath)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", examplePath, err)
	}
	if got, want := c.Source.Kind, SourceSim; got != want {
		t.Errorf("source.kind = %q, want %q", got, want)
	}
	if got, want := time.Duration(c.Global.Interval), time.Minute; got != want {
		t.Errorf("global.interval = %v, want %v", got, want)
	}
	if got, want := len(c.Services), 2; got != want {
		t.Fatalf("%d services, want %d", got, want)
	}

	checkout := c.Service("checkout")
	if checkout == nil {
		t.Fatal(`no service "checkout"`)
	}
	if got, want := checkout.Incident.Above, 0.5; got != want {
		t.Errorf("checkout incident.above = %v, want %v", got, want)
	}
	if got, want := checkout.Incident.Consecutive, 3; got != want {
		t.Errorf("checkout incident.consecutive = %v, want %v", got, want)
	}
	type action struct {
		name, knob       string
		warmup           time.Duration
		min, max         float64
		baseline, engage float64
	}
	want := []action{
		{"async-queue", KnobQueue, time.Minute, 0, 1, 0, 1},
		{"read-replicas", KnobReplicas, 5 * time.Minute, 0, 3, 0, 3},
		{"neighbour-cpu", KnobCPULimit, 2 * time.Minute, 0.4, 1, 1, 0.5},
	}
	var got []action
	for _, a := range checkout.Playbook {
		if a.Actuator.Kind != ActuatorSim {
			t.Errorf("action %s: actuator kind %q, want sim", a.Name, a.Actuator.Kind)
		}
		got = append(got, action{a.Name, a.Actuator.Knob, time.Duration(a.Warmup), a.Min, a.Max, a.BaselineValue(), a.EngagedValue()})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checkout playbook:\n got %+v\nwant %+v", got, want)
	}

	search := c.Service("search")
	if search == nil {
		t.Fatal(`no service "search"`)
	}
	if search.Sim.Load.Seed == checkout.Sim.Load.Seed {
		t.Errorf("search and checkout share load seed %d", search.Sim.Load.Seed)
	}
	if got, want := search.Sim.Load.FlashCrowds, 0; got != want {
		t.Errorf("search flash_crowds = %d, want %d (an explicit 0 is kept)", got, want)
	}
	if got, want := search.Forecast.Signal, SignalRequests; got != want {
		t.Errorf("search forecast.signal = %q, want %q", got, want)
	}
}

// TestExampleDocumentsEveryField checks that config.example.yaml names every
// key of the schema, so that it does not go stale when a field is added.
func TestExampleDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	seen := make(map[reflect.Type]bool)
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeFor[Config]().PkgPath() || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" {
				continue // inline Prometheus HTTP client settings
			}
			p := joinPath(path, name)
			if !regexp.MustCompile(`(?m)^[\s#-]*` + regexp.QuoteMeta(name) + `:`).MatchString(text) {
				t.Errorf("%s: %s does not document key %q", p, examplePath, name)
			}
			walk(f.Type, p)
		}
	}
	walk(reflect.TypeFor[Config](), "")
}

func TestDefaults(t *testing.T) {
	c, err := LoadFile("../testdata/minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Services[0]
	withAction := strings.Replace(minimalYAML, "    incident:", `    playbook:
      - name: a
        actuator: {kind: webhook, webhook: {url: "http://x", auth_env: TOKEN}}
    incident:`, 1)
	ca, err := Load([]byte(withAction), "action.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := ca.Services[0].Playbook[0]
	w := a.Actuator.Webhook

	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"global.interval", c.Global.Interval, Duration(time.Minute)},
		{"global.history", c.Global.History, Duration(7 * 24 * time.Hour)},
		{"global.stale_after", c.Global.StaleAfter, Duration(2 * time.Minute)},
		{"global.listen", c.Global.Listen, "127.0.0.1:9797"},
		{"global.state_file", c.Global.StateFile, ""},
		{"source.kind", c.Source.Kind, SourceSim},
		{"source.prometheus.timeout", c.Source.Prometheus.Timeout, Duration(10 * time.Second)},
		{"source.prometheus.service_label", c.Source.Prometheus.ServiceLabel, "service"},
		{"source.prometheus.unready_after", c.Source.Prometheus.UnreadyAfter, Duration(5 * time.Minute)},
		{"source.prometheus.retries", c.Source.Prometheus.Retries, 3},
		{"source.prometheus.min_backoff", c.Source.Prometheus.MinBackoff, Duration(100 * time.Millisecond)},
		{"source.prometheus.max_backoff", c.Source.Prometheus.MaxBackoff, Duration(2 * time.Second)},
		{"sim.knobs", len(s.Sim.Knobs), 0},
		{"source.prometheus.follow_redirects", c.Source.Prometheus.HTTPClientConfig.FollowRedirects, true},
		{"source.prometheus.enable_http2", c.Source.Prometheus.HTTPClientConfig.EnableHTTP2, true},
		{"incident.consecutive", s.Incident.Consecutive, 3},
		{"incident.resolve_after", s.Incident.ResolveAfter, Duration(10 * time.Minute)},
		{"forecast.model", s.Forecast.Model, ModelAuto},
		{"forecast.signal (no requests signal)", s.Forecast.Signal, SignalLatency},
		{"forecast.horizon", s.Forecast.Horizon, Duration(30 * time.Minute)},
		{"forecast.period", s.Forecast.Period, Duration(24 * time.Hour)},
		{"forecast.refit", s.Forecast.Refit, "@hourly"},
		{"forecast.trigger", s.Forecast.Trigger, 0.5},
		{"forecast.clear", s.Forecast.Clear, 0.2},
		{"forecast.paths", s.Forecast.Paths, 200},
		{"forecast.seed", s.Forecast.Seed, uint64(1)},
		{"action.warmup", a.Warmup, Duration(time.Minute)},
		{"action.min", a.Min, 0.0},
		{"action.max", a.Max, 1.0},
		{"action.baseline", a.BaselineValue(), 0.0},
		{"action.engaged", a.EngagedValue(), 1.0},
		{"action.cooldown", a.Cooldown, Duration(5 * time.Minute)},
		{"action.revert_after", a.RevertAfter, Duration(15 * time.Minute)},
		{"webhook.timeout", w.Timeout, Duration(10 * time.Second)},
		{"webhook.retries", w.Retries, 3},
		{"webhook.auth_header", w.AuthHeader, "Authorization"},
		{"plant.app_capacity", s.Sim.Plant.AppCapacity, 100.0},
		{"plant.neighbour_cpu", s.Sim.Plant.NeighbourCPU, 0.3},
		{"plant.db_capacity", s.Sim.Plant.DBCapacity, 120.0},
		{"plant.replica_capacity", s.Sim.Plant.ReplicaCapacity, 60.0},
		{"plant.read_fraction", s.Sim.Plant.ReadFraction, 0.7},
		{"plant.replica_warmup", s.Sim.Plant.ReplicaWarmup, Duration(5 * time.Minute)},
		{"plant.queue_fraction", s.Sim.Plant.QueueFraction, 0.4},
		{"plant.pool_size", s.Sim.Plant.PoolSize, 50.0},
		{"plant.service_time", s.Sim.Plant.ServiceTime, 0.05},
		{"plant.noise", s.Sim.Plant.Noise, 0.05},
		{"load.trace", s.Sim.Load.Trace, ""},
		{"load.peak", s.Sim.Load.Peak, 1.2},
		{"load.peak_quantile", s.Sim.Load.PeakQuantile, 0.99},
		{"load.duration", s.Sim.Load.Duration, Duration(7 * 24 * time.Hour)},
		{"load.start", s.Sim.Load.Start, "2026-01-05T00:00:00Z"},
		{"load.seed", s.Sim.Load.Seed, uint64(1)},
		{"load.daily", s.Sim.Load.Daily, 0.5},
		{"load.trend", s.Sim.Load.Trend, 0.0},
		{"load.bursts", s.Sim.Load.Bursts, 2.0},
		{"load.flash_crowds", s.Sim.Load.FlashCrowds, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v (%T), want %v (%T)", tt.got, tt.got, tt.want, tt.want)
			}
		})
	}
}

const minimalYAML = `services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
    incident:
      above: 0.5
`

// TestExplicitZero checks that a value the file sets to zero is kept, where
// zero means something.
func TestExplicitZero(t *testing.T) {
	c, err := Load([]byte(`global:
  listen: ""
services:
  - name: checkout
    signals:
      latency: {sim: latency_p99}
    incident:
      above: 0.5
      resolve_after: 0
    forecast:
      period: 0
      seed: 0
    playbook:
      - name: a
        actuator: {kind: webhook, webhook: {url: "http://x", retries: 0}}
        warmup: 0s
        cooldown: 0
        revert_after: 0s
        min: -1
        max: 0
    sim:
      plant: {neighbour_cpu: 0, noise: 0, replica_warmup: 0s}
      load: {daily: 0, bursts: 0, flash_crowds: 0, seed: 0}
`), "zero.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Services[0]
	a := s.Playbook[0]
	for _, tt := range []struct {
		name string
		got  any
	}{
		{"global.listen", c.Global.Listen},
		{"incident.resolve_after", s.Incident.ResolveAfter},
		{"forecast.period", s.Forecast.Period},
		{"forecast.seed", s.Forecast.Seed},
		{"action.warmup", a.Warmup},
		{"action.cooldown", a.Cooldown},
		{"action.revert_after", a.RevertAfter},
		{"action.max", a.Max},
		{"action.engaged", a.EngagedValue()},
		{"webhook.retries", a.Actuator.Webhook.Retries},
		{"plant.neighbour_cpu", s.Sim.Plant.NeighbourCPU},
		{"plant.noise", s.Sim.Plant.Noise},
		{"plant.replica_warmup", s.Sim.Plant.ReplicaWarmup},
		{"load.daily", s.Sim.Load.Daily},
		{"load.bursts", s.Sim.Load.Bursts},
		{"load.flash_crowds", s.Sim.Load.FlashCrowds},
		{"load.seed", s.Sim.Load.Seed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.ValueOf(tt.got).IsZero() {
				t.Errorf("got %v, want zero", tt.got)
			}
		})
	}
}

func TestLoadPrometheus(t *testing.T) {
	c, err := LoadFile("../testdata/prometheus.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Source.Prometheus
	if got, want := p.URL, "https://prometheus.example.com:9090"; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
	if got, want := p.ServiceLabel, "app"; got != want {
		t.Errorf("service_label = %q, want %q", got, want)
	}
	if p.HTTPClientConfig.FollowRedirects {
		t.Error("follow_redirects = true, want false as set")
	}
	if !p.HTTPClientConfig.EnableHTTP2 {
		t.Error("enable_http2 = false, want the default true")
	}
	if got, want := p.HTTPClientConfig.TLSConfig.CAFile, filepath.Join("..", "testdata", "certs", "ca.pem"); got != want {
		t.Errorf("tls_config.ca_file = %q, want %q (relative to the config file)", got, want)
	}
	if a, want := p.HTTPClientConfig.Authorization, filepath.Join("..", "testdata", "secrets", "prometheus-token"); a == nil || a.CredentialsFile != want {
		t.Errorf("authorization = %+v, want credentials_file %s", a, want)
	}
	if got := c.Global.Listen; got != "" {
		t.Errorf("listen = %q, want empty as set", got)
	}

	checkout, search := c.Service("checkout"), c.Service("search")
	if got, want := checkout.Forecast.Signal, SignalRequests; got != want {
		t.Errorf("checkout forecast.signal = %q, want %q", got, want)
	}
	if got, want := search.Forecast.Signal, SignalLatency; got != want {
		t.Errorf("search forecast.signal = %q, want %q", got, want)
	}
	rs, err := c.Resolve()
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got, want := rs[slices.Index(c.ServiceNames(), "checkout")].Period, 0; got != want {
		t.Errorf("checkout period steps = %d, want %d", got, want)
	}
	q := checkout.Action("async-queue").Actuator.Webhook
	if q.Retries != 0 || q.AuthHeader != DefaultAuthHeader || q.AuthEnv != "CHECKOUT_TOKEN" {
		t.Errorf("checkout webhook = %+v, want retries 0, auth header %q from env", q, DefaultAuthHeader)
	}
	f := search.Action("flags")
	if got, want := f.Actuator.Webhook.AuthFile, filepath.Join("..", "testdata", "token"); got != want {
		t.Errorf("auth_file = %q, want %q", got, want)
	}
	if got, want := f.Actuator.Webhook.AuthHeader, "X-Token"; got != want {
		t.Errorf("auth_header = %q, want %q", got, want)
	}
	if got, want := [2]float64{f.BaselineValue(), f.EngagedValue()}, [2]float64{2, 5}; got != want {
		t.Errorf("baseline, engaged = %v, want %v", got, want)
	}
}

// wantErr is one expected problem: its path, line and a part of its message.
type wantErr struct {
	path string
	line int
	msg  string
}

func TestLoadBad(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		want []wantErr
	}{
		{
			name: "empty file",
			file: "empty.bad.yaml",
			want: []wantErr{{"", 0, "empty configuration"}},
		},
		{
			name: "malformed YAML",
			file: "malformed.bad.yaml",
			want: []wantErr{{"", 4, "did not find expected ',' or ']'"}},
		},
		{
			name: "more than one document",
			file: "multi_doc.bad.yaml",
			want: []wantErr{{"", 7, "more than one YAML document"}},
		},
		{
			name: "wrong types",
			file: "wrong_type.bad.yaml",
			want: []wantErr{
				{"services[0].incident.above", 8, "cannot unmarshal !!seq into float64"},
				{"services[0].incident.consecutive", 9, "cannot unmarshal !!str `three` into int"},
				{"services[0].forecast.paths", 11, "1.5 is not an integer"},
			},
		},
		{
			name: "unknown keys",
			file: "unknown_field.bad.yaml",
			want: []wantErr{
				{"global.intervall", 2, `unknown field "intervall"`},
				{"services[0].playbook[0].warm_up", 11, `unknown field "warm_up"`},
			},
		},
		{
			name: "key set twice",
			file: "duplicate_key.bad.yaml",
			want: []wantErr{{"services[0].name", 7, `"name" already defined at line 2`}},
		},
		{
			name: "invalid cron expression",
			file: "bad_cron.bad.yaml",
			want: []wantErr{{"services[0].forecast.refit", 8, `invalid cron expression "61 * * * *": end of range (61) above maximum (59)`}},
		},
		{
			name: "negative duration",
			file: "negative_duration.bad.yaml",
			want: []wantErr{{"services[0].playbook[0].cooldown", 12, `invalid duration "-5m"`}},
		},
		{
			name: "duration unit, one problem",
			file: "duration_unit.bad.yaml",
			want: []wantErr{{"global.interval", 2, `invalid duration "1ns"`}},
		},
		{
			name: "crons that do not fire, windows too close",
			file: "schedule_fires.bad.yaml",
			want: []wantErr{
				{"services[0].forecast.refit", 10, `invalid cron expression "@every -1m": @every needs a positive duration, not -1m`},
				{"services[1].forecast.refit", 17, `invalid cron expression "0 0 30 2 *": it never fires`},
				{"schedules[0].cron", 21, "the schedule never fires"},
				{"schedules[1].duration", 26, "window [2024-01-01T00:00:00Z, 2024-01-01T00:00:30Z) and the next window [2024-01-01T00:01:00Z, 2024-01-01T00:01:30Z) are less than global.interval (1m) apart"},
			},
		},
		{
			name: "resolve_after longer than the history",
			file: "resolve_after.bad.yaml",
			want: []wantErr{{"services[0].incident.resolve_after", 10, "2h must be <= global.history (1h)"}},
		},
		{
			name: "clear above trigger",
			file: "clear_above_trigger.bad.yaml",
			want: []wantErr{{"services[0].forecast.clear", 9, "0.7 must be <= trigger (0.5)"}},
		},
		{
			name: "peak quantile above 1, a trace's zone that is not one",
			file: "peak_quantile.bad.yaml",
			want: []wantErr{
				{"services[0].sim.load.peak_quantile", 11, "1.5 must be within (0, 1]"},
				{"services[0].sim.load.timezone", 12, `unknown time zone "Local"`},
			},
		},
		{
			name: "double-seasonal",
			file: "double_seasonal.bad.yaml",
			want: []wantErr{
				{"services[0].forecast.model", 10, "double-seasonal fits on two long periods (2 × 1w): global.history (1w) must be at least 2w"},
				{"services[1].forecast.period", 18, "double-seasonal needs the period set"},
				{"services[2].forecast.long_period", 26, "1d must be longer than forecast.period (1d)"},
				{"services[3].forecast.long_period", 33, "1m30s must be a multiple of global.interval (1m)"},
			},
		},
		{
			name: "revert rule",
			file: "revert.bad.yaml",
			want: []wantErr{
				{"services[0].forecast.revert", 9, `unknown rule "later" (want reach or horizon)`},
				{"services[0].forecast.imminent", 10, `unknown value "maybe" (want engage or off)`},
			},
		},
		{
			name: "unknown actuator",
			file: "unknown_actuator.bad.yaml",
			want: []wantErr{{"services[0].playbook[0].actuator.kind", 10, `unknown actuator "k8s" (want sim, webhook or kube)`}},
		},
		{
			name: "kube actuators",
			file: "kube_actuator.bad.yaml",
			want: []wantErr{
				{"kubernetes.leader_election.lease_duration", 2, "15s must be > renew_deadline (20s)"},
				{"services[0].playbook[0].actuator.kube.namespace", 17, `invalid namespace "Shop"`},
				{"services[0].playbook[0].max", 23, "2.5 must be a whole number for target replicas"},
				{"services[0].playbook[1].actuator.kube.key", 31, "only for target flag"},
				{"services[0].playbook[1].actuator.kube.selector", 27, "required for target cpu_limits"},
				{"services[0].playbook[1].actuator.kube.floor", 30, `invalid CPU quantity "100 millicores"`},
				{"services[0].playbook[2].actuator.kube.target", 36, `unknown target "feature" (want replicas, cpu_limits or flag)`},
			},
		},
		{
			name: "sharding without leader election",
			file: "sharding.bad.yaml",
			want: []wantErr{
				{"kubernetes.leader_election.replicas", 3, "3 replicas split the services on member Leases: needs enabled: true"},
			},
		},
		{
			name: "duplicate names",
			file: "duplicate_names.bad.yaml",
			want: []wantErr{
				{"services[0].playbook[1].name", 10, `duplicate action name "async-queue" (also playbook[0])`},
				{"services[1].name", 12, `duplicate service name "checkout" (also services[0])`},
			},
		},
		{
			name: "missing latency signal",
			file: "missing_latency.bad.yaml",
			want: []wantErr{{"services[0].signals.latency", 3, "required"}},
		},
		{
			name: "max below min",
			file: "max_below_min.bad.yaml",
			want: []wantErr{{"services[0].playbook[0].max", 11, "1 must be >= min (2)"}},
		},
		{
			name: "no services",
			file: "no_services.bad.yaml",
			want: []wantErr{{"services", 1, "at least one service is required"}},
		},
		{
			name: "signals and actuators of the wrong kind",
			file: "sim_signals.bad.yaml",
			want: []wantErr{
				{"services[0].signals.latency.query", 4, "only for source kind prometheus; set sim"},
				{"services[0].signals.pool_in_use.sim", 5, `unknown simulator signal "pool_used"`},
				{"services[0].playbook[0].actuator.knob", 10, "required for actuator kind sim"},
				{"services[0].playbook[0].actuator.webhook", 12, "only for actuator kind webhook"},
				{"services[0].playbook[1].actuator.knob", 14, `unknown knob "cpu" (want queue, replicas or cpu_limit)`},
			},
		},
		{
			name: "prometheus source",
			file: "prometheus.bad.yaml",
			want: []wantErr{
				{"source.prometheus.url", 4, `invalid URL "ftp://prometheus": want an absolute http or https URL`},
				{"source.prometheus", 3, "at most one of basic_auth, oauth2 & authorization must be configured"},
			},
		},
		{
			name: "PromQL that does not parse",
			file: "promql.bad.yaml",
			want: []wantErr{
				{"services[0].signals.latency.query", 9, "invalid PromQL expression \"histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_second…\": 1:95: parse error: unclosed left parenthesis"},
				{"services[0].signals.requests.query", 11, "1:46: parse error: unexpected character: 'm'"},
				{"services[0].signals.pool_limit.query", 13, `1:18: parse error: unexpected identifier "db_pool_connections_max" in aggregation`},
			},
		},
		{
			name: "prometheus retries",
			file: "prometheus_retry.bad.yaml",
			want: []wantErr{
				{"source.prometheus.retries", 6, "-1 must be >= 0"},
				{"source.prometheus.max_backoff", 8, "1s must be >= min_backoff (2s)"},
			},
		},
		{
			name: "sim knobs",
			file: "sim_knobs.bad.yaml",
			want: []wantErr{
				{"services[0].sim.knobs.flags", 17, `unknown knob "flag" (want queue, replicas or cpu_limit)`},
				{"services[0].sim.knobs.nope", 18, `no playbook action "nope"`},
				{"services[0].sim.knobs.queue", 19, `"replicas" differs from the action's actuator.knob "queue"`},
			},
		},
		{
			name: "schedules",
			file: "schedules.bad.yaml",
			want: []wantErr{
				{"schedules[0].cron", 11, `invalid cron expression "30 25 * * *": end of range (25) above maximum (23)`},
				{"schedules[2].services[1]", 22, `unknown service "search"`},
				{"schedules[2].actions.async-queue", 25, `service "checkout" has no playbook action "async-queue"`},
				{"schedules[3].timezone", 29, `unknown time zone "Mars/Olympus"`},
				{"schedules[2].actions.read-replicas", 25, `window [2024-01-01T13:00:00Z, 2024-01-01T15:00:00Z) overlaps prewarm "sale" (schedules[1], window [2024-01-01T11:30:00Z, 2024-01-01T14:30:00Z)) which asks read-replicas 4, this asks 6`},
				{"schedules[4].at", 33, `freeze window [2026-11-11T12:00:00Z, 2026-11-11T13:00:00Z) would block prewarm "sale" (schedules[1]`},
			},
		},
		{
			name: "limits",
			file: "limits.bad.yaml",
			want: []wantErr{
				{"global.history", 3, "100w is 1008000 steps of global.interval (1m): at most 100000"},
				{"services[0].forecast.horizon", 11, "1000w is 10080000 steps of global.interval (1m): at most 1000"},
				{"services[0].forecast.paths", 12, "1000000000 must be <= 10000"},
				{"services[1].forecast.horizon", 19, "16h41m is 1001 steps of global.interval (1m): at most 1000"},
				{"services[1].forecast.paths", 20, "10001 must be <= 10000"},
			},
		},
		{
			name: "interval too long",
			file: "interval.bad.yaml",
			want: []wantErr{{"global.interval", 2, "10000w must be <= 1h"}},
		},
		{
			name: "several problems, all reported",
			file: "many.bad.yaml",
			want: []wantErr{
				{"global.history", 4, "1m must be >= 2 × global.interval (2m)"},
				{"global.listen", 5, `invalid address "9797"`},
				{"source.prometheus.url", 6, "required for source kind prometheus"},
				{"services[0].signals.latency.sim", 11, "only for source kind sim; set query"},
				{"services[0].signals.requests.sim", 12, "only for source kind sim"},
				{"services[0].incident.above", 14, "0 must be > 0"},
				{"services[0].forecast.model", 17, `unknown model "arima"`},
				{"services[0].forecast.horizon", 18, "30s must be >= global.interval (1m)"},
				{"services[0].forecast.period", 19, "1m30s must be a multiple of global.interval (1m)"},
				{"services[0].forecast.trigger", 20, "1.5 must be within (0, 1]"},
				{"services[0].playbook[0].name", 23, "required"},
				{"services[0].playbook[0].actuator.knob", 25, "only for actuator kind sim"},
				{"services[0].playbook[0].actuator.webhook.url", 27, `invalid URL "/relative"`},
				{"services[0].playbook[0].actuator.webhook.auth_env", 29, "only one of auth_file and auth_env"},
				{"services[0].playbook[0].baseline", 30, "2 must be within [min, max] ([0, 1])"},
				{"services[0].playbook[1].engaged", 35, "0.5 equals baseline"},
				{"services[0].playbook[1].max", 34, "2 must be <= 1 for knob cpu_limit"},
				{"services[0].sim.plant.app_capacity", 38, "-1 must be > 0"},
				{"services[0].sim.plant.neighbour_cpu", 39, "1 must be within [0, 1)"},
				{"services[0].sim.plant.read_fraction", 40, "1.5 must be within [0, 1]"},
				{"services[0].sim.load.start", 42, `invalid RFC 3339 time "yesterday"`},
				{"services[0].sim.load.daily", 43, "2 must be within [0, 1]"},
				{"services[0].sim.load.flash_crowds", 44, "-1 must be >= 0"},
				{"services[1].name", 45, "required"},
				{"services[1].forecast.signal", 51, `"requests" needs signals.requests`},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join("..", "testdata", tt.file)
			c, err := LoadFile(file)
			if err == nil {
				t.Fatalf("LoadFile(%s) = %+v, want an error", file, c)
			}
			if c != nil {
				t.Errorf("LoadFile(%s) returned a config with its error", file)
			}
			checkErrors(t, err, file, tt.want)
		})
	}
}

// checkErrors checks that err holds exactly the problems want, in order.
func checkErrors(t *testing.T, err error, file string, want []wantErr) {
	t.Helper()
	got := Errors(err)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.File != file || g.Path != w.path || g.Line != w.line || !strings.Contains(g.Msg, w.msg) {
			t.Errorf("problem %d:\n got %s:%d: %s: %s\nwant %s:%d: %s: …%s…", i, g.File, g.Line, g.Path, g.Msg, file, w.line, w.path, w.msg)
		}
		if s := g.Error(); !strings.HasPrefix(s, file) || !strings.Contains(s, g.Msg) {
			t.Errorf("problem %d: Error() = %q, want it to start with the file and hold the message", i, s)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestValidateHandBuilt(t *testing.T) {
	svc := DefaultService
	svc.Name = "checkout"
	svc.Signals.Latency.Sim = SimLatencyP99
	svc.Incident.Above = 0.5
	act := DefaultAction
	act.Name = "queue"
	act.Actuator.Kind, act.Actuator.Knob = ActuatorSim, KnobQueue
	svc.Playbook = []Action{act}
	c := DefaultConfig
	c.Services = []Service{svc}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate of a config built from the defaults: %v", err)
	}
	if got, want := c.Global.StaleAfter, 2*c.Global.Interval; got != want {
		t.Errorf("stale_after = %v, want %v", got, want)
	}

	// SetDefaults also completes a config built from zero values, where zero
	// is not a valid setting.
	var z Config
	z.Services = []Service{{Name: "a", Signals: Signals{Latency: SignalSource{Sim: SimLatencyP99}}, Incident: Incident{Above: 1}}}
	z.SetDefaults()
	if err := z.Validate(); err != nil {
		t.Errorf("Validate after SetDefaults of a zero config: %v", err)
	}

	c.Services[0].Forecast.Clear = 0.7
	c.Services[0].Playbook[0].Max = -1
	c.Services[0].Playbook = append(c.Services[0].Playbook, Action{Name: "queue", Actuator: Actuator{Kind: "k8s"}, Max: 1})
	checkErrors(t, c.Validate(), "", []wantErr{
		{"services[0].forecast.clear", 0, "0.7 must be <= trigger (0.5)"},
		{"services[0].playbook[0].max", 0, "-1 must be >= min (0)"},
		{"services[0].playbook[1].name", 0, `duplicate action name "queue" (also playbook[0])`},
		{"services[0].playbook[1].actuator.kind", 0, `unknown actuator "k8s"`},
	})
}

func TestErrorString(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  Error
		want string
	}{
		{"everything", Error{File: "c.yaml", Line: 42, Path: "services[0].forecast.refit", Msg: "bad"}, "c.yaml:42: services[0].forecast.refit: bad"},
		{"no line", Error{File: "c.yaml", Msg: "empty configuration"}, "c.yaml: empty configuration"},
		{"no file", Error{Line: 3, Path: "global.interval", Msg: "bad"}, "line 3: global.interval: bad"},
		{"path only", Error{Path: "services", Msg: "bad"}, "services: bad"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineOf(t *testing.T) {
	data := []byte(`global:
  interval: 1m
services:
  - name: a
    playbook:
      - name: x
        max: 2
`)
	c, err := Load(data, "")
	if err == nil {
		t.Fatalf("Load = %+v, want errors", c)
	}
	for _, e := range Errors(err) {
		if e.File != "" || e.Line == 0 {
			t.Errorf("%v: want a line and no file", e)
		}
	}
	// lineOf itself, on the node tree.
	for _, tt := range []struct {
		path string
		line int
	}{
		{"", 1},
		{"global", 1},
		{"global.interval", 2},
		{"global.history", 1}, // missing: the parent's line
		{"services[0]", 4},
		{"services[0].playbook[0].max", 7},
		{"services[0].playbook[3].max", 5},
		{"services[0].signals.latency", 4},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := lineOf(mustDocument(t, data), tt.path); got != tt.line {
				t.Errorf("lineOf(%q) = %d, want %d", tt.path, got, tt.line)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	if start, err := DefaultWorkload.StartTime(); err != nil || !start.Equal(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default load start = %v, %v", start, err)
	}

	sig := Signals{Latency: SignalSource{Sim: SimLatencyP99}, PoolLimit: SignalSource{Query: "q"}}
	for _, name := range SignalNames {
		want := map[string]SignalSource{SignalLatency: sig.Latency, SignalPoolLimit: sig.PoolLimit}[name]
		if got := sig.Get(name); got != want {
			t.Errorf("Get(%q) = %+v, want %+v", name, got, want)
		}
	}

	c := &Config{Services: []Service{{Name: "a"}, {Name: "b", Playbook: []Action{{Name: "x"}}}}}
	if s := c.Service("b"); s == nil || s.Name != "b" || s.Action("x") == nil || s.Action("y") != nil {
		t.Errorf("Service(b) = %+v", s)
	}
	if c.Service("c") != nil {
		t.Error(`Service("c") != nil`)
	}
}

func mustDocument(t *testing.T, data []byte) *yaml.Node {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	return document(&root)
}

// TestErrorsClipValues: an error quotes at most 80 characters of a value,
// however long the field.
func TestErrorsClipValues(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	for _, tt := range []struct {
		name, yaml string
		want       int
	}{
		{name: "decoding", want: 2, yaml: `global: {interval: %[1]s}
services:
  - name: a
    %[2]s: 1
`},
		{name: "validation", want: 10, yaml: `global: {listen: %[1]s}
source:
  kind: prometheus
  prometheus: {url: "http://%[1]s/%%zz"}
services:
  - name: %[1]s
    signals:
      latency: {query: up}
    incident: {above: 0.5}
    forecast: {model: %[1]s, refit: "%[1]s", revert: %[1]s}
    playbook:
      - {name: a, actuator: {kind: webhook, webhook: {url: "%[1]s"}}}
schedules:
  - {name: s, kind: %[1]s, cron: "%[1]s", duration: 1h}
  - {name: t, kind: event, at: "%[1]s", duration: 1h, timezone: %[1]s}
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// yaml takes keys of up to 1024 bytes.
			data := fmt.Sprintf(tt.yaml, huge, strings.Repeat("k", 1000))
			_, err := Load([]byte(data), "huge.yaml")
			errs := Errors(err)
			if len(errs) != tt.want {
				t.Errorf("got %d problems, want %d", len(errs), tt.want)
			}
			for _, e := range errs {
				if len(e.Error()) > 600 {
					t.Errorf("%.100s: error of %d bytes: %.300s", e.Path, len(e.Error()), e.Msg)
				}
			}
			if !strings.Contains(err.Error(), strings.Repeat("x", 80)+"…") {
				t.Errorf("no value clipped with an ellipsis:\n%.2000s", err)
			}
		})
	}
}

// TestCheckFiles: CheckFiles reports each file the configuration names
// that cannot be read, with its YAML path.
func TestCheckFiles(t *testing.T) {
	c, err := LoadFile(filepath.Join("..", "testdata", "missing_files.bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	errs := Errors(c.CheckFiles())
	want := []struct{ path, msg string }{
		{"source.prometheus.authorization.credentials_file", `cannot read "../testdata/no-such-token": no such file or directory`},
		{"source.prometheus.tls_config.ca_file", `"../testdata/certs" is a directory, not a file`},
		{"services[0].sim.load.trace", `cannot read "../testdata/no-such-trace.csv": no such file or directory`},
		{"services[0].playbook[0].actuator.webhook.auth_file", `cannot read "../testdata/no-such-auth": no such file or directory`},
	}
	if len(errs) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(errs), len(want), errs)
	}
	for i := range min(len(errs), len(want)) {
		if errs[i].Path != want[i].path || errs[i].Msg != want[i].msg {
			t.Errorf("problem %d: got %s: %s, want %s: %s", i, errs[i].Path, errs[i].Msg, want[i].path, want[i].msg)
		}
	}
	for _, f := range []string{"prometheus.good.yaml", "minimal.good.yaml"} {
		c, err := LoadFile(filepath.Join("..", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckFiles(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestCheckStateFile: CheckFiles reports a state file that run could not
// save (its folder missing or a file, the path a folder), and takes one
// that does not exist yet in a folder that does.
func TestCheckStateFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"new file in a folder", filepath.Join(dir, "state.json"), ""},
		{"missing folder", filepath.Join(dir, "nope", "state.json"), "its folder"},
		{"folder", dir, "is a directory, not a file"},
		{"file as folder", filepath.Join(plain, "state.json"), "not a folder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig
			c.Global.StateFile = tt.file
			errs := Errors(c.CheckFiles())
			if tt.want == "" {
				if len(errs) != 0 {
					t.Errorf("problems %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Path != "global.state_file" || !strings.Contains(errs[0].Msg, tt.want) {
				t.Errorf("problems %v, want one at global.state_file saying %q", errs, tt.want)
			}
		})
	}
}
