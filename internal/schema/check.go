package schema

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"

	"github.com/nixgen/nixgen/internal/diag"
	"github.com/nixgen/nixgen/internal/rules"
)

// checker collects diagnostics. Each leaf check reports at the range it is
// given and returns whether the value was acceptable, so callers can skip
// follow-up checks that would only repeat the same problem.
type checker struct {
	diags hcl.Diagnostics
	// broken holds the subjects of decode errors: a value whose attribute
	// failed to decode is a zero value, and checking it would only add noise.
	broken []hcl.Range
}

func (c *checker) errorf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
}

// secretf is errorf for an attribute whose value holds a password or
// token: the text form of the diagnostic does not print its source line.
func (c *checker) secretf(rng hcl.Range, summary, format string, args ...any) {
	c.errorf(rng, summary, format, args...)
	c.diags[len(c.diags)-1].Extra = diag.Secret
}

func (c *checker) warnf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
}

// usable reports whether the attribute at rng decoded cleanly.
func (c *checker) usable(rng hcl.Range) bool {
	for _, b := range c.broken {
		if b.Filename == rng.Filename && b.Start.Byte < rng.End.Byte && rng.Start.Byte < b.End.Byte {
			return false
		}
	}
	return true
}

// pos prints a range's start as file:line:col, the form editors jump to.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// text rejects strings that cannot be carried safely into generated Nix,
// unit files and the manifest: every spec string is a single line, so any
// control character (NUL, newline, tab, ESC, DEL, C1 controls) or invalid
// UTF-8 is an error. Quotes, backslashes, "$", "${" and other Unicode are
// fine: the emitter quotes them.
func (c *checker) text(s string, rng hcl.Range, what string) bool {
	if !set(rng) || !c.usable(rng) {
		return false
	}
	if !utf8.ValidString(s) {
		c.errorf(rng, "Invalid text", "The %s is not valid UTF-8.", what)
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			c.errorf(rng, "Invalid character", "The %s contains the control character %U; spec strings must be a single line without control characters.", what, r)
			return false
		}
	}
	return true
}

// nonEmpty is text plus a check that the value is not blank.
func (c *checker) nonEmpty(s string, rng hcl.Range, what string) bool {
	if !c.text(s, rng, what) {
		return false
	}
	if strings.TrimSpace(s) == "" {
		c.errorf(rng, "Empty value", "The %s must not be empty.", what)
		return false
	}
	return true
}

// blockName checks a block label. Names become file names, dataset
// components and unit name parts, so they are kept to a portable set.
func (c *checker) blockName(s string, rng hcl.Range, kind string) bool {
	if !c.text(s, rng, kind+" name") {
		return false
	}
	if msg := rules.Name(s); msg != "" {
		c.errorf(rng, "Invalid name", "The %s name %q %s.", kind, s, msg)
		return false
	}
	return true
}

// absPath checks an absolute, clean path. Any other character is allowed.
func (c *checker) absPath(s string, rng hcl.Range, what string) bool {
	if !c.nonEmpty(s, rng, what) {
		return false
	}
	if msg := rules.AbsPath(s); msg != "" {
		summary := "Path must be absolute"
		if strings.HasPrefix(s, "/") {
			summary = "Path must be clean"
		}
		c.errorf(rng, summary, "The %s %q %s.", what, s, msg)
		return false
	}
	return true
}

// unitPath checks a path that NixOS writes into a unit file where systemd
// expands specifiers (Environment=, EnvironmentFile=, ExecStart=): a "%"
// would silently turn into another path.
func (c *checker) unitPath(s string, rng hcl.Range, what string) bool {
	if strings.Contains(s, "%") {
		c.errorf(rng, "Path with a \"%\"", "The %s %q contains \"%%\", which systemd would expand as a specifier in the unit NixOS writes; rename the file.", what, s)
		return false
	}
	return true
}

// shellWord checks a value that syncoid pastes into a shell command line
// (ssh_key): rules.ShellWord is the one allow-list, shared with
// manifest.Validate and nixgen-helper's --ssh-option.
func (c *checker) shellWord(s string, rng hcl.Range, what string) bool {
	if msg := rules.ShellWord(s); msg != "" {
		c.errorf(rng, "Value that reaches a shell", "The %s %q %s.", what, s, msg)
		return false
	}
	return true
}

// sshPublicKey checks an optional OpenSSH public key attribute and returns
// it as "type base64" ("" when absent or invalid).
func (c *checker) sshPublicKey(s string, rng hcl.Range, what string) string {
	if !set(rng) || !c.nonEmpty(s, rng, what) {
		return ""
	}
	key, msg := rules.SSHPublicKey(s)
	if msg != "" {
		c.errorf(rng, "Invalid ssh key", "The %s %s.", what, msg)
	}
	return key
}

// NixOS's restic module writes backup paths and exclude patterns one per
// line into files for `restic backup --files-from` and `--exclude-file`
// (nixos/modules/services/backup/restic.nix). restic trims each line and
// drops lines starting with "#"; exclude lines also go through
// os.ExpandEnv. Backup paths are glob-escaped by internal/emit; what no
// escape survives is rejected here.

// filesFromLine checks a backup path: restic would trim trailing spaces.
func (c *checker) filesFromLine(s string, rng hcl.Range, what string) bool {
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		c.errorf(rng, "Path ending in white space", "The %s %q ends in white space, which restic strips from the lines it reads; rename the directory.", what, s)
		return false
	}
	return true
}

