package replay

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/model"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/sim"
)

// Report is the evaluation of a replay, one PolicyResult per policy in the
// order asked for. Its JSON form is what `presage replay -json` writes.
type Report struct {
	Start    time.Time      `json:"start"`
	End      time.Time      `json:"end"`
	Interval time.Duration  `json:"-"`
	Policies []PolicyResult `json:"policies"`
	// Windows are the schedule windows of every service that share an
	// instant with the replay, in service and start order.
	Windows []ReplayWindow `json:"windows,omitempty"`

	Config *config.Config `json:"-"`
	Runs   []*Run         `json:"-"` // the runs behind Policies, same order
	none   *Run           // the counterfactual, asked for or not
	// services are Config's services as the loop runs them, same order.
	services []config.Resolved
}

// service returns the named service as the loop runs it.
func (rep *Report) service(name string) config.Resolved {
	for _, s := range rep.services {
		if s.Name == name {
			return s
		}
	}
	panic("replay: no service " + name)
}

// PolicyResult is what one policy did over the whole replay, summed over
// the services.
type PolicyResult struct {
	Name string `json:"name"`
	// Incidents counts the incidents (model.Incidents): an incident starts
	// when the latency has been above the threshold for K consecutive
	// samples (a breach) and ends once it has stayed at or below the
	// threshold for incident.resolve_after; a breach that comes back
	// sooner is the same incident.
	Incidents int `json:"incidents"`
	// Episodes counts the incidents of the 'none' run that this policy did
	// not prevent: its own run has an incident that overlaps the 'none'
	// incident's span (first to last sample in breach). For 'none' it is
	// its incidents.
	Episodes int `json:"episodes"`
	// BreachMinutes is the time spent in breach: the samples in breach,
	// not the gaps within an incident.
	BreachMinutes float64 `json:"breach_minutes"`
	// Actions counts the changes applied: engagements and reversals.
	Actions     int `json:"actions"`
	Engagements int `json:"engagements"`
	Reversals   int `json:"reversals"`
	// Failed counts changes the actuators failed to apply.
	Failed int      `json:"failed"`
	Cost   CostJSON `json:"cost"`
	// LeadTimeMinutes is, over the incidents of the 'none' run that this
	// policy met with an action already engaged, how long before the
	// incident's start that engagement began.
	LeadTimeMinutes Distribution `json:"lead_time_minutes"`
	// Precision is the share of engagements followed within the forecast
	// horizon by an incident in the 'none' run (an incident that would have
	// happened); null without engagements.
	Precision *float64 `json:"precision"`
	// PrecisionByReason splits Precision by the reason of the engagement
	// (policy.Reason: Imminent, Escalate, ReactiveFloor…), in the order of
	// policy.Reasons, to see which kind of engagement lowers it.
	PrecisionByReason []ReasonPrecision `json:"precision_by_reason,omitempty"`
	// NearMisses counts the engagements that Precision does not count as
	// justified but that the 'none' run's latency followed within the
	// horizon above the threshold, for fewer samples in a row than the
	// incident pattern asks: a spike that would have been felt but was not
	// an incident by the pattern's definition.
	NearMisses int `json:"near_misses"`
	// Missed counts the incidents of the 'none' run that this policy met
	// with no action engaged.
	Missed int `json:"missed"`
	// NoneIncidents is the number of incidents of the 'none' run.
	NoneIncidents int `json:"none_incidents"`
	// AvoidableShare is, when the replay ran both reactive and oracle,
	// (reactive's incidents − this policy's) / (reactive's − oracle's):
	// the share of the incidents that hindsight avoids beyond the reactive
	// policy that this policy avoids too (1 for oracle, 0 for reactive).
	// Null when either is missing or oracle has no fewer incidents than
	// reactive.
	AvoidableShare *float64 `json:"avoidable_share"`
	// CostVsOracle is Cost.Total / oracle's Cost.Total; null without an
	// oracle run or when oracle cost nothing.
	CostVsOracle *float64        `json:"cost_vs_oracle"`
	Services     []ServiceResult `json:"services"`
}

// ReasonPrecision is the precision of the engagements of one reason.
type ReasonPrecision struct {
	Reason policy.Reason `json:"reason"`
	// Engagements counts them, Justified those followed within the
	// forecast horizon by an incident of the 'none' run.
	Engagements int     `json:"engagements"`
	Justified   int     `json:"justified"`
	Precision   float64 `json:"precision"`
	// NearMisses is PolicyResult.NearMisses for the reason.
	NearMisses int `json:"near_misses"`
}

