package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// replayConfig writes config.example.yaml with days days of load into a
// temporary directory and returns its path.
func replayConfig(t *testing.T, days int) string {
	t.Helper()
	return writeTestFile(t, t.TempDir(), "presage.yaml", exampleConfig(t, days, ""))
}

// checkReport checks the keys and types of a JSON replay report and returns
// its policies.
func checkReport(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var rep map[string]any
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("replay JSON: %v\n%s", err, data)
	}
	raw, ok := rep["policies"].([]any)
	if !ok {
		t.Fatalf(`replay JSON: "policies" is %T, want an array`, rep["policies"])
	}
	var policies []map[string]any
	for i, p := range raw {
		pol, ok := p.(map[string]any)
		if !ok {
			t.Fatalf("policies[%d] is %T, want an object", i, p)
		}
		policies = append(policies, pol)
		number := func(obj map[string]any, path, key string, nullable bool) {
			t.Helper()
			v, ok := obj[key]
			switch {
			case !ok:
				t.Errorf("policies[%d]%s: no key %q", i, path, key)
			case v == nil && nullable:
			default:
				if f, ok := v.(float64); !ok || math.IsNaN(f) || f < 0 {
					t.Errorf("policies[%d]%s.%s = %v (%T), want a number >= 0", i, path, key, v, v)
				}
			}
		}
		if name, ok := pol["name"].(string); !ok || name == "" {
			t.Errorf("policies[%d].name = %v, want a policy name", i, pol["name"])
		}
		for _, k := range []string{"incidents", "episodes", "breach_minutes", "actions"} {
			number(pol, "", k, false)
		}
		for _, k := range []string{"avoidable_share", "cost_vs_oracle"} {
			if v, ok := pol[k]; !ok || v != nil {
				t.Errorf("policies[%d].%s = %v (present %v), want null without an oracle run", i, k, v, ok)
			}
		}
		cost, ok := pol["cost"].(map[string]any)
		if !ok {
			t.Errorf("policies[%d].cost = %v, want an object", i, pol["cost"])
		} else {
			for _, k := range []string{"replica_minutes", "throttle_minutes", "queue_minutes"} {
				number(cost, ".cost", k, false)
			}
		}
		lead, ok := pol["lead_time_minutes"].(map[string]any)
		if !ok {
			t.Errorf("policies[%d].lead_time_minutes = %v, want an object", i, pol["lead_time_minutes"])
		} else {
			number(lead, ".lead_time_minutes", "median", true)
		}
	}
	return policies
}

func names(policies []map[string]any) []string {
	var out []string
	for _, p := range policies {
		name, _ := p["name"].(string)
		out = append(out, name)
	}
	return out
}

// tableRows returns the policy rows of the replay table: name → fields.
func tableRows(stdout string) map[string][]string {
	rows := map[string][]string{}
	row := regexp.MustCompile(`^\s*(none|reactive|predictive|plan|static|clairvoyant|oracle)\s+\d`)
	for _, l := range strings.Split(stdout, "\n") {
		if row.MatchString(l) {
			f := strings.Fields(l)
			rows[f[0]] = f
		}
	}
	return rows
}

// TestReplay runs the default comparison twice: the table has one row per
// policy agreeing with the JSON, the JSON has the documented keys, the
// decision log one line per action, and the second run writes the same
// bytes.
func TestReplay(t *testing.T) {
	t.Parallel()
	cfg := replayConfig(t, 2)
	out := t.TempDir()
	var first []byte
	for i := range 2 {
		jsonPath := filepath.Join(out, fmt.Sprintf("replay%d.json", i))
		decPath := filepath.Join(out, fmt.Sprintf("decisions%d.log", i))
		r := cli(t, "replay", "-config", cfg, "-json", jsonPath, "-decisions", decPath)
		if r.code != 0 {
			t.Fatalf("run %d: exit %d, want 0\n%v", i, r.code, r)
		}
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if !bytes.Equal(data, first) {
				t.Errorf("the second replay wrote different JSON:\n%s\n---\n%s", first, data)
			}
			continue
		}
		first = data

		if !strings.HasPrefix(r.stdout, "replay 2026-01-05T00:00:00Z .. 2026-01-07T00:00:00Z, 2 services, step 1m0s\n") {
			t.Errorf("the table does not start with the replay's span\n%v", r)
		}
		policies := checkReport(t, data)
		if got, want := names(policies), []string{"none", "reactive", "predictive", "plan"}; !slices.Equal(got, want) {
			t.Errorf("policies %v, want %v", got, want)
		}
		rows := tableRows(r.stdout)
		if len(rows) != len(policies) {
			t.Errorf("table has %d policy rows, want %d\n%s", len(rows), len(policies), r.stdout)
		}
		actions := 0
		for _, p := range policies {
			name := p["name"].(string)
			row, ok := rows[name]
			if !ok {
				t.Errorf("no table row for %s\n%s", name, r.stdout)
				continue
			}
			// policy incidents episodes breach-min actions ...
			for j, key := range []string{"incidents", "episodes", "breach_minutes", "actions"} {
				if got, want := row[1+j], strconv.FormatFloat(p[key].(float64), 'f', 0, 64); got != want {
					t.Errorf("%s: table %s %s, JSON %s", name, key, got, want)
				}
			}
			actions += int(p["actions"].(float64) + p["failed"].(float64))
		}
		if policies[0]["actions"].(float64) != 0 {
			t.Errorf("policy none acted: %v", policies[0]["actions"])
		}

		dec, err := os.ReadFile(decPath)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(dec), "\n"), "\n")
		if len(dec) == 0 {
			lines = nil
		}
		if actions == 0 {
			t.Errorf("no policy acted in two days of the example's load: the decision log is not tested")
		}
		if len(lines) != actions {
			t.Errorf("decision log has %d lines, want %d (the actions of all policies)", len(lines), actions)
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 12 || !slices.Contains([]string{"reactive", "predictive", "plan"}, f[1]) || (f[len(f)-1] != "ok" && f[len(f)-1] != "failed") {
				t.Errorf("decision line %q: want time, policy, ..., result", l)
				continue
			}
			if _, err := time.Parse(time.RFC3339, f[0]); err != nil {
				t.Errorf("decision line %q: %v", l, err)
			}
		}
	}
	// -json writes through a temporary file renamed into place.
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{"decisions0.log", "decisions1.log", "replay0.json", "replay1.json"}; !slices.Equal(got, want) {
		t.Errorf("output directory holds %v, want %v", got, want)
	}
}

