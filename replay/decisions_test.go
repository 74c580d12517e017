package replay

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// TestDecisionsRoundTrip: the compact store gives back the records it was
// given, the message only where the record carries an action, an error or
// windows.
func TestDecisionsRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d := newDecisions([]string{"a", "b"}, start, time.Minute, policy.Predictive, 4, true)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }
	w := []schedule.Window{{Kind: schedule.Prewarm, Start: at(1), End: at(3)}}
	recs := []controller.Record{
		{Time: at(0), Service: "a", Mode: policy.Predictive, Reason: policy.Steady, Message: "dropped",
			Latency: 0.1, Load: 50, Risk: 0.05, TimeToBreach: -1, Forecast: [3]float64{1, 2, 3}, BreachLevel: math.Inf(1)},
		{Time: at(1), Service: "a", Mode: policy.Predictive, Reason: policy.Escalate, Message: "kept",
			Latency: math.NaN(), Load: 60, Risk: 0.5, TimeToBreach: 3 * time.Minute, Level: 1, Firing: true,
			Actions: []controller.Applied{{Action: actuators.Action{Service: "a", Action: "q", Op: actuators.Engage, To: 1}}}, Windows: w},
		{Time: at(2), Service: "a", Mode: policy.Predictive, Reason: policy.Reason("Other"), Level: 1,
			Actions: []controller.Applied{{Action: actuators.Action{Service: "a", Action: "q", Op: actuators.Revert}, Err: errors.New("boom")}}},
		{Time: at(3).Add(time.Second), Service: "a", Mode: policy.Predictive, Reason: policy.Holding, NextWindows: w},
	}
	for _, r := range recs {
		d.svc[0].add(r)
	}
	got := d.Records("a")
	want := append([]controller.Record(nil), recs...)
	want[0].Message = ""
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		// NaN != NaN: compare the bits through fmt-free copies.
		if math.IsNaN(w.Latency) && math.IsNaN(g.Latency) {
			g.Latency, w.Latency = 0, 0
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	var idx []int
	for i, r := range d.Service("a").Actions() {
		if actionOf(r) == nil {
			t.Errorf("Actions yielded record %d without an action", i)
		}
		idx = append(idx, i)
	}
	if !reflect.DeepEqual(idx, []int{1, 2}) {
		t.Errorf("Actions at %v, want [1 2]", idx)
	}
	if n := d.Service("b").Len(); n != 0 {
		t.Errorf("service b: %d records, want 0", n)
	}
	if n := d.Service("nope").Len(); n != 0 {
		t.Errorf("unknown service: %d records, want 0", n)
	}
}

// actionOf returns the first change of a record, nil when it has none.
func actionOf(r controller.Record) *actuators.Action {
	if len(r.Actions) == 0 {
		return nil
	}
	return &r.Actions[0].Action
}