// ServiceResult is one service's share of a PolicyResult.
type ServiceResult struct {
	Name          string   `json:"name"`
	Incidents     int      `json:"incidents"`
	Episodes      int      `json:"episodes"`
	BreachMinutes float64  `json:"breach_minutes"`
	Actions       int      `json:"actions"`
	Cost          CostJSON `json:"cost"`
}

// CostJSON is the resource cost of a run. The minutes by kind are the
// plant's (sim.Cost), unweighted: value-minutes of each knob. Total weighs
// each by the cost_per_minute of the playbook action that sets the knob
// (knobPrices), so that with every price at its default of 1 it is their
// plain sum.
type CostJSON struct {
	ReplicaMinutes  float64 `json:"replica_minutes"`
	ThrottleMinutes float64 `json:"throttle_minutes"`
	QueueMinutes    float64 `json:"queue_minutes"`
	Total           float64 `json:"total"`
}

func (c *CostJSON) add(x sim.Cost, pr prices) {
	c.ReplicaMinutes += x.ReplicaMinutes
	c.ThrottleMinutes += x.ThrottleMinutes
	c.QueueMinutes += x.QueueMinutes
	c.Total += pr.replica*x.ReplicaMinutes + pr.throttle*x.ThrottleMinutes + pr.queue*x.QueueMinutes
}

// prices are one service's prices of a minute of each knob of the plant.
type prices struct{ replica, throttle, queue float64 }

// knobPrices returns the prices of the service's knobs: each knob at the
// cost_per_minute of the first playbook action that sets it (its
// actuator.knob for kind sim, its sim.knobs entry otherwise, as `presage
// sim serve` maps it: config.Service.Knob). A knob no action sets stays
// where the plant starts it (no replica, the queue off, the neighbours'
// full limit), which costs nothing; it is priced at 1 all the same.
func knobPrices(svc *config.Service, r config.Resolved) prices {
	pr := prices{replica: 1, throttle: 1, queue: 1}
	seen := map[string]bool{}
	for _, st := range r.Playbook {
		knob := svc.Knob(st.Name)
		if seen[knob] {
			continue
		}
		seen[knob] = true
		switch knob {
		case config.KnobReplicas:
			pr.replica = st.CostPerMinute
		case config.KnobCPULimit:
			pr.throttle = st.CostPerMinute
		case config.KnobQueue:
			pr.queue = st.CostPerMinute
		}
	}
	return pr
}

// Distribution summarises a sample; Median and the quantiles are null when
// the sample is empty.
type Distribution struct {
	Count  int      `json:"count"`
	Median *float64 `json:"median"`
	P10    *float64 `json:"p10"`
	P90    *float64 `json:"p90"`
	Min    *float64 `json:"min"`
	Max    *float64 `json:"max"`
}

func distribution(xs []float64) Distribution {
	d := Distribution{Count: len(xs)}
	if len(xs) == 0 {
		return d
	}
	paths := make([][]float64, len(xs))
	for i, x := range xs {
		paths[i] = []float64{x}
	}
	q := func(p float64) *float64 { v := model.Quantile(paths, 1, p); return &v }
	d.Median, d.P10, d.P90, d.Min, d.Max = q(0.5), q(0.1), q(0.9), q(0), q(1)
	return d
}

// latencies returns a run's latency series of one service, NaN where the
// service reported nothing.
func latencies(steps []sim.Record) []float64 {
	out := make([]float64, len(steps))
	for i, r := range steps {
		out[i] = r.Signals.LatencyP99
	}
	return out
}

// incidentWithin reports whether an engagement at step i falls within, or is
// followed within horizon steps by, one of the incidents inc.
func incidentWithin(inc []model.Incident, i, horizon int) bool {
	return slices.ContainsFunc(inc, func(in model.Incident) bool { return in.End >= i && in.Start <= i+horizon })
}

// aboveWithin reports whether a latency of lat from step i to i+horizon
// is above the threshold.
func aboveWithin(lat []float64, above float64, i, horizon int) bool {
	return slices.ContainsFunc(lat[min(max(i, 0), len(lat)):min(i+horizon+1, len(lat))], func(v float64) bool { return v > above })
}

// overlaps reports whether one of the incidents inc shares a sample with
// the span of in.
func overlaps(inc []model.Incident, in model.Incident) bool {
	return slices.ContainsFunc(inc, func(x model.Incident) bool { return x.Start <= in.End && x.End >= in.Start })
}

