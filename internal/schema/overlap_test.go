package schema

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nixgen/nixgen/internal/rules"
)

// TestPathIndexMatchesPairwise compares the index with the pairwise loop it
// replaces, on random names built from few components (so that equal,
// nested and prefix-but-not-nested names such as "a/b" and "a/bc" are
// common), with and without trailing or doubled slashes.
func TestPathIndexMatchesPairwise(t *testing.T) {
	parts := []string{"a", "b", "bc", "", "/"}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + r.IntN(30)
		keys := make([]string, n)
		for i := range keys {
			k := ""
			for range 1 + r.IntN(4) {
				k += parts[r.IntN(len(parts))]
				if r.IntN(3) > 0 {
					k += "/"
				}
			}
			if r.IntN(2) == 0 {
				k = "/" + k
			}
			keys[i] = k
		}
		skip := r.IntN(n + 1) // one key left out of the index, or none
		x := newPathIndex(keys, func(i int) bool { return i != skip })

		var want [][2]int
		for i := range keys {
			for j := range i {
				if i != skip && j != skip && rules.Overlap(keys[j], keys[i]) {
					want = append(want, [2]int{j, i})
				}
			}
		}
		if got := x.pairs(); !slices.Equal(got, want) {
			t.Fatalf("round %d keys %q: pairs %v, want %v", round, keys, got, want)
		}
		probe := keys[r.IntN(n)] + parts[r.IntN(len(parts))]
		var wantIdx []int
		for i, k := range keys {
			if i != skip && rules.Overlap(k, probe) {
				wantIdx = append(wantIdx, i)
			}
		}
		if got := x.overlapping(probe); !slices.Equal(got, wantIdx) {
			t.Fatalf("round %d keys %q: overlapping(%q) = %v, want %v", round, keys, probe, got, wantIdx)
		}
	}
}
