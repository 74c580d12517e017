package replay

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"log/slog"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/internal/chart"
	"github.com/presage-dev/presage/metrics"
	"github.com/presage-dev/presage/metrics/file"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
)

// SignalsOptions configures ReplaySignals.
type SignalsOptions struct {
	// Config is the validated configuration. The services that the
	// recording holds are replayed; global.interval must be the
	// recording's step.
	Config *config.Config
	// Recording is what the services exported (ReadSignals).
	Recording *file.Recording
	// Logger receives the controller's logs; nil discards.
	Logger *slog.Logger
	// Workers and FullPaths are passed to the controller (see
	// controller.Options).
	Workers   int
	FullPaths bool
	// Detail keeps every step's decision record, as ReplayOptions.Detail
	// (WriteHTML needs it).
	Detail bool
	// Policy is the policy that recommends: predictive (the default) or
	// plan. The recording's services cannot react, and the planner's
	// prior is then only what the actions declare (capacity_gain).
	Policy policy.Mode
}

// SignalsReport is what presage would have recommended over recorded
// signals, and when, against the incidents that really happened in them.
// Nothing could react: each recommendation went to a dry-run recorder, and
// the controller went on as if it had been applied (as `presage
// recommend` does). Its JSON form is what `presage replay -signals -json`
// writes.
type SignalsReport struct {
	Kind     string        `json:"kind"` // "signals"
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Interval time.Duration `json:"-"`
	Policy   string        `json:"policy"` // "predictive" or "plan"
	mode     policy.Mode
	Total    SignalsResult   `json:"total"`
	Services []SignalsResult `json:"services"`
	// NotRecorded lists the configured services the recording does not
	// hold; NotConfigured the recorded services the configuration does not
	// have. Neither is replayed.
	NotRecorded   []string `json:"not_recorded,omitempty"`
	NotConfigured []string `json:"not_configured,omitempty"`

	Config    *config.Config  `json:"-"` // the replayed services only
	Recording *file.Recording `json:"-"`
	Decisions *Decisions      `json:"-"`
	// services are Config's services as the loop runs them, same order.
	services []config.Resolved
}

// SignalsResult scores one service's recommendations (or, in Total, all
// of them) against the incidents of its recorded latency (model.Incidents).
type SignalsResult struct {
	Name string `json:"name"`
	// Incidents and BreachMinutes are those of the recorded latency.
	Incidents     int     `json:"incidents"`
	BreachMinutes float64 `json:"breach_minutes"`
	// Warned counts the incidents that a recommendation made ahead of them
	// (reason Escalate, on the forecast, or Imminent, on the K−1 samples
	// above the threshold before the incident) foretold: one made after the
	// previous incident ended, before this one started and at most the
	// forecast horizon before it (as Precision counts an engagement
	// justified), so that a lead time is never longer than the horizon.
	// InTime counts those whose lead time is at least the warm-up of the
	// first playbook action, so that the action would have taken effect.
	// Held counts the incidents that started while a recommendation made
	// on the forecast earlier than that (before the previous incident, or
	// more than the horizon ahead) was still in force: nothing reacted, so
	// it stayed. Missed counts the others: nothing in force, or only what
	// an incident in progress had engaged (the reactive floor, as a
	// threshold alert would).
	Warned int `json:"warned"`
	InTime int `json:"in_time"`
	Held   int `json:"held"`
	Missed int `json:"missed"`
	// Recall is (Warned + Held) / Incidents: the share of incidents that
	// started under a recommendation made on the forecast; null without
	// incidents.
	Recall *float64 `json:"recall"`
	// LeadTimeMinutes is, over the warned incidents, how long before the
	// start the first such recommendation came: at most the horizon.
	LeadTimeMinutes Distribution `json:"lead_time_minutes"`
	// Engagements counts the actions recommended ahead of an incident
	// (Escalate or Imminent); Justified those followed within the forecast horizon by
	// an incident; Precision is Justified / Engagements, null without
	// engagements.
	Engagements int      `json:"engagements"`
	Justified   int      `json:"justified"`
	Precision   *float64 `json:"precision"`
	// Reactive counts the actions recommended because an incident was in
	// progress (ReactiveFloor), Reversals the reverts recommended.
	Reactive  int `json:"reactive"`
	Reversals int `json:"reversals"`
}