// TestReplayPolicies checks -policies, with the JSON on stdout.
func TestReplayPolicies(t *testing.T) {
	t.Parallel()
	cfg := replayConfig(t, 1)
	for _, tt := range []struct {
		name     string
		policies string
		want     []string
	}{
		// 'none' is run as the counterfactual even when not asked for, but
		// not reported.
		{"none and predictive", "none,predictive", []string{"none", "predictive"}},
		{"order kept", "predictive, none", []string{"predictive", "none"}},
		{"without none", "predictive", []string{"predictive"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "replay", "-config", cfg, "-policies", tt.policies, "-json", "-")
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\n%v", r.code, r)
			}
			// json.Unmarshal fails on anything but one JSON value: no table.
			policies := checkReport(t, []byte(r.stdout))
			if got := names(policies); !slices.Equal(got, tt.want) {
				t.Errorf("policies %v, want %v", got, tt.want)
			}
			if r.stderr != "" {
				t.Errorf("stderr not empty\n%v", r)
			}
		})
	}
}

func TestReplayTrace(t *testing.T) {
	t.Parallel()
	cfg := replayConfig(t, 1)
	dir := t.TempDir()

	// A day of one-minute rows on a daily sine, peaking at 1.
	var day strings.Builder
	day.WriteString("timestamp,value\n")
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := range 24 * 60 {
		v := 0.6 - 0.4*math.Cos(2*math.Pi*float64(i)/(24*60))
		fmt.Fprintf(&day, "%s,%.4f\n", start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), v)
	}

	for _, tt := range []struct {
		name   string
		trace  string // "" for a file that does not exist
		code   int
		stderr string // regexp; FILE stands for the trace's path
	}{
		{
			name:   "bad value",
			trace:  "2026-01-05T00:00:00Z,10\n2026-01-05T00:01:00Z,11\n2026-01-05T00:02:00Z,12\n2026-01-05T00:03:00Z,13\n2026-01-05T00:04:00Z,abc\n2026-01-05T00:05:00Z,14\n",
			code:   1,
			stderr: `^presage replay: FILE:5: value "abc": not a number\n$`,
		},
		{
			name:   "bad timestamp",
			trace:  "timestamp,value\n2026-01-05T00:00:00Z,10\n2026-01-05T00:01:00Z,11\nyesterday,12\n",
			code:   1,
			stderr: `FILE:4: timestamp "yesterday"`,
		},
		{
			name:   "out of order",
			trace:  "2026-01-05T00:00:00Z,10\n2026-01-05T00:02:00Z,11\n2026-01-05T00:01:00Z,12\n",
			code:   1,
			stderr: `FILE:3: timestamp .* out of order`,
		},
		{
			name:   "empty file",
			trace:  "\n",
			code:   1,
			stderr: `^presage replay: FILE: file: no data rows\n$`,
		},
		{
			name:   "header only",
			trace:  "timestamp,value\n",
			code:   1,
			stderr: `FILE: file: no data rows`,
		},
		{
			name:   "missing file",
			code:   1,
			stderr: `FILE: no such file or directory`,
		},
		{
			name:  "a day on a sine",
			trace: day.String(),
			code:  0,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".csv")
			if tt.trace != "" {
				writeTestFile(t, dir, filepath.Base(path), tt.trace)
			}
			r := cli(t, "replay", "-config", cfg, "-trace", path, "-policies", "none,predictive", "-json", "-")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tt.code, r)
			}
			if tt.code != 0 {
				re := regexp.MustCompile(strings.ReplaceAll(tt.stderr, "FILE", regexp.QuoteMeta(path)))
				if !re.MatchString(r.stderr) {
					t.Errorf("stderr does not match %s\n%v", re, r)
				}
				if r.stdout != "" {
					t.Errorf("stdout not empty\n%v", r)
				}
				return
			}
			var rep struct {
				Start, End time.Time
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("replay JSON: %v\n%v", err, r)
			}
			// The trace drives every service: the replay spans its day,
			// not the configured loads' two.
			if want := start.Add(24 * time.Hour); !rep.Start.Equal(start) || !rep.End.Equal(want) {
				t.Errorf("replay spans %v .. %v, want %v .. %v", rep.Start, rep.End, start, want)
			}
			if got := names(checkReport(t, []byte(r.stdout))); !slices.Equal(got, []string{"none", "predictive"}) {
				t.Errorf("policies %v, want [none predictive]", got)
			}
		})
	}
}
