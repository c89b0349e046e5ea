// Package rules holds the validation rules that both sides of nixgen apply:
// internal/schema when it reads the specs (and reports with a source
// position) and manifest.Validate when nixgen-helper reads manifest.json on
// the host (and refuses before it runs anything). One copy of each rule, so
// the helper never trusts what the generator would have rejected.
//
// Every rule is a pure function that returns why a value is not acceptable,
// as a phrase that completes a sentence about the value ("must be ...",
// "contains ..."), or "" when it is fine. Callers add what the value is and
// where it came from.
package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// MaxName is the longest block name.
const MaxName = 63

// Name checks a block name (host, service, repository, notifier, profile,
// policy). Names become file names, dataset components, unit name parts,
// lock and metrics file names, so each is one safe path component: never
// empty, ".", ".." or anything with a "/".
func Name(s string) string {
	if s == "" || !alnum.has(s[0]) || !nameChars.all(s[1:]) || len(s) > MaxName {
		return "must start with a letter or digit, contain only letters, digits, '_', '.' and '-', and be at most 63 characters long"
	}
	return ""
}

// UnixName checks a user or group name as shadow-utils' default rules do.
func UnixName(s string) string {
	if !unixName(s) || len(s) > 32 {
		return "use at most 32 characters, a lowercase letter or '_' first, then lowercase letters, digits, '_' or '-' (optionally ending in '$')"
	}
	return ""
}

// maxID is the largest uid or gid chown accepts: 2^32-1 is (uid_t)-1,
// which chown reads as "leave unchanged".
const maxID = 1<<32 - 2

// NumericID returns the id a string of decimal digits names; ok is false
// for anything else. Containers run as numeric ids that no passwd entry
// names, and chown takes those as they are.
func NumericID(s string) (id int, ok bool) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxID {
		return 0, false
	}
	return int(n), true
}

// Owner checks the user or group of a service's mountpoint root: a name
// (UnixName) or a numeric id (NumericID).
func Owner(s string) string {
	if _, ok := NumericID(s); ok {
		return ""
	}
	if strings.Trim(s, "0123456789") == "" && s != "" {
		return fmt.Sprintf("a numeric id must be a decimal number from 0 to %d without leading zeros", maxID)
	}
	if UnixName(s) != "" {
		return "use a numeric id, or a name of at most 32 characters, a lowercase letter or '_' first, then lowercase letters, digits, '_' or '-' (optionally ending in '$')"
	}
	return ""
}

// Mode checks an octal file mode of 3 or 4 digits.
func Mode(s string) string {
	if (len(s) != 3 && len(s) != 4) || !octal.all(s) {
		return "must be 3 or 4 octal digits, such as \"0750\""
	}
	return ""
}

// Unit checks a systemd unit name (systemd's unit_name_is_valid, plus an
// instance for templates: "foo@.service" alone cannot run). A valid name
// has no "/", so it is also a safe path component.
func Unit(s string) string {
	if len(s) <= 255 && unitName(s) {
		return ""
	}
	if strings.Contains(s, "@.") {
		return "is a template unit without an instance; name an instance, such as \"foo@main.service\""
	}
	return "is not a valid systemd unit name: use letters, digits and \":_.\\-\", an optional \"@instance\", and a unit type suffix such as \".service\""
}

// Within reports whether p is q or lies below q: paths with sep "/", and
// dataset names, whose separator is also "/".
func Within(p, q, sep string) bool {
	if p == q {
		return true
	}
	// p has the prefix q+sep, without building that string: the helper
	// runs this for every service of the manifest on each start.
	q = strings.TrimSuffix(q, sep)
	return len(p) > len(q) && p[:len(q)] == q && strings.HasPrefix(p[len(q):], sep)
}

// Overlap reports whether a and b are the same or one lies below the other.
func Overlap(a, b string) bool { return Within(a, b, "/") || Within(b, a, "/") }

// quoteChar names a character in a message.
func quoteChar(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return fmt.Sprintf("the control character %U", r)
	}
	return strconv.Quote(string(r))
}

// lazyRegexp compiles expr on first use: the helper links these rules, and
// compiling every pattern in a package initialiser cost each start (the
// boot-time preseed skips among them) about 2 ms.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Notifier events: what a notifier is told about.
const (
	EventFailure  = "failure"  // a job failed
	EventRecovery = "recovery" // the first success of a job after a failure
	EventSuccess  = "success"  // every successful job run (recoveries too)
	EventPreseed  = "preseed"  // every preseed outcome
)

// NotifierEvents are the events a notifier can choose, and
// DefaultNotifierEvents those it gets when it chooses none: never every
// routine success.
var (
	NotifierEvents        = []string{EventFailure, EventRecovery, EventSuccess, EventPreseed}
	DefaultNotifierEvents = []string{EventFailure, EventRecovery, EventPreseed}
)
