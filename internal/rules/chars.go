package rules

import "strings"

// The character checks of names, units, modes and dataset components are
// byte-class tests rather than regular expressions: nixgen-helper checks
// every service of the manifest on each start, and a regexp per field made
// that most of a boot-time preseed skip on a host of hundreds of services.
// rules_test.go keeps the equivalent expressions and compares the two.

// charset is a set of ASCII bytes; bytes of multi-byte UTF-8 characters are
// never in it.
type charset [256]bool

func newCharset(ranges ...string) *charset {
	var c charset
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

func (c *charset) has(b byte) bool { return c[b] }

// all reports whether every byte of s is in c (true for "").
func (c *charset) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

var (
	alnum          = newCharset("A-Z", "a-z", "0-9")
	nameChars      = newCharset("A-Z", "a-z", "0-9", "_.-")
	componentChars = newCharset("A-Z", "a-z", "0-9", "_.:-")
	unitChars      = newCharset("A-Z", "a-z", "0-9", `:_.\-`)
	unixFirst      = newCharset("a-z", "_")
	unixChars      = newCharset("a-z", "0-9", "_-")
	octal          = newCharset("0-7")
)

// unixName: a lowercase letter or '_', then lowercase letters, digits, '_'
// or '-', optionally ending in '$'.
func unixName(s string) bool {
	s = strings.TrimSuffix(s, "$")
	return s != "" && unixFirst.has(s[0]) && unixChars.all(s[1:])
}

var unitTypes = map[string]bool{"service": true, "socket": true, "target": true, "mount": true, "automount": true,
	"timer": true, "path": true, "swap": true, "slice": true, "scope": true, "device": true}

// unitName: "prefix[@instance].type", prefix and instance non-empty runs
// of letters, digits and ":_.\-", type one of systemd's unit types.
func unitName(s string) bool {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || !unitTypes[s[i+1:]] {
		return false
	}
	prefix, instance, templated := strings.Cut(s[:i], "@")
	return prefix != "" && unitChars.all(prefix) && (!templated || instance != "" && unitChars.all(instance))
}
