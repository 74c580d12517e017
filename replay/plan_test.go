package replay

import (
	"strings"
	"testing"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/policy"
)

// TestPlanOnTheExample is the planner's claim on the example week: no
// more incidents and no more cost than the rule (predictive), within the
// oracle's floor of incidents; every change it makes says its plan; it
// engages more than one action in a single step somewhere; and it finds
// on its own that the neighbours' CPU is what helps search, whose app tier
// saturates (it never holds search's queue or replicas without it).
func TestPlanOnTheExample(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of replay; skipped with -short")
	}
	rep := replay(t, loadTestConfig(t, "config.example.yaml"), policy.None, policy.Reactive, policy.Predictive, policy.Plan, policy.Oracle)
	res := map[string]PolicyResult{}
	for _, p := range rep.Policies {
		res[p.Name] = p
	}
	plan, pred, oracle := res["plan"], res["predictive"], res["oracle"]
	if plan.Incidents > pred.Incidents || plan.Cost.Total > pred.Cost.Total {
		t.Errorf("plan %d incidents at %.0f, predictive %d at %.0f: want no more of either", plan.Incidents, plan.Cost.Total,
			pred.Incidents, pred.Cost.Total)
	}
	if plan.Incidents < oracle.Incidents {
		t.Errorf("plan %d incidents, below the oracle's floor %d", plan.Incidents, oracle.Incidents)
	}
	var run *Run
	for _, r := range rep.Runs {
		if r.Policy == policy.Plan {
			run = r
		}
	}
	multi := false
	for _, svc := range []string{"checkout", "search"} {
		for _, d := range run.Decisions.Service(svc).Actions() {
			if len(d.Actions) > 1 {
				multi = true
			}
			if d.Reason == policy.Planned && !strings.Contains(d.Message, "expected cost") {
				t.Errorf("%s %s: %s without its plan: %q", svc, d.Time, d.Reason, d.Message)
			}
		}
	}
	if !multi {
		t.Errorf("no step of the plan run engaged two actions at once")
	}
	// search: the queue and the replicas relieve only its database, so
	// the plan should hold the neighbours' CPU longer than either.
	minutes := map[string]int{}
	engaged := map[string]bool{}
	last := 0
	for i, d := range run.Decisions.Service("search").Actions() {
		for a, on := range engaged {
			if on {
				minutes[a] += i - last
			}
		}
		last = i
		for _, a := range d.Actions {
			if a.Err == nil {
				engaged[a.Action.Action] = a.Op == actuators.Engage
			}
		}
	}
	t.Logf("search minutes engaged: %v", minutes)
	if minutes["neighbour-cpu"] == 0 || minutes["neighbour-cpu"] < minutes["async-queue"] || minutes["neighbour-cpu"] < minutes["read-replicas"] {
		t.Errorf("search's minutes engaged by action %v: want the neighbours' CPU the most", minutes)
	}
}