// ErrIntervalMismatch is returned when global.interval is not the
// recording's step.
var ErrIntervalMismatch = errors.New("replay: global.interval is not the recording's step")

// ReplaySignals replays a recording through the predictive controller, with
// a virtual clock on the recording's grid and dry-run recorder actuators,
// and scores what it recommended against the incidents of the recorded
// latency. The same input gives the same report.
func ReplaySignals(ctx context.Context, o SignalsOptions) (*SignalsReport, error) {
	rec := o.Recording
	if o.Config == nil || rec == nil {
		return nil, errors.New("replay: of signals needs a config and a recording")
	}
	if iv := time.Duration(o.Config.Global.Interval); iv != rec.Step {
		return nil, fmt.Errorf("%w: the recording's step is %v, global.interval %v (set global.interval, or export with -step %v)",
			ErrIntervalMismatch, rec.Step, iv, iv)
	}
	cfg := *o.Config
	cfg.Services = nil
	mode := o.Policy
	if mode == policy.None {
		mode = policy.Predictive
	}
	if mode != policy.Predictive && mode != policy.Plan {
		return nil, fmt.Errorf("replay: a recording is replayed through a policy that forecasts, predictive or plan, not %s", mode)
	}
	rep := &SignalsReport{Kind: "signals", Policy: mode.String(), mode: mode, Recording: rec,
		Start: rec.Start, End: rec.Time(rec.Len), Interval: rec.Step}
	for _, s := range o.Config.Services {
		if _, ok := rec.Values[s.Name]; ok {
			cfg.Services = append(cfg.Services, s)
		} else {
			rep.NotRecorded = append(rep.NotRecorded, s.Name)
		}
	}
	for _, name := range rec.Services {
		if o.Config.Service(name) == nil {
			rep.NotConfigured = append(rep.NotConfigured, name)
		}
	}
	if len(cfg.Services) == 0 {
		return nil, fmt.Errorf("replay: the recording's services (%s) match none of the configuration's (%s)",
			sortedServices(rec.Services), sortedServices(rep.NotRecorded))
	}
	for _, s := range cfg.Services {
		if _, ok := rec.Values[s.Name][metrics.Latency]; !ok {
			return nil, fmt.Errorf("replay: the recording has no latency column: incidents cannot be found")
		}
	}
	rep.Config = &cfg
	services, err := cfg.Resolve()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rep.services = services
	rep.Decisions = newDecisions(cfg.ServiceNames(), rec.Start, rec.Step, mode, rec.Len, o.Detail)

	dry := actuators.NewRecorder(nil)
	acts := make(map[string][]actuators.Actuator, len(cfg.Services))
	for _, s := range cfg.Services {
		for _, a := range s.Playbook {
			dry.SetBaseline(s.Name, a.Name, a.BaselineValue())
			acts[s.Name] = append(acts[s.Name], dry.Knob(s.Name, a.Name, nil))
		}
	}
	ctl, err := controller.New(controller.Options{
		Config: &cfg, Source: NewRecordedSource(rec), Actuators: acts, Mode: mode, Logger: o.Logger,
		Workers: o.Workers, FullPaths: o.FullPaths,
		OnDecision: func(r controller.Record) { rep.Decisions.Service(r.Service).add(r) },
	})
	if err != nil {
		return nil, err
	}
	for i := range rec.Len {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := rec.Time(i)
		if err := ctl.Step(ctx, t); err != nil {
			return nil, fmt.Errorf("replay of signals at %s: %w", t.Format(time.RFC3339), err)
		}
	}

	rep.Total.Name = "total"
	var leads []float64
	for _, s := range rep.services {
		r, ls := scoreSignals(s, rec, rep.Decisions.Service(s.Name))
		rep.Services = append(rep.Services, r)
		leads = append(leads, ls...)
		t := &rep.Total
		t.Incidents += r.Incidents
		t.BreachMinutes += r.BreachMinutes
		t.Warned += r.Warned
		t.InTime += r.InTime
		t.Held += r.Held
		t.Missed += r.Missed
		t.Engagements += r.Engagements
		t.Justified += r.Justified
		t.Reactive += r.Reactive
		t.Reversals += r.Reversals
	}
	rep.Total.finish(leads)
	return rep, nil
}

