package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/actuators/webhook"
	"github.com/presage-dev/presage/config"
)

// The metrics a Server exports, each with a service label.
const (
	MetricRequestDuration = "presage_sim_request_duration_seconds" // histogram
	MetricRequests        = "presage_sim_requests_total"           // counter
	MetricPoolInUse       = "presage_sim_pool_in_use"              // gauge
	MetricPoolLimit       = "presage_sim_pool_limit"               // gauge
	MetricLatencyP99      = "presage_sim_latency_p99_seconds"      // gauge: the plant's own p99
	MetricKnob            = "presage_sim_knob"                     // gauge, with a knob label
)

// maxKeys bounds the idempotency keys a Server remembers (oldest dropped).
const maxKeys = 10000

// ln100 is ln(100): an exponential distribution's p99 is ln(100) times its
// mean.
var ln100 = math.Log(100)

// Server runs simulated services in real (or sped-up) time as a live target
// for a real Prometheus: it exports their signals as Prometheus metrics on
// its own registry and accepts the webhook actuator's actions, which set the
// services' knobs. See ServeHandler for the endpoints.
//
// # Metrics
//
// Per service (label service):
//
//   - presage_sim_request_duration_seconds, a histogram of the requests'
//     latency, so that histogram_quantile(0.99, sum by (service, le)
//     (rate(presage_sim_request_duration_seconds_bucket[w]))) reads the
//     plant's p99. The plant gives a p99 L per step, not a distribution: a
//     step adds the step's requests (rate × the wall time the step stands
//     for) to the histogram as if their latencies were exponentially
//     distributed with that p99, the shape of an M/M/1 sojourn: mean
//     L/ln(100), P(latency ≤ b) = 1 − 100^(−b/L). The counts are added in
//     expectation (no random draws), so the histogram's 0.99 quantile is L
//     up to the interpolation within a bucket: buckets grow by a factor
//     1.25 from 1 ms to 120 s, and by 1.05 within a factor 2 of the
//     service's incident.above, where it matters (within 5% there).
//   - presage_sim_requests_total, a counter: rate() reads the plant's
//     requests per second.
//   - presage_sim_pool_in_use and presage_sim_pool_limit, gauges.
//   - presage_sim_latency_p99_seconds, a gauge: the plant's own p99, to
//     compare with what the histogram gives.
//   - presage_sim_knob{knob}, a gauge per knob: queue, replicas, cpu_limit.
//
// Counters advance by the plant's rates times wall time, so rate() in
// Prometheus reads the plant's rates whatever the speed; only the load and
// the knobs' warm-ups run faster. While a service's load has no value (a gap
// in its trace) the service exports nothing but its knobs, as a failed
// scrape would, and Prometheus marks its series stale.
type Server struct {
	cfg      *config.Config
	src      *Source
	interval time.Duration
	log      *slog.Logger
	reg      *prometheus.Registry

	mu       sync.Mutex // guards the fields below
	services []*served
	started  bool
	last     time.Time
	keys     map[string]bool
	keyOrder []string
}

// served is what a Server exports of one service.
type served struct {
	name    string
	plant   *Plant
	buckets []float64 // upper bounds, increasing
	cum     []float64 // observations ≤ each bound, in expectation
	count   float64
	sum     float64
	reqs    float64
	sig     Signals
	up      bool // the last step had a load
}

// ServeOptions configures NewServer.
type ServeOptions struct {
	// Logger receives the actions applied; nil discards.
	Logger *slog.Logger
}

// NewServer builds the simulated services of cfg (their sim sections, as
// replay does, whatever the source kind) driven by their loads from the
// start, looping. The knob an action sets is its actuator's knob for kind
// sim, else its entry in the service's sim.knobs.
func NewServer(cfg *config.Config, o ServeOptions) (*Server, error) {
	loads, err := Loads(cfg, nil)
	if err != nil {
		return nil, err
	}
	src, _, err := Build(cfg, loads, nil)
	if err != nil {
		return nil, err
	}
	src.SetOptions(SourceOptions{Align: true, Loop: true, MaxHistory: 1})
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, src: src, interval: time.Duration(cfg.Global.Interval), log: log,
		reg: prometheus.NewRegistry(), keys: make(map[string]bool),
	}
	for _, sc := range cfg.Services {
		b := LatencyBuckets(sc.Incident.Above)
		s.services = append(s.services, &served{
			name: sc.Name, plant: src.Plant(sc.Name), buckets: b, cum: make([]float64, len(b)),
		})
	}
	s.reg.MustRegister(s)
	return s, nil
}

