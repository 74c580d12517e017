package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
	"github.com/presage-dev/presage/schedule"
)

// TestRecommendWindows: recommend prints a service's active and next
// windows once, and again when they change, as text and as JSON.
func TestRecommendWindows(t *testing.T) {
	t0 := time.Date(2026, 11, 11, 11, 0, 0, 0, time.UTC)
	sale := schedule.Window{Name: "sale", Kind: schedule.Prewarm, Start: t0.Add(30 * time.Minute), End: t0.Add(210 * time.Minute)}
	recs := []controller.Record{
		{Time: t0, Service: "checkout", NextWindows: []schedule.Window{sale}},
		{Time: t0.Add(time.Minute), Service: "checkout", NextWindows: []schedule.Window{sale}},
		{Time: t0.Add(30 * time.Minute), Service: "checkout", Windows: []schedule.Window{sale},
			NextWindows: []schedule.Window{{Name: "sale", Kind: schedule.Prewarm, Start: sale.Start.AddDate(1, 0, 0), End: sale.End.AddDate(1, 0, 0)}}},
	}
	var text, js bytes.Buffer
	pt, pj := &recommendPrinter{w: &text}, &recommendPrinter{w: &js, json: true}
	for _, r := range recs {
		pt.print(r)
		pj.print(r)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "next sale (prewarm) 2026-11-11T11:30:00Z → 2026-11-11T14:30:00Z") ||
		!strings.Contains(lines[1], "active sale (prewarm) 2026-11-11T11:30:00Z → 2026-11-11T14:30:00Z; next sale (prewarm) 2027-11-11T11:30:00Z") {
		t.Errorf("text output:\n%s", text.String())
	}
	var got []windowsLine
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var w windowsLine
		if err := json.Unmarshal([]byte(l), &w); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, w)
	}
	if len(got) != 2 || len(got[1].Windows) != 2 || got[1].Windows[0].State != "active" || got[1].Windows[0].Kind != "prewarm" ||
		!got[1].Windows[0].End.Equal(sale.End) || got[1].Service != "checkout" {
		t.Errorf("JSON output:\n%s", js.String())
	}
}

// TestRecommendPrintsThePlan: a plan decision that changes two knobs at
// once prints a row per change and, under them, the plan (its expected
// cost against keeping the engaged set); JSON lines carry it as message.
func TestRecommendPrintsThePlan(t *testing.T) {
	t0 := time.Date(2026, 11, 11, 11, 0, 0, 0, time.UTC)
	msg := "engage async-queue 0 → 1, engage neighbour-cpu 1 → 0.5: plan {async-queue, neighbour-cpu}: expected cost 67.5 (incident risk 0.00), against 1000.0 keeping {} (risk 1.00)"
	r := controller.Record{Time: t0, Service: "checkout", Mode: policy.Plan, Reason: policy.Planned, Message: msg, Risk: 1,
		TimeToBreach: time.Minute, Level: 2, Actions: []controller.Applied{
			{Action: actuators.Action{Service: "checkout", Action: "async-queue", Op: actuators.Engage, From: 0, To: 1}},
			{Action: actuators.Action{Service: "checkout", Action: "neighbour-cpu", Op: actuators.Engage, From: 1, To: 0.5}},
		}}
	var text, js bytes.Buffer
	(&recommendPrinter{w: &text}).print(r)
	(&recommendPrinter{w: &js, json: true}).print(r)
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "async-queue") || !strings.Contains(lines[2], "neighbour-cpu") ||
		strings.TrimSpace(lines[3]) != msg {
		t.Errorf("text output (header, two rows, the plan):\n%s", text.String())
	}
	jl := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(jl) != 2 || !strings.Contains(jl[0], `"message":"engage async-queue`) || !strings.Contains(jl[1], `"action":"neighbour-cpu"`) {
		t.Errorf("JSON output:\n%s", js.String())
	}
}
