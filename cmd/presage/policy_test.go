package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/presage-dev/presage/policy"
)

// TestReplayOnlyPolicies: clairvoyant and oracle know the load ahead, so
// presage run refuses them as a usage error and the loop behind run and
// recommend refuses them whoever asks; presage replay runs them.
func TestReplayOnlyPolicies(t *testing.T) {
	for _, m := range []policy.Mode{policy.Clairvoyant, policy.Oracle} {
		if !m.ReplayOnly() {
			t.Fatalf("%s is not replay-only", m)
		}
		want := m.String() + " needs the load ahead, which only presage replay has"
		t.Run("run "+m.String(), func(t *testing.T) {
			r := cli(t, "run", "-config", examplePath, "-policy", m.String())
			if r.code != 2 || !strings.Contains(r.stderr, "-policy: "+want) {
				t.Errorf("want exit 2 saying %q\n%v", want, r)
			}
		})
		t.Run("loop "+m.String(), func(t *testing.T) {
			fs := flag.NewFlagSet("recommend", flag.ContinueOnError)
			f := addLoopFlags(fs)
			if err := fs.Parse([]string{"-config", examplePath}); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			err := loop(context.Background(), f, &stderr, m, nil, nil)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("loop in mode %s: %v, want %q", m, err, want)
			}
		})
	}
	t.Run("replay oracle", func(t *testing.T) {
		r := cli(t, "replay", "-config", examplePath, "-policies", "none,oracle")
		if r.code != 0 {
			t.Fatalf("exit %d\n%v", r.code, r)
		}
		var row string
		for _, line := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == "oracle" {
				row = line
			}
		}
		if row == "" {
			t.Errorf("no oracle row in the table\n%v", r)
		}
		if !strings.Contains(r.stdout, "oracle: Hindsight") {
			t.Errorf("no oracle precision by reason\n%v", r)
		}
	})
	t.Run("replay help", func(t *testing.T) {
		r := cli(t, "replay", "-help")
		if !strings.Contains(r.stdout+r.stderr, "oracle (hindsight") {
			t.Errorf("replay -help does not name oracle\n%v", r)
		}
	})
}
