package shard

import (
	"slices"
)

// Owner returns the member that owns key: the one of highest rendezvous
// weight (highest-random-weight hashing, Thaler and Ravishankar 1998),
//
//	owner(key) = argmax over members m of mix(h(key) ⊕ mix(h(m)))
//
// where h is 64-bit FNV-1a and mix is SplitMix64's finaliser; ties (which
// need equal 64-bit weights) go to the smaller name. It is a pure function
// of the key and the set of members (their order does not matter), so two
// replicas that see the same members agree on every owner. A member's
// departure moves only the keys it owned, each to the member of next
// highest weight, so they spread evenly over the others; a member's arrival
// takes over only keys, about 1/n of them, from every other member alike.
// It returns "" when there are no members.
func Owner(key string, members []string) string {
	hk := hash(key)
	best, bestW := "", uint64(0)
	for _, m := range members {
		w := mix(hk ^ mix(hash(m)))
		if best == "" || w > bestW || (w == bestW && m < best) {
			best, bestW = m, w
		}
	}
	return best
}

// Assign returns the owner of every key (Owner), by key.
func Assign(keys, members []string) map[string]string {
	members = slices.Clone(members)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = Owner(k, members)
	}
	return out
}

// hash is 64-bit FNV-1a, written out so that it allocates nothing: Owns
// hashes every service and member at every step.
func hash(s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// mix is SplitMix64's finaliser: every bit of the result depends on every
// bit of x (FNV-1a alone mixes its last bytes poorly).
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