// LatencyBuckets returns the histogram's upper bounds for a service whose
// incident threshold is above (seconds): a factor 1.25 apart from 1 ms to
// 120 s, and 1.05 apart within a factor 2 of above.
func LatencyBuckets(above float64) []float64 {
	var b []float64
	for x := 0.001; x <= 120; x *= 1.25 {
		if !(above > 0) || x < above/2 || x > above*2 {
			b = append(b, x)
		}
	}
	if above > 0 {
		for x := above / 2; x <= above*2*1.0001; x *= 1.05 {
			b = append(b, x)
		}
	}
	slices.Sort(b)
	for i := range b {
		b[i] = math.Round(b[i]*1e6) / 1e6
	}
	return slices.Compact(b)
}

// Plant returns the named service's plant, or nil.
func (s *Server) Plant(service string) *Plant { return s.src.Plant(service) }

// History returns the last steps of the named service (see Source.History).
func (s *Server) History(service string) []Record { return s.src.History(service) }

// Step advances every service by one step ending at now (simulated time) and
// adds the step's requests to the metrics over wall, the real time the step
// stands for (interval/speed).
func (s *Server) Step(ctx context.Context, now time.Time, wall time.Duration) error {
	if _, err := s.src.Read(ctx, now); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started, s.last = true, now
	for _, sv := range s.services {
		h := s.src.History(sv.name)
		if len(h) == 0 {
			continue
		}
		rec := h[len(h)-1]
		sv.up = !math.IsNaN(rec.Load) && !math.IsNaN(rec.Signals.LatencyP99)
		if !sv.up {
			continue
		}
		sv.sig = rec.Signals
		n := rec.Signals.Requests * wall.Seconds()
		if !(n > 0) || math.IsInf(n, 0) {
			continue
		}
		sv.observe(n, rec.Signals.LatencyP99)
	}
	return nil
}

// observe adds n requests whose latency is exponential with p99 l.
func (sv *served) observe(n, l float64) {
	sv.reqs += n
	sv.count += n
	if !(l > 0) {
		for i := range sv.cum {
			sv.cum[i] += n
		}
		return
	}
	sv.sum += n * l / ln100
	for i, b := range sv.buckets {
		sv.cum[i] += n * -math.Expm1(-b*ln100/l)
	}
}

// Run steps the services every interval/speed of wall time until ctx is
// done, each step one interval of simulated time: the only place a Server
// reads the clock.
func (s *Server) Run(ctx context.Context, speed float64) error {
	if !(speed > 0) || math.IsInf(speed, 0) {
		return fmt.Errorf("sim: serve speed %v: must be > 0", speed)
	}
	start := time.Now()
	wall := time.Duration(float64(s.interval) / speed)
	if wall <= 0 {
		return fmt.Errorf("sim: serve interval %v / speed %v is below a nanosecond", s.interval, speed)
	}
	if err := s.Step(ctx, start, 0); err != nil {
		return err
	}
	tick := time.NewTicker(wall)
	defer tick.Stop()
	last := start
	for k := 1; ; k++ {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			if err := s.Step(ctx, start.Add(time.Duration(k)*s.interval), t.Sub(last)); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			last = t
		}
	}
}

var (
	descDuration = prometheus.NewDesc(MetricRequestDuration,
		"Latency of the simulated service's requests (synthesised per step from the plant's p99; see package sim).", []string{"service"}, nil)
	descRequests = prometheus.NewDesc(MetricRequests,
		"Requests the simulated service received.", []string{"service"}, nil)
	descPoolInUse = prometheus.NewDesc(MetricPoolInUse,
		"Database connections in use.", []string{"service"}, nil)
	descPoolLimit = prometheus.NewDesc(MetricPoolLimit,
		"Database connection pool size.", []string{"service"}, nil)
	descLatencyP99 = prometheus.NewDesc(MetricLatencyP99,
		"The plant's own p99 latency of the last step, seconds.", []string{"service"}, nil)
	descKnob = prometheus.NewDesc(MetricKnob,
		"Value of each knob of the simulated service (queue 0/1, replicas, cpu_limit fraction).", []string{"service", "knob"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDuration, descRequests, descPoolInUse, descPoolLimit, descLatencyP99, descKnob} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		for _, k := range Knobs {
			if v, err := sv.plant.Get(k); err == nil {
				ch <- prometheus.MustNewConstMetric(descKnob, prometheus.GaugeValue, v, sv.name, k)
			}
		}
		if !s.started || !sv.up {
			continue
		}
		buckets := make(map[float64]uint64, len(sv.buckets))
		for i, b := range sv.buckets {
			buckets[b] = uint64(math.Round(sv.cum[i]))
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, uint64(math.Round(sv.count)), sv.sum, buckets, sv.name)
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, sv.reqs, sv.name)
		for _, g := range []struct {
			d *prometheus.Desc
			v float64
		}{{descPoolInUse, sv.sig.PoolInUse}, {descPoolLimit, sv.sig.PoolLimit}, {descLatencyP99, sv.sig.LatencyP99}} {
			if !math.IsNaN(g.v) && !math.IsInf(g.v, 0) {
				ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, g.v, sv.name)
			}
		}
	}
}

