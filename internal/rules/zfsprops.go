package rules

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// createOnly are the filesystem properties that `zfs set` refuses on an
// existing dataset: those OpenZFS marks PROP_ONETIME in
// module/zcommon/zfs_prop.c (casesensitivity, normalization, utf8only,
// encryption), and keyformat and pbkdf2iters, which change only through
// `zfs change-key` (nixgen never runs it). Volume properties such as
// volblocksize are left out: nixgen makes only filesystems, and the spec
// check refuses them as unknown. The generator warns about them and marks them in
// the manifest; the helper sets them only at creation and reports a
// difference afterwards.
var createOnly = map[string]bool{
	"casesensitivity": true,
	"encryption":      true,
	"keyformat":       true,
	"normalization":   true,
	"pbkdf2iters":     true,
	"utf8only":        true,
}

// CreateOnly reports whether ZFS accepts property name only at creation.
func CreateOnly(name string) bool { return createOnly[name] }

// CreateOnlyProperties lists, sorted, the properties of CreateOnly.
func CreateOnlyProperties() []string { return slices.Sorted(maps.Keys(createOnly)) }

// ZFSSize parses a size as `zfs set` does (libzfs zfs_nicestrtonum): a
// decimal number, fractions allowed ("1.5M" is 1572864 bytes), then
// optionally one of the binary suffixes B K M G T P E Z in either case, the
// letters other than B optionally followed by "B" or "iB". Nothing else: no
// spaces, no sign, no "BB". It returns false where zfs refuses the value
// (including a result above 2^64-1).
func ZFSSize(s string) (uint64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	frac := i < len(s) && s[i] == '.'
	if frac {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	num, suffix := s[:i], s[i:]
	if num == "" || num == "." {
		return 0, false
	}
	shift, ok := sizeShift(suffix)
	if !ok {
		return 0, false
	}
	if !frac {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || shift >= 64 || n > math.MaxUint64>>shift {
			return 0, false
		}
		return n << shift, true
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	// UINT64_MAX rounds up to 2^64 as a double, hence >= (as in libzfs).
	v := math.Ldexp(f, shift)
	if v >= math.MaxUint64 {
		return 0, false
	}
	return uint64(v), true
}

// sizeShift is libzfs's str2shift: "" is bytes; "G", "GB" and "GiB" (any
// case) are the same; "B" stands alone.
func sizeShift(suffix string) (int, bool) {
	if suffix == "" {
		return 0, true
	}
	i := strings.IndexByte("BKMGTPEZ", upper(suffix[0]))
	if i < 0 {
		return 0, false
	}
	rest := strings.ToUpper(suffix[1:])
	if rest == "" || i > 0 && (rest == "B" || rest == "IB") {
		return 10 * i, true
	}
	return 0, false
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
