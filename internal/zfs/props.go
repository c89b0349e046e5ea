package zfs

import (
	"math"
	"strconv"
	"strings"
)

// createOnly are the properties ZFS accepts only at creation (`zfs set`
// refuses them). Manifests list their own; this is the safety net.
var createOnly = map[string]bool{
	"casesensitivity": true,
	"normalization":   true,
	"utf8only":        true,
	"encryption":      true,
	"keyformat":       true,
	"pbkdf2iters":     true,
	"volblocksize":    true,
}

// CreateOnly reports whether prop can only be given at creation time.
func CreateOnly(prop string) bool { return createOnly[prop] }

// sizeProps hold byte counts: `zfs get -p` prints them as plain integers.
var sizeProps = map[string]bool{
	"recordsize":           true,
	"volblocksize":         true,
	"volsize":              true,
	"quota":                true,
	"refquota":             true,
	"reservation":          true,
	"refreservation":       true,
	"special_small_blocks": true,
}

func isSizeProp(prop string) bool {
	if sizeProps[prop] {
		return true
	}
	for _, p := range []string{"userquota@", "groupquota@", "projectquota@", "userobjquota@", "groupobjquota@", "projectobjquota@"} {
		if strings.HasPrefix(prop, p) {
			return true
		}
	}
	return false
}

// aliases are the index values that zfs accepts but reports under another
// name (OpenZFS zfs_prop.c: the first name of a value is the one printed).
var aliases = map[string]map[string]string{
	"compression": {"gzip-6": "gzip"},
	"acltype":     {"posixacl": "posix", "noacl": "off", "disabled": "off"},
	"xattr":       {"dir": "on"},
	"aclinherit":  {"secure": "restricted"},
	"volmode":     {"geom": "full"},
}

// Normalize returns value in the form `zfs get -p` prints for prop, so a
// declared "16K" compares equal to a read "16384", "none" to "0" for
// quotas, and "gzip-6" to "gzip". Values that are not sizes, or that do not
// parse, are returned as given (a bad value is then zfs's to reject).
func Normalize(prop, value string) string {
	if a, ok := aliases[prop][value]; ok {
		return a
	}
	if !isSizeProp(prop) {
		return value
	}
	if value == "none" {
		return "0"
	}
	if n, ok := ParseSize(value); ok {
		return strconv.FormatUint(n, 10)
	}
	return value
}

// ParseSize parses a ZFS size: a number (decimals allowed) with an optional
// binary suffix B, K, M, G, T, P, E, optionally followed by "B" or "iB"
// ("16K", "16k", "16KB", "16KiB", "1.5M"). Suffixes are powers of 1024.
func ParseSize(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, suf := s[:i], strings.ToUpper(s[i:])
	if num == "" {
		return 0, false
	}
	suf = strings.TrimSuffix(strings.TrimSuffix(suf, "IB"), "B")
	if s[i:] != "" && suf == "" {
		suf = "B" // a lone "B"/"b" suffix: bytes
	}
	shift := 0
	switch suf {
	case "", "B":
	case "K":
		shift = 10
	case "M":
		shift = 20
	case "G":
		shift = 30
	case "T":
		shift = 40
	case "P":
		shift = 50
	case "E":
		shift = 60
	default:
		return 0, false
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || n > math.MaxUint64>>shift {
			return 0, false
		}
		return n << shift, true
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	v := f * float64(uint64(1)<<shift)
	if v >= math.MaxUint64 {
		return 0, false
	}
	return uint64(v), true
}
