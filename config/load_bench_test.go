package config

import (
	"fmt"
	"strings"
	"testing"
)

// unknownKeys returns a configuration whose global section has n unknown
// keys.
func unknownKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("global:\n")
	for i := range n {
		fmt.Fprintf(&b, "  k%d: 1\n", i)
	}
	return []byte(b.String())
}

// BenchmarkLoadUnknownKeys loads configurations with 10,000 and 100,000
// unknown keys. Load is linear in the number of problems: the 100k case
// takes about ten times the 10k case, not a hundred (compare their ns/op):
//
//	go test ./config -run '^$' -bench LoadUnknownKeys -benchtime 3x
func BenchmarkLoadUnknownKeys(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := unknownKeys(n)
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				_, err := Load(data, "big.yaml")
				if got := len(Errors(err)); got != n {
					b.Fatalf("got %d problems, want %d", got, n)
				}
			}
		})
	}
}
