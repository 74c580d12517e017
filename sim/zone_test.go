package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris, whatever the machine has

	"github.com/presage-dev/presage/config"
)

// TestLoadsTraceTimezone: a sim.load.trace stamped on Paris's wall clock
// across the autumn change (02:00–02:59 twice) is read in
// sim.load.timezone, the repeated hour in row order; without the zone, the
// repeated hour goes back in time and Loads fails naming the field and the
// line.
func TestLoadsTraceTimezone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)
	for i := range 24 * 60 {
		fmt.Fprintf(&b, "%s,%d\n", start.Add(time.Duration(i)*time.Minute).In(paris).Format("2006-01-02 15:04:05"), 100+i%60)
	}
	trace := filepath.Join(dir, "paris.csv")
	if err := os.WriteFile(trace, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		zone string
		want string // the error; "" for none
	}{
		{"Europe/Paris", ""},
		{"", "services[0].sim.load.trace: " + trace + ":782: timestamp 2026-10-25 02:00:00 out of order"},
	} {
		t.Run("zone "+tt.zone, func(t *testing.T) {
			yaml := fmt.Sprintf(`services:
  - name: checkout
    signals: {latency: {sim: latency_p99}}
    incident: {above: 0.5}
    sim:
      load: {trace: %q, timezone: %q}
`, trace, tt.zone)
			cfg, err := config.Load([]byte(yaml), filepath.Join(dir, "presage.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			loads, err := Loads(cfg, nil)
			if tt.want != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Fatalf("error %v, want one starting %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := loads["checkout"]
			if !g.Start.Equal(start) || g.Step != time.Minute || len(g.Values) != 24*60 {
				t.Errorf("grid from %v step %v of %d values; want from %v, 1m, %d", g.Start.UTC(), g.Step, len(g.Values), start, 24*60)
			}
		})
	}
}