// excludeLine checks a restic exclude pattern.
func (c *checker) excludeLine(s string, rng hcl.Range) bool {
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	switch {
	case unicode.IsSpace(first) || unicode.IsSpace(last):
		c.errorf(rng, "Exclude pattern with outer white space", "The exclude pattern %q starts or ends with white space, which restic strips from the lines of its exclude file; match it with \"?\" instead.", s)
	case first == '#':
		c.errorf(rng, "Exclude pattern starting with \"#\"", "The exclude pattern %q starts with \"#\", which makes it a comment in restic's exclude file; write \"[#]\" for a literal \"#\".", s)
	case envRefRe.MatchString(s):
		c.errorf(rng, "Exclude pattern with a variable", "The exclude pattern %q contains %q, which restic replaces with an environment variable when it reads its exclude file; match a literal \"$\" with \"?\".", s, envRefRe.FindString(s))
	default:
		return true
	}
	return false
}

// envRefRe matches what Go's os.ExpandEnv replaces: "$" before a name, a
// brace or a special parameter.
var envRefRe = regexp.MustCompile(`\$[A-Za-z0-9_{*#$@!?-]`)

// owner checks a user or group: a name as shadow-utils' default rules
// allow it, or a numeric id.
func (c *checker) owner(s string, rng hcl.Range, what string) bool {
	if !c.nonEmpty(s, rng, what) {
		return false
	}
	if msg := rules.Owner(s); msg != "" {
		c.errorf(rng, "Invalid "+what, "%q is not a valid %s: %s.", s, what, msg)
		return false
	}
	return true
}

// mode checks an octal mode and returns it as four digits.
func (c *checker) mode(s string, rng hcl.Range) (string, bool) {
	if !c.nonEmpty(s, rng, "mode") {
		return "", false
	}
	if msg := rules.Mode(s); msg != "" {
		c.errorf(rng, "Invalid mode", "The mode %q %s.", s, msg)
		return "", false
	}
	if len(s) == 3 {
		s = "0" + s
	}
	return s, true
}

// unit checks a systemd unit name.
func (c *checker) unit(s string, rng hcl.Range) bool {
	if !c.nonEmpty(s, rng, "unit name") {
		return false
	}
	if msg := rules.Unit(s); msg != "" {
		c.errorf(rng, "Invalid unit name", "%q %s.", s, msg)
		return false
	}
	return true
}

// httpURL checks a notifier URL. Messages show it redacted: a URL that
// holds a secret is an error, and the error must not print the secret.
func (c *checker) httpURL(s string, rng hcl.Range) bool {
	if !c.nonEmpty(s, rng, "URL") {
		return false
	}
	if msg := rules.HTTPURL(s); msg != "" {
		report := c.errorf
		if rules.NotifierSecret(s) != "" {
			report = c.secretf
		}
		report(rng, "Invalid URL", "%q %s.", rules.RedactURL(s), msg)
		return false
	}
	return true
}

var tagRe = regexp.MustCompile(`^[^,\s]+$`)

// tag checks a restic tag: restic splits --tag values on commas.
func (c *checker) tag(s string, rng hcl.Range) bool {
	if !c.nonEmpty(s, rng, "tag") {
		return false
	}
	if !tagRe.MatchString(s) {
		c.errorf(rng, "Invalid tag", "The restic tag %q must not contain commas or whitespace.", s)
		return false
	}
	return true
}

// nonNegative checks a count.
func (c *checker) nonNegative(n int, rng hcl.Range, what string) bool {
	if !set(rng) || !c.usable(rng) {
		return true
	}
	if n < 0 {
		c.errorf(rng, "Invalid count", "The %s must be 0 or more, not %d.", what, n)
		return false
	}
	return true
}

// suggest returns a " Did you mean ...?" suffix for the closest candidate.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, cand := range candidates {
		if d := levenshtein(s, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// item is one string of a list attribute with its own source range.
type item struct {
	s   string
	rng hcl.Range
}

// list decodes a list-of-strings attribute. HCL reports type errors itself;
// each element keeps its own range when the list is written literally. ok is
// false when the attribute is absent or did not decode.
func (c *checker) list(expr hcl.Expression, rng hcl.Range) (items []item, ok bool) {
	if !set(rng) {
		return nil, false
	}
	var vals []string
	if d := gohcl.DecodeExpression(expr, nil, &vals); d.HasErrors() {
		c.diags = append(c.diags, d...)
		c.broken = append(c.broken, rng)
		return nil, false
	}
	elems, d := hcl.ExprList(expr)
	items = make([]item, len(vals))
	for i, v := range vals {
		items[i] = item{v, rng}
		if !d.HasErrors() && len(elems) == len(vals) {
			items[i].rng = elems[i].Range()
		}
	}
	return items, true
}

// entry is one key/value of a map attribute; rng spans "key = value".
type entry struct {
	key, val string
	rng      hcl.Range
}

// stringMap decodes a map-of-strings attribute, in sorted key order.
func (c *checker) stringMap(expr hcl.Expression, rng hcl.Range) (entries []entry, ok bool) {
	if !set(rng) {
		return nil, false
	}
	var vals map[string]string
	if d := gohcl.DecodeExpression(expr, nil, &vals); d.HasErrors() {
		c.diags = append(c.diags, d...)
		c.broken = append(c.broken, rng)
		return nil, false
	}
	ranges := map[string]hcl.Range{}
	if pairs, d := hcl.ExprMap(expr); !d.HasErrors() {
		for _, p := range pairs {
			if k, d := p.Key.Value(nil); !d.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				ranges[k.AsString()] = hcl.RangeBetween(p.Key.Range(), p.Value.Range())
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		r, found := ranges[k]
		if !found {
			r = rng
		}
		entries = append(entries, entry{k, vals[k], r})
	}
	return entries, true
}