// finish fills the ratios and the lead time distribution.
func (r *SignalsResult) finish(leads []float64) {
	r.LeadTimeMinutes = distribution(leads)
	if r.Incidents > 0 {
		v := float64(r.Warned+r.Held) / float64(r.Incidents)
		r.Recall = &v
	}
	if r.Engagements > 0 {
		v := float64(r.Justified) / float64(r.Engagements)
		r.Precision = &v
	}
}

// scoreSignals scores one service's decisions against its recorded
// incidents and returns the lead times of the warned ones, in minutes.
func scoreSignals(s config.Resolved, rec *file.Recording, decs *ServiceDecisions) (SignalsResult, []float64) {
	step := rec.Step.Minutes()
	inc := model.Incidents(rec.Values[s.Name][metrics.Latency], controller.IncidentPattern(s))
	r := SignalsResult{Name: s.Name, Incidents: len(inc)}
	var warmup time.Duration
	if len(s.Playbook) > 0 {
		warmup = s.Playbook[0].Warmup
	}
	type change struct {
		i int
		d controller.Record
	}
	var changes []change // the records that carry an action, in step order
	for i, d := range decs.Actions() {
		changes = append(changes, change{i, d})
	}
	var leads []float64
	horizon := s.Horizon
	prevEnd, c := -1, 0
	for _, in := range inc {
		r.BreachMinutes += float64(in.Breach) * step
		// The first forecast engagement since the previous incident and
		// within the horizon before this one.
		first, from := -1, max(prevEnd+1, in.Start-horizon)
		for ; c < len(changes) && changes[c].i < in.Start; c++ {
			if d := changes[c].d; first < 0 && changes[c].i >= from && forecastReason(d.Reason) && d.Err() == nil {
				first = changes[c].i
			}
		}
		prevEnd = in.End
		switch {
		case first >= 0: // in.Start-first <= horizon
			r.Warned++
			lead := time.Duration(in.Start-first) * rec.Step
			if lead >= warmup {
				r.InTime++
			}
			leads = append(leads, lead.Minutes())
		case forecastInForce(decs, in.Start-1):
			r.Held++
		default:
			r.Missed++
		}
	}
	for _, ch := range changes {
		d := ch.d
		for _, a := range d.Actions {
			switch {
			case a.Err != nil:
			case a.Op == actuators.Revert:
				r.Reversals++
			case forecastReason(d.Reason):
				r.Engagements++
				if incidentWithin(inc, ch.i, horizon) {
					r.Justified++
				}
			default:
				r.Reactive++
			}
		}
	}
	r.finish(leads)
	return r, leads
}

// forecastInForce reports whether, after decision i, actions were engaged
// and the first of them had been engaged on the forecast.
func forecastInForce(decs *ServiceDecisions, i int) bool {
	if i < 0 || i >= decs.Len() || decs.Level(i) == 0 {
		return false
	}
	for i > 0 && decs.Level(i-1) > 0 {
		i--
	}
	d, ok := decs.Kept(i)
	return ok && forecastReason(d.Reason)
}

// forecastReason reports whether a decision engaged ahead of an incident:
// on the forecast (Escalate) or on one under way (Imminent), not on one in
// progress.
func forecastReason(r policy.Reason) bool {
	return r == policy.Escalate || r == policy.Imminent || r == policy.Planned
}

