package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/presage-dev/presage/actuators"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/policy"
)

type recommendPrinter struct {
	w       io.Writer
	json    bool
	header  bool
	windows map[string]string // by service: the windows last printed
}

// windowLine is one schedule window in recommend's output.
type windowLine struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	State string    `json:"state"` // active or next
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// windowsLine is recommend's JSON line for a service's schedule windows,
// printed at the first step and whenever they change.
type windowsLine struct {
	Time    time.Time    `json:"time"`
	Service string       `json:"service"`
	Windows []windowLine `json:"windows"`
}

// printWindows prints the service's active and next schedule windows when
// they differ from those last printed.
func (p *recommendPrinter) printWindows(r controller.Record) {
	var ws []windowLine
	for _, w := range r.Windows {
		ws = append(ws, windowLine{w.Name, string(w.Kind), controller.WindowActive, w.Start.UTC(), w.End.UTC()})
	}
	for _, w := range r.NextWindows {
		ws = append(ws, windowLine{w.Name, string(w.Kind), controller.WindowNext, w.Start.UTC(), w.End.UTC()})
	}
	if len(ws) == 0 {
		return
	}
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s %s (%s) %s → %s; ", w.State, w.Name, w.Kind, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	sig := strings.TrimSuffix(b.String(), "; ")
	if p.windows == nil {
		p.windows = map[string]string{}
	}
	if p.windows[r.Service] == sig {
		return
	}
	p.windows[r.Service] = sig
	if p.json {
		out, _ := json.Marshal(windowsLine{Time: r.Time.UTC(), Service: r.Service, Windows: ws})
		fmt.Fprintln(p.w, string(out))
		return
	}
	fmt.Fprintf(p.w, "%-20s  %-16s  windows: %s\n", r.Time.UTC().Format(time.RFC3339), r.Service, sig)
}

// recommendation is one line of recommend's JSON output.
type recommendation struct {
	Time                time.Time `json:"time"`
	Service             string    `json:"service"`
	Action              string    `json:"action"`
	Op                  string    `json:"op"`
	From                float64   `json:"from"`
	To                  float64   `json:"to"`
	Reason              string    `json:"reason"`
	Message             string    `json:"message"`
	Risk                float64   `json:"risk"`
	TimeToBreachSeconds *float64  `json:"time_to_breach_seconds"`
	Level               int       `json:"level"`
}

// print writes each decision that recommends a change: a row per change.
func (p *recommendPrinter) print(r controller.Record) {
	p.printWindows(r)
	for _, a := range r.Actions {
		p.printAction(r, a.Action)
	}
	if len(r.Actions) > 0 && r.Mode == policy.Plan && !p.json {
		// The plan behind the changes: its expected cost against keeping
		// the engaged set, and the breach levels it rests on.
		fmt.Fprintf(p.w, "  %s\n", r.Message)
	}
}

func (p *recommendPrinter) printAction(r controller.Record, a actuators.Action) {
	out := recommendation{Time: r.Time.UTC(), Service: r.Service, Action: a.Action, Op: string(a.Op), From: a.From, To: a.To,
		Reason: string(r.Reason), Message: r.Message, Risk: r.Risk, Level: r.Level}
	ttb := "-"
	if r.TimeToBreach >= 0 {
		s := r.TimeToBreach.Seconds()
		out.TimeToBreachSeconds = &s
		ttb = r.TimeToBreach.String()
	}
	if p.json {
		b, _ := json.Marshal(out)
		fmt.Fprintln(p.w, string(b))
		return
	}
	// Fixed widths: rows come one at a time, as the loop decides.
	const row = "%-20s  %-16s  %-16s  %-6s  %6s  %6s  %-17s  %5s  %s\n"
	if !p.header {
		fmt.Fprintf(p.w, row, "TIME", "SERVICE", "ACTION", "OP", "FROM", "TO", "REASON", "RISK", "TIME TO BREACH")
		p.header = true
	}
	fmt.Fprintf(p.w, row, out.Time.Format(time.RFC3339), out.Service, out.Action, out.Op, fmt.Sprint(out.From), fmt.Sprint(out.To),
		out.Reason, fmt.Sprintf("%.2f", out.Risk), ttb)
}
