package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parisLocal writes rows every step across the night Europe/Paris leaves
// summer time (2026-10-25, when 02:00–02:59 happens twice), stamped on the
// Paris wall clock without an offset, as row(stamp, i) formats them.
func parisLocal(t *testing.T, header string, n int, step time.Duration, row func(stamp string, i int) string) string {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(header + "\n")
	start := time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)
	for i := range n {
		b.WriteString(row(start.Add(time.Duration(i)*step).In(paris).Format("2006-01-02 15:04:05"), i) + "\n")
	}
	return b.String()
}

// TestZoneFlag reads files stamped on Paris's wall clock across the
// autumn change: -tz Europe/Paris reads the repeated hour in row order;
// without it, the repeated hour goes back in time, an error naming the
// file and the line.
func TestZoneFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trace := writeTestFile(t, dir, "trace.csv", parisLocal(t, "timestamp,value", 2*24*60, time.Minute,
		func(stamp string, i int) string { return fmt.Sprintf("%s,%d", stamp, 100+i%60) }))
	in := writeTestFile(t, dir, "in.csv", parisLocal(t, "series,timestamp,value", 24*4, 15*time.Minute,
		func(stamp string, i int) string { return fmt.Sprintf("x,%s,%d", stamp, 10+i%4) }))
	cfg := replayConfig(t, 2)
	// The first repeated row: 12:00Z plus 13h is 01:00Z, 02:00 CET.
	traceLine, inLine := 2+13*60, 2+13*4

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout with code 0, else in stderr
	}{
		{"replay -trace in Paris", []string{"replay", "-config", cfg, "-policies", "none", "-trace", trace, "-tz", "Europe/Paris"}, 0, "none"},
		{"replay -trace in UTC", []string{"replay", "-config", cfg, "-policies", "none", "-trace", trace}, 1,
			fmt.Sprintf("trace.csv:%d: timestamp 2026-10-25 02:00:00 out of order", traceLine)},
		{"forecast in Paris", []string{"forecast", "-in", in, "-horizon", "2", "-model", "naive", "-tz", "Europe/Paris"}, 0, "x,2,"},
		{"forecast in UTC", []string{"forecast", "-in", in, "-horizon", "2", "-model", "naive"}, 1,
			fmt.Sprintf("in.csv:%d: ", inLine)},
		{"unknown zone", []string{"forecast", "-in", in, "-horizon", "2", "-tz", "Mars/Olympus"}, 2, `unknown time zone "Mars/Olympus"`},
		{"Local is not a zone", []string{"replay", "-config", cfg, "-trace", trace, "-tz", "Local"}, 2, `unknown time zone "Local"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.args...)
			out := r.stdout
			if tc.code != 0 {
				out = r.stderr
			}
			if r.code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q\n%v", r.code, tc.code, tc.want, r)
			}
		})
	}

	// A recording restamped on Paris's wall clock replays with -signals
	// -tz Europe/Paris exactly as the recording in UTC does.
	rec := filepath.Join(dir, "signals.csv")
	if r := cli(t, "replay", "-config", cfg, "-policies", "none", "-record", rec); r.code != 0 {
		t.Fatalf("record: %v", r)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	lines := strings.Split(string(data), "\n")
	for i, l := range lines[1:] {
		stamp, rest, ok := strings.Cut(l, ",")
		if !ok {
			continue
		}
		ts, err := time.Parse(time.RFC3339, stamp)
		if err != nil {
			t.Fatal(err)
		}
		lines[i+1] = ts.In(paris).Format("2006-01-02 15:04:05") + "," + rest
	}
	local := writeTestFile(t, dir, "local.csv", strings.Join(lines, "\n"))
	want := cli(t, "replay", "-config", cfg, "-signals", rec)
	got := cli(t, "replay", "-config", cfg, "-signals", local, "-tz", "Europe/Paris")
	if want.code != 0 || got.code != 0 || got.stdout != want.stdout {
		t.Errorf("-signals in UTC:\n%v\n-signals in Paris time with -tz:\n%v", want, got)
	}
	// Without -tz, the same rows are read an hour late (Paris is UTC+1 in
	// January).
	if r := cli(t, "replay", "-config", cfg, "-signals", local); r.code != 0 || !strings.Contains(r.stdout, "2026-01-05T01:00:00Z .. 2026-01-07T01:00:00Z") {
		t.Errorf("-signals in Paris time without -tz: %v", r)
	}
}
