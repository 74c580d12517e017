package shard

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"testing"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc-%03d", i)
	}
	return out
}

// TestOwnerBalance checks that rendezvous hashing splits the services
// evenly: for every member count, each member's share is within 4
// standard deviations of a binomial draw of its fair share.
func TestOwnerBalance(t *testing.T) {
	ks := keys(3000)
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("%d members", n), func(t *testing.T) {
			var members []string
			for i := range n {
				members = append(members, fmt.Sprintf("presage-7d9f8-%c%c", 'a'+i, 'k'+i))
			}
			count := map[string]int{}
			for _, owner := range Assign(ks, members) {
				count[owner]++
			}
			p := 1 / float64(n)
			fair, sd := float64(len(ks))*p, math.Sqrt(float64(len(ks))*p*(1-p))
			for _, m := range members {
				if d := math.Abs(float64(count[m]) - fair); d > 4*sd {
					t.Errorf("%s owns %d of %d keys, fair share %.0f ± %.0f", m, count[m], len(ks), fair, 4*sd)
				}
			}
		})
	}
}

// TestOwnerMinimalMovement checks that a member's departure moves only its
// own keys, spread over all the others, and that an arrival moves keys only
// to the newcomer; and that the members' order does not matter.
func TestOwnerMinimalMovement(t *testing.T) {
	ks := keys(300)
	members := []string{"a", "b", "c", "d"}
	before := Assign(ks, members)
	reversed := slices.Clone(members)
	slices.Reverse(reversed)
	for k, o := range Assign(ks, reversed) {
		if before[k] != o {
			t.Fatalf("%s: owner %s with the members reversed, %s before", k, o, before[k])
		}
	}

	after := Assign(ks, []string{"a", "c", "d"}) // b leaves
	gained := map[string]int{}
	for _, k := range ks {
		switch {
		case before[k] == "b":
			if after[k] == "b" {
				t.Fatalf("%s still owned by the member that left", k)
			}
			gained[after[k]]++
		case after[k] != before[k]:
			t.Errorf("%s moved from %s to %s though its owner stayed", k, before[k], after[k])
		}
	}
	for _, m := range []string{"a", "c", "d"} {
		if gained[m] == 0 {
			t.Errorf("%s took none of b's keys: %v", m, gained)
		}
	}

	joined := Assign(ks, []string{"a", "b", "c", "d", "e"})
	moved := 0
	for _, k := range ks {
		if joined[k] != before[k] {
			moved++
			if joined[k] != "e" {
				t.Errorf("%s moved from %s to %s when e joined", k, before[k], joined[k])
			}
		}
	}
	if moved == 0 || moved > len(ks)/5*2 {
		t.Errorf("%d of %d keys moved to the newcomer, want about a fifth", moved, len(ks))
	}
	if Owner("x", nil) != "" {
		t.Error("an owner without members")
	}
}

// TestHashIsFNV1a checks the written-out hash against hash/fnv's.
func TestHashIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "checkout", "svc-0001", "vm-bq5q8"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := hash(s), h.Sum64(); got != want {
			t.Errorf("hash(%q) = %#x, want FNV-1a %#x", s, got, want)
		}
	}
}
