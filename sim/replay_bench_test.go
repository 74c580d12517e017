package sim

import (
	"context"
	"testing"

	"github.com/presage-dev/presage/config"
)

func BenchmarkReplayExample(b *testing.B) {
	cfg, err := config.LoadFile("../config.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Replay(context.Background(), ReplayOptions{Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
}
