package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/presage-dev/presage/"

// allowed lists, for every package of the module, the packages of the
// module its non-test files may import (docs/architecture.md draws the
// same). A package missing from this table fails the test: a new package
// takes its place in the layers on purpose.
var allowed = map[string][]string{
	// The pure core: no I/O, nothing of ours.
	"schedule": nil,
	"model":    nil,
	"policy":   nil,
	"metrics":  nil,

	"config":            {"schedule"},
	"metrics/file":      {"metrics"},
	"metrics/prom":      {"config", "metrics"},
	"model/eval":        {"model", "metrics/file"},
	"actuators":         nil,
	"actuators/webhook": {"actuators", "config"},
	"actuators/kube":    {"actuators", "config"},

	// The loop: never knows whether it is simulated.
	"controller":        {"actuators", "config", "internal/atomicfile", "metrics", "model", "policy", "schedule"},
	"controller/leader": {"actuators", "config"},
	"controller/shard":  {"actuators", "config", "controller/leader"},

	// The simulated service, then the replay that drives it.
	"sim":    {"actuators", "actuators/webhook", "config", "metrics", "metrics/file", "model", "policy", "schedule"},
	"replay": {"actuators", "config", "controller", "internal/chart", "metrics", "metrics/file", "model", "policy", "schedule", "sim"},

	// The live page reads the controller's view.
	"ui": {"config", "controller", "internal/chart", "schedule"},

	"internal/archtest":   nil,
	"internal/atomicfile": nil,
	"internal/chart":      nil,
	"internal/kubetest":   nil,
	"internal/promtest":   {"internal/testutil"},
	"internal/rbac":       {"config"},
	"internal/testutil":   nil,

	// The binary wires everything.
	"cmd/presage": {
		"actuators", "actuators/kube", "actuators/webhook", "config", "controller", "controller/leader", "controller/shard",
		"internal/atomicfile", "internal/rbac", "metrics", "metrics/file", "metrics/prom", "model", "model/eval", "policy",
		"replay", "schedule", "sim", "ui",
	},
}

// imports returns, by package directory relative to root, the packages of
// the module that its non-test Go files import.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := make(map[string][]string)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if ours, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out[rel], ours) {
				out[rel] = append(out[rel], ours)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportRules(t *testing.T) {
	got := imports(t, filepath.Join("..", ".."))
	for pkg, imps := range got {
		rules, ok := allowed[pkg]
		if !ok {
			t.Errorf("%s: not in the table of allowed imports (internal/archtest): place it in the layers and in docs/architecture.md", pkg)
			continue
		}
		for _, imp := range imps {
			if !slices.Contains(rules, imp) {
				t.Errorf("%s imports %s, which the package graph does not allow (docs/architecture.md)", pkg, imp)
			}
		}
	}
	for pkg := range allowed {
		if _, ok := got[pkg]; !ok {
			t.Errorf("%s: in the table of allowed imports but not in the tree", pkg)
		}
	}
}

// TestImportRulesCatchABreak checks the test itself: a controller that
// imports sim, or a model that imports config, is reported.
func TestImportRulesCatchABreak(t *testing.T) {
	root := t.TempDir()
	write := func(dir, src string) {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "x.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("controller", "package controller\nimport _ \""+module+"sim\"\n")
	write("model", "package model\nimport _ \""+module+"config\"\n")
	got := imports(t, root)
	var broken []string
	for pkg, imps := range got {
		for _, imp := range imps {
			if !slices.Contains(allowed[pkg], imp) {
				broken = append(broken, pkg+" -> "+imp)
			}
		}
	}
	slices.Sort(broken)
	if want := []string{"controller -> sim", "model -> config"}; !slices.Equal(broken, want) {
		t.Errorf("broken imports %v, want %v", broken, want)
	}
}