// evaluate scores one run against the 'none' run (the counterfactual).
// services are cfg's services resolved, in the same order.
func evaluate(cfg *config.Config, services []config.Resolved, r, none *Run, interval time.Duration) PolicyResult {
	min := interval.Minutes()
	res := PolicyResult{Name: r.Policy.String()}
	var leads []float64
	var engaged, justified int
	byReason := map[policy.Reason]*ReasonPrecision{}
	for _, s := range services {
		inc := model.Incidents(latencies(r.Steps[s.Name]), controller.IncidentPattern(s))
		sr := ServiceResult{Name: s.Name, Incidents: len(inc)}
		for _, in := range inc {
			sr.BreachMinutes += float64(in.Breach) * min
		}
		// Counterfactual measures against the 'none' run.
		noneLat := latencies(none.Steps[s.Name])
		noneInc := model.Incidents(noneLat, controller.IncidentPattern(s))
		for _, in := range noneInc {
			if overlaps(inc, in) {
				sr.Episodes++
			}
		}
		decs := r.Decisions.Service(s.Name)
		for _, d := range decs.Actions() {
			for _, a := range d.Actions {
				switch {
				case a.Err != nil:
					res.Failed++
					continue
				case a.Op == actuators.Engage:
					res.Engagements++
				default:
					res.Reversals++
				}
				sr.Actions++
			}
		}
		pr := knobPrices(cfg.Service(s.Name), s)
		sr.Cost.add(r.Cost[s.Name], pr)
		res.Incidents += sr.Incidents
		res.Episodes += sr.Episodes
		res.BreachMinutes += sr.BreachMinutes
		res.Actions += sr.Actions
		res.Cost.add(r.Cost[s.Name], pr)
		res.Services = append(res.Services, sr)

		res.NoneIncidents += len(noneInc)
		for _, in := range noneInc {
			i := in.Start - 1 // the level the policy held just before the breach
			if i < 0 || i >= decs.Len() || decs.Level(i) == 0 {
				res.Missed++
				continue
			}
			j := i
			for j > 0 && decs.Level(j-1) > 0 {
				j--
			}
			leads = append(leads, float64(in.Start-j)*min)
		}
		horizon := s.Horizon
		for i, d := range decs.Actions() {
			for _, a := range d.Actions {
				if a.Err != nil || a.Op != actuators.Engage {
					continue
				}
				engaged++
				rp := byReason[d.Reason]
				if rp == nil {
					rp = &ReasonPrecision{Reason: d.Reason}
					byReason[d.Reason] = rp
				}
				rp.Engagements++
				switch {
				case incidentWithin(noneInc, i, horizon):
					justified++
					rp.Justified++
				case aboveWithin(noneLat, s.Incident.Above, i, horizon):
					res.NearMisses++
					rp.NearMisses++
				}
			}
		}
	}
	if r.Policy != policy.None {
		res.LeadTimeMinutes = distribution(leads)
		if engaged > 0 {
			p := float64(justified) / float64(engaged)
			res.Precision = &p
		}
		for _, reason := range policy.Reasons {
			if rp := byReason[reason]; rp != nil {
				rp.Precision = float64(rp.Justified) / float64(rp.Engagements)
				res.PrecisionByReason = append(res.PrecisionByReason, *rp)
			}
		}
	}
	return res
}

// compareToOracle fills each result's AvoidableShare and CostVsOracle
// from the results of the reactive and oracle policies among them, once
// every policy is evaluated; without them they stay null.
func compareToOracle(results []PolicyResult) {
	var reactive, oracle *PolicyResult
	for i := range results {
		switch results[i].Name {
		case policy.Reactive.String():
			reactive = &results[i]
		case policy.Oracle.String():
			oracle = &results[i]
		}
	}
	if oracle == nil {
		return
	}
	for i := range results {
		p := &results[i]
		if reactive != nil {
			if d := reactive.Incidents - oracle.Incidents; d > 0 {
				v := float64(reactive.Incidents-p.Incidents) / float64(d)
				p.AvoidableShare = &v
			}
		}
		if oracle.Cost.Total > 0 {
			v := p.Cost.Total / oracle.Cost.Total
			p.CostVsOracle = &v
		}
	}
}

// hasOracle reports whether the replay ran the oracle policy.
func (rep *Report) hasOracle() bool {
	return slices.ContainsFunc(rep.Policies, func(p PolicyResult) bool { return p.Name == policy.Oracle.String() })
}

