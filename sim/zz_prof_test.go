package sim

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/policy"
)

func TestZZProf(t *testing.T) {
	pol := os.Getenv("ZZPOL")
	if pol == "" {
		t.Skip()
	}
	cfg, err := config.LoadFile("../testdata/replay.100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ms []policy.Mode
	for _, p := range strings.Split(pol, ",") {
		m, _ := policy.ParseMode(p)
		ms = append(ms, m)
	}
	if _, err := Replay(context.Background(), ReplayOptions{Config: cfg, Policies: ms}); err != nil {
		t.Fatal(err)
	}
}

