package schema

import (
	"slices"
	"strings"
)

// pathIndex finds which of many dataset names or absolute paths overlap
// (rules.Overlap: the same, or one below the other at a "/") without
// comparing every pair: a map finds a key's ancestors by the prefixes that
// end before each "/", and a sorted copy finds its descendants as one run
// of keys sharing the prefix "key/". n keys cost O(n log n) plus the
// overlaps found.
type pathIndex struct {
	keys   []string
	in     []bool           // whether keys[i] is indexed
	byKey  map[string][]int // key -> indices holding it, ascending
	sorted []int            // indices of included keys, by key
}

// newPathIndex indexes keys[i] for every i that include accepts (all when
// include is nil); other indices are never reported.
func newPathIndex(keys []string, include func(i int) bool) *pathIndex {
	x := &pathIndex{keys: keys, in: make([]bool, len(keys)), byKey: make(map[string][]int, len(keys))}
	for i, k := range keys {
		if include != nil && !include(i) {
			continue
		}
		x.in[i] = true
		x.byKey[k] = append(x.byKey[k], i)
		x.sorted = append(x.sorted, i)
	}
	slices.SortStableFunc(x.sorted, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	return x
}

// overlapping returns, ascending, the indices whose key overlaps t.
func (x *pathIndex) overlapping(t string) []int {
	var out []int
	// Keys t lies within: t itself, and every prefix of t that ends just
	// before or just after a "/" (rules.Within trims one trailing "/").
	out = append(out, x.byKey[t]...)
	for k := 0; k < len(t); k++ {
		if t[k] != '/' {
			continue
		}
		out = append(out, x.byKey[t[:k]]...)
		if k+1 < len(t) {
			out = append(out, x.byKey[t[:k+1]]...)
		}
	}
	// Keys within t: those starting with t (one trailing "/" trimmed)
	// and a "/", a contiguous run of the sorted keys.
	prefix := strings.TrimSuffix(t, "/") + "/"
	start, _ := slices.BinarySearchFunc(x.sorted, prefix, func(i int, p string) int { return strings.Compare(x.keys[i], p) })
	for _, i := range x.sorted[start:] {
		if !strings.HasPrefix(x.keys[i], prefix) {
			break
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pairs returns every overlapping pair {j, i} of indexed keys with j < i,
// ordered by i and then j: the order of a loop over all pairs, so
// diagnostics come out as they did from one.
func (x *pathIndex) pairs() [][2]int {
	var out [][2]int
	for i := range x.keys {
		if !x.in[i] {
			continue
		}
		for _, j := range x.overlapping(x.keys[i]) {
			if j < i {
				out = append(out, [2]int{j, i})
			}
		}
	}
	return out
}