// WriteTable writes the scorecard: one row per service and the total.
func (rep *SignalsReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "replay of recorded signals %s .. %s, %d services, step %s: what %s would have recommended (dry run, nothing applied)\n",
		rep.Start.UTC().Format(time.RFC3339), rep.End.UTC().Format(time.RFC3339), len(rep.Services), rep.Interval, rep.Policy)
	if len(rep.NotRecorded) > 0 {
		fmt.Fprintf(w, "configured but not in the recording (not replayed): %s\n", sortedServices(rep.NotRecorded))
	}
	if len(rep.NotConfigured) > 0 {
		fmt.Fprintf(w, "in the recording but not configured (not replayed): %s\n", sortedServices(rep.NotConfigured))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "service\tincidents\tbreach min\twarned\tin time\theld\tmissed\trecall\tlead median\tlead p10\tlead p90\tengagements\tprecision\treactive\treverts\t")
	row := func(r SignalsResult) {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t\n", r.Name, r.Incidents, r.BreachMinutes, r.Warned, r.InTime, r.Held, r.Missed,
			pct(r.Recall), minutes(r.LeadTimeMinutes.Median), minutes(r.LeadTimeMinutes.P10), minutes(r.LeadTimeMinutes.P90),
			r.Engagements, pct(r.Precision), r.Reactive, r.Reversals)
	}
	for _, r := range rep.Services {
		row(r)
	}
	if len(rep.Services) > 1 {
		row(rep.Total)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nincidents: from recorded latency above the threshold for K samples in a row until it has stayed at or below it for incident.resolve_after;\nbreach min: minutes above the threshold for K in a row; warned: an action recommended on the forecast between the previous\nincident and the start, at most the horizon ahead; in time: warned at least the first action's warm-up ahead; held: an earlier forecast recommendation\nstill in force at the start; missed: the others; recall: (warned+held)/incidents; lead: from the first fresh recommendation to the start;\nprecision: forecast recommendations followed within the horizon by an incident; reactive: recommended during an incident.")
	return err
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**p)
}

func minutes(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0fm", *v)
}

