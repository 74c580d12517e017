package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/controller"
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