// WriteTable writes the comparison table.
func (rep *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "replay %s .. %s, %d services, step %s\n\n", rep.Start.Format(time.RFC3339), rep.End.Format(time.RFC3339),
		len(rep.Config.Services), rep.Interval)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	oracle := rep.hasOracle()
	head := "policy\tincidents\tepisodes\tbreach min\tactions\treplica min\tthrottle min\tqueue min\tcost total\tlead median\tprecision\tmissed\t"
	if oracle {
		head += "avoidable\tcost/oracle\t"
	}
	fmt.Fprintln(tw, head)
	for _, p := range rep.Policies {
		lead, prec, missed := "-", "-", "-"
		if p.LeadTimeMinutes.Median != nil {
			lead = fmt.Sprintf("%.0fm", *p.LeadTimeMinutes.Median)
		}
		if p.Precision != nil {
			prec = fmt.Sprintf("%.0f%%", 100**p.Precision)
		}
		if p.Name != policy.None.String() {
			missed = fmt.Sprintf("%d/%d", p.Missed, p.NoneIncidents)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t", p.Name, p.Incidents, p.Episodes, p.BreachMinutes, p.Actions,
			p.Cost.ReplicaMinutes, p.Cost.ThrottleMinutes, p.Cost.QueueMinutes, p.Cost.Total, lead, prec, missed)
		if oracle {
			fmt.Fprintf(tw, "%s\t%s\t", pct(p.AvoidableShare), ratio(p.CostVsOracle))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := rep.writePrecisionByReason(w); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nincidents: from latency above the threshold for K samples in a row until it has stayed at or below it for incident.resolve_after;\nepisodes: the 'none' run's incidents that the policy's own incidents overlap (not prevented); breach min: minutes above the threshold for K in a row;\ncost total: the minutes priced by the actions' cost_per_minute; lead: how long before an incident of the 'none' run the policy had engaged;\nprecision: engagements followed within the horizon by an incident of the 'none' run; missed: 'none' incidents met with nothing engaged;\nnear misses: engagements followed within the horizon by the 'none' run's latency above the threshold, for fewer than K samples in a row.")
	if err == nil && rep.hasOracle() {
		_, err = fmt.Fprintln(w, "avoidable: (reactive's incidents - the policy's) / (reactive's - oracle's); cost/oracle: cost total / oracle's.")
	}
	return err
}

// writePrecisionByReason writes, for each policy with engagements, the
// precision of its engagements by reason, and how many of the others were
// near misses (PolicyResult.NearMisses).
func (rep *Report) writePrecisionByReason(w io.Writer) error {
	first := true
	for _, p := range rep.Policies {
		if len(p.PrecisionByReason) == 0 {
			continue
		}
		if first {
			if _, err := fmt.Fprintln(w, "\nprecision by engagement reason:"); err != nil {
				return err
			}
			first = false
		}
		line := fmt.Sprintf("  %s:", p.Name)
		for i, rp := range p.PrecisionByReason {
			sep := " "
			if i > 0 {
				sep = ", "
			}
			line += fmt.Sprintf("%s%s %.0f%% (%d/%d", sep, rp.Reason, 100*rp.Precision, rp.Justified, rp.Engagements)
			switch rp.NearMisses {
			case 0:
			case 1:
				line += "; 1 near miss"
			default:
				line += fmt.Sprintf("; %d near misses", rp.NearMisses)
			}
			line += ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// WriteDecisions writes the decision log: one line per change a policy
// applied or attempted, in policy, service and time order.
func (rep *Report) WriteDecisions(w io.Writer) error {
	for _, r := range rep.Runs {
		for _, s := range rep.Config.Services {
			for _, d := range r.Decisions.Service(s.Name).Actions() {
				for _, a := range d.Actions {
					if err := writeDecision(w, r.Policy, d, a); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// writeDecision writes one line of the decision log: change a of the
// decision d.
func writeDecision(w io.Writer, m policy.Mode, d controller.Record, a controller.Applied) error {
	ttb := "-"
	if d.TimeToBreach >= 0 {
		ttb = d.TimeToBreach.String()
	}
	result := "ok"
	if a.Err != nil {
		result = "failed"
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s %s %s %g->%g risk=%.2f ttb=%s level=%d latency=%.3f %s\n",
		d.Time.UTC().Format(time.RFC3339), m, d.Service, d.Reason, a.Op, a.Action.Action, a.From, a.To,
		d.Risk, ttb, d.Level, nanTo(d.Latency, -1), result)
	return err
}

// ratio formats r as a multiple, "-" when it is nil.
func ratio(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fx", *r)
}

func nanTo(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}