// ActionResult is the JSON answer to an accepted action.
type ActionResult struct {
	Service string  `json:"service"`
	Action  string  `json:"action"`
	Knob    string  `json:"knob"`
	Value   float64 `json:"value"`
	// Duplicate reports an idempotency key already applied: nothing changed.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ServeHandler returns the Server's HTTP endpoints:
//
//   - GET /metrics: the simulated services' metrics.
//   - POST /actions: a webhook actuator's action (the JSON of
//     actuators.Action). It sets the knob of the named service's playbook
//     action to the action's to, and answers 200 with an ActionResult. A
//     request whose Idempotency-Key header (or idempotency_key field) was
//     already applied changes nothing and answers 200 with duplicate set.
//     An unknown service or action answers 404, a bad body 400, a value the
//     knob refuses 422.
//   - GET /actions?service=NAME&action=ACTION: the value of the knob of
//     the named service's playbook action, as a webhook's read URL
//     (webhook.ReadValue): {"value": NUMBER}; 404 for an unknown service
//     or action.
//   - GET /healthz: 200 once running.
func (s *Server) ServeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /actions", s.handleAction)
	mux.HandleFunc("GET /actions", s.handleRead)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	var body struct {
		actuators.Action
		IdempotencyKey string `json:"idempotency_key"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(&body); err != nil {
		http.Error(w, "bad action: "+err.Error(), http.StatusBadRequest)
		return
	}
	a := body.Action
	key := r.Header.Get(webhook.IdempotencyHeader)
	if key == "" {
		key = body.IdempotencyKey
	}
	svc := s.cfg.Service(a.Service)
	if svc == nil {
		http.Error(w, fmt.Sprintf("unknown service %q", a.Service), http.StatusNotFound)
		return
	}
	knob := svc.Knob(a.Action)
	if knob == "" {
		http.Error(w, fmt.Sprintf("service %q: no knob for action %q (set sim.knobs)", a.Service, a.Action), http.StatusNotFound)
		return
	}
	res := ActionResult{Service: a.Service, Action: a.Action, Knob: knob}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" && s.keys[key] {
		res.Duplicate = true
		res.Value, _ = s.src.Plant(a.Service).Get(knob)
		writeJSON(w, res)
		return
	}
	k, err := s.src.Knob(a.Service, knob)
	if err == nil {
		err = k.Apply(r.Context(), a)
	}
	if err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, context.Canceled) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		return
	}
	if key != "" {
		s.remember(key)
	}
	res.Value, _ = k.Current(r.Context())
	s.log.Info("action applied", "service", a.Service, "action", a.Action, "op", a.Op, "knob", knob, "to", a.To, "idempotency_key", key)
	writeJSON(w, res)
}

// handleRead answers a webhook's read of a knob (read_url).
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	service, action := r.URL.Query().Get("service"), r.URL.Query().Get("action")
	svc := s.cfg.Service(service)
	if svc == nil {
		http.Error(w, fmt.Sprintf("unknown service %q", service), http.StatusNotFound)
		return
	}
	knob := svc.Knob(action)
	if knob == "" {
		http.Error(w, fmt.Sprintf("service %q: no knob for action %q (set sim.knobs)", service, action), http.StatusNotFound)
		return
	}
	s.mu.Lock()
	v, err := s.src.Plant(service).Get(knob)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, webhook.ReadValue{Value: &v})
}

// remember records an applied key, forgetting the oldest beyond maxKeys.
// s.mu is held.
func (s *Server) remember(key string) {
	s.keys[key] = true
	s.keyOrder = append(s.keyOrder, key)
	if len(s.keyOrder) > maxKeys {
		delete(s.keys, s.keyOrder[0])
		s.keyOrder = s.keyOrder[1:]
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
