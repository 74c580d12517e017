package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/presage-dev/presage/policy"
)

// TestResolveAfterZeroKeepsScores: with incident.resolve_after 0 every run
// of breach is an incident of its own, as before resolve_after existed:
// the example replay's JSON holds every value of the golden file, which
// was written by the code before resolve_after (`presage replay -config
// testdata/replay.resolve0.yaml, the example as it was then, -policies none,reactive,predictive,static,clairvoyant
// -json`). Keys the golden file does not have (episodes, avoidable_share,
// cost_vs_oracle) are not compared.
func TestResolveAfterZeroKeepsScores(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of replay; skipped with -short")
	}
	cfg := loadTestConfig(t, "testdata/replay.resolve0.yaml")
	for i := range cfg.Services {
		cfg.Services[i].Incident.ResolveAfter = 0
	}
	rep := replay(t, cfg, policy.None, policy.Reactive, policy.Predictive, policy.Static, policy.Clairvoyant)
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "testdata", "golden", "replay.example.resolve0.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want, have any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatal(err)
	}
	for _, d := range jsonSubset("", want, have) {
		t.Error(d)
	}
}

// jsonSubset returns where have differs from want, in the keys want has.
func jsonSubset(path string, want, have any) []string {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v, want an object", path, have)}
		}
		var out []string
		for k, v := range w {
			hv, ok := h[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, jsonSubset(path+"."+k, v, hv)...)
		}
		return out
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return []string{fmt.Sprintf("%s: %v, want %d elements", path, have, len(w))}
		}
		var out []string
		for i := range w {
			out = append(out, jsonSubset(fmt.Sprintf("%s[%d]", path, i), w[i], h[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(want, have) {
		return []string{fmt.Sprintf("%s: %v, want %v", path, have, want)}
	}
	return nil
}