// WriteDecisions writes the recommendations: one line per change, in
// service and time order.
func (rep *SignalsReport) WriteDecisions(w io.Writer) error {
	for _, s := range rep.Config.Services {
		for _, d := range rep.Decisions.Service(s.Name).Actions() {
			for _, a := range d.Actions {
				if err := writeDecision(w, rep.mode, d, a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// WriteHTML writes the replay of signals as one self-contained HTML page:
// the scorecard, then per service the recorded latency against the
// threshold with the incidents, the forecast band, and the recommended
// actions as shaded spans.
func (rep *SignalsReport) WriteHTML(w io.Writer) error {
	if !rep.Decisions.detailed() {
		return errors.New("replay: the HTML report needs every decision record: replay with SignalsOptions.Detail")
	}
	var services []reportService
	for _, s := range rep.services {
		decs := rep.Decisions.Records(s.Name)
		sv, err := renderCharts(s.Name, []chartFunc{
			func() (string, *plot.Plot, error) { return rep.latencyChart(s) },
			func() (string, *plot.Plot, error) {
				p, err := forecastPlot(s, decs)
				return "Forecast band at the horizon, the recorded load and the learned breach level", p, err
			},
			func() (string, *plot.Plot, error) { return rep.actionsChart(s, decs) },
		})
		if err != nil {
			return err
		}
		services = append(services, sv)
	}
	rows := slices.Clone(rep.Services)
	if len(rows) > 1 {
		rows = append(rows, rep.Total)
	}
	return signalsPage.Execute(w, map[string]any{
		"Start": rep.Start.UTC().Format(time.RFC3339), "End": rep.End.UTC().Format(time.RFC3339),
		"Interval": rep.Interval, "Rows": rows, "Services": services,
	})
}

var signalsPage = template.Must(template.New("signals").Funcs(template.FuncMap{
	"f0":      func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"pct":     pct,
	"minutes": minutes,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>presage replay of recorded signals</title>
` + pageStyle + `</head><body>
<h1>presage replay of recorded signals</h1>
<p>{{.Start}} to {{.End}}, one step every {{.Interval}}: what the predictive policy would have recommended (dry run: nothing applied, nothing could react), against the incidents that happened.</p>
<h2>Scorecard</h2>
<table id="scorecard">
<tr><th>service</th><th>incidents</th><th>breach minutes</th><th>warned</th><th>in time</th><th>held</th><th>missed</th><th>recall</th><th>lead time (median)</th><th>lead p10</th><th>lead p90</th><th>engagements</th><th>precision</th><th>reactive</th><th>reverts</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Incidents}}</td><td>{{f0 .BreachMinutes}}</td><td>{{.Warned}}</td><td>{{.InTime}}</td><td>{{.Held}}</td><td>{{.Missed}}</td><td>{{pct .Recall}}</td><td>{{minutes .LeadTimeMinutes.Median}}</td><td>{{minutes .LeadTimeMinutes.P10}}</td><td>{{minutes .LeadTimeMinutes.P90}}</td><td>{{.Engagements}}</td><td>{{pct .Precision}}</td><td>{{.Reactive}}</td><td>{{.Reversals}}</td></tr>
{{end}}</table>
<p>Incidents: from the recorded latency above the threshold for K samples in a row until it has stayed at or below the threshold for incident.resolve_after (a breach that comes back sooner is the same incident). Breach minutes: the minutes in breach only. Warned: an action recommended on the forecast between the previous incident and the start, at most the forecast horizon ahead. Held: an earlier forecast recommendation (before the previous incident, or more than the horizon ahead) still in force at the start (nothing reacted, so it stayed). Missed: the others. Recall: (warned + held) / incidents. In time: warned at least the first action's warm-up ahead. Precision: forecast recommendations followed within the horizon by an incident. Reactive: recommended during an incident.</p>
{{range .Services}}<h2>{{.Name}}</h2>
{{range .Charts}}<figure class="chart"><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>
{{end}}{{end}}</body></html>
`))

// latencyChart draws the recorded latency against the threshold, with the
// incidents shaded.
func (rep *SignalsReport) latencyChart(s config.Resolved) (string, *plot.Plot, error) {
	rec := rep.Recording
	lat := rec.Values[s.Name][metrics.Latency]
	times := make([]time.Time, len(lat))
	ys := make([]float64, len(lat))
	for i, v := range lat {
		times[i] = rec.Time(i)
		ys[i] = math.Max(v, 1e-3)
		if math.IsNaN(v) {
			ys[i] = v
		}
	}
	p := chart.NewTime("p99 latency (s)")
	chart.LogY(p)
	top := s.Incident.Above * 10
	for _, v := range ys {
		if !math.IsNaN(v) {
			top = math.Max(top, v)
		}
	}
	added := false
	for _, in := range model.Incidents(lat, controller.IncidentPattern(s)) {
		legend := ""
		if !added {
			legend, added = "incident", true
		}
		if err := chart.Shade(p, rec.Time(in.Start), rec.Time(in.End+1), 1e-3, top, color.NRGBA{R: 0xcc, A: 0x30}, legend); err != nil {
			return "", nil, err
		}
	}
	if err := chart.Line(p, times, ys, true, chart.Observed, false, "recorded p99"); err != nil {
		return "", nil, err
	}
	if len(times) > 0 {
		if err := chart.Threshold(p, times[0], times[len(times)-1], s.Incident.Above); err != nil {
			return "", nil, err
		}
	}
	return "Recorded p99 latency (maximum per point) against the threshold; incidents shaded", p, nil
}

// actionsChart shades the spans when recommended actions were in effect.
func (rep *SignalsReport) actionsChart(s config.Resolved, decs []controller.Record) (string, *plot.Plot, error) {
	p := chart.NewTime("recommended actions")
	if err := chart.Spans(p, engagedSpans(decs), 0, colorOf(rep.mode), "recommended (height = actions)"); err != nil {
		return "", nil, err
	}
	if n := len(decs); n > 0 {
		// The time axis spans the replay even when nothing was recommended.
		base, err := plotter.NewLine(plotter.XYs{{X: float64(decs[0].Time.Unix()), Y: 0}, {X: float64(decs[n-1].Time.Unix()), Y: 0}})
		if err != nil {
			return "", nil, err
		}
		base.Color = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
		p.Add(base)
	}
	p.Y.Min, p.Y.Max = 0, float64(max(1, len(s.Playbook)))
	return "Recommended actions (shaded spans; height = actions engaged)", p, nil
}
