package emit

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds every function that turns data into Nix or systemd text.
// Templates print data only through the nix* functions (the template test
// enforces it); the sd* functions prepare data for the places where systemd
// parses a string itself, and their result still goes through a nix* function.

// nixKeywords may not be bare attribute names.
var nixKeywords = map[string]bool{
	"assert": true, "else": true, "if": true, "in": true, "inherit": true,
	"let": true, "or": true, "rec": true, "then": true, "with": true,
}

// nixStringBody escapes s for the inside of a Nix "..." string, following
// Nix's printLiteralString: backslash, double quote and "${" are escaped,
// newline, CR and tab use their escapes, every other byte is written as is.
// NUL cannot live in a Nix string, so it is an error.
func nixStringBody(s string) (string, error) {
	i := nixPlainPrefix(s)
	if i == len(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	if err := writeNixStringBody(&b, s, i); err != nil {
		return "", err
	}
	return b.String(), nil
}

// nixString returns s as a Nix "..." string literal.
func nixString(s string) (string, error) {
	i := nixPlainPrefix(s)
	if i == len(s) {
		return `"` + s + `"`, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteByte('"')
	if err := writeNixStringBody(&b, s, i); err != nil {
		return "", err
	}
	b.WriteByte('"')
	return b.String(), nil
}

// nixPlainPrefix returns the length of the start of s that nixStringBody
// writes unchanged; all of it for most strings, which then need no copy.
func nixPlainPrefix(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '"', '\n', '\r', '\t', 0:
			return i
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				return i
			}
		}
	}
	return len(s)
}

// writeNixStringBody writes s escaped to b; s[:plain] needs no escapes.
func writeNixStringBody(b *strings.Builder, s string, plain int) error {
	if strings.IndexByte(s[plain:], 0) >= 0 {
		return fmt.Errorf("string %q contains a NUL byte, which Nix strings cannot hold", s)
	}
	b.WriteString(s[:plain])
	for i := plain; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteString(`\$`)
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil
}

// nixAttrName returns s as an attribute name: bare when Nix's lexer reads it
// as an identifier that is not a keyword, quoted otherwise (so "a.b" stays one
// name instead of becoming a nested path).
func nixAttrName(s string) (string, error) {
	if isBareIdent(s) && !nixKeywords[s] {
		return s, nil
	}
	return nixString(s)
}

// isBareIdent reports whether s matches [A-Za-z_][A-Za-z0-9_'-]*.
func isBareIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '\'' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// nixAttrPath joins attribute names into a path such as
// systemd.services."nixgen-preseed-a.b", quoting each part as needed.
func nixAttrPath(parts ...string) (string, error) {
	if len(parts) == 0 {
		return "", fmt.Errorf("empty attribute path")
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		q, err := nixAttrName(p)
		if err != nil {
			return "", err
		}
		out[i] = q
	}
	return strings.Join(out, "."), nil
}

// nixList returns a one-line Nix list of strings: [ "a" "b" ], or [ ].
func nixList(items []string) (string, error) {
	if len(items) == 0 {
		return "[ ]", nil
	}
	var b strings.Builder
	b.WriteString("[")
	for _, it := range items {
		q, err := nixString(it)
		if err != nil {
			return "", err
		}
		b.WriteString(" ")
		b.WriteString(q)
	}
	b.WriteString(" ]")
	return b.String(), nil
}

// nixInt prints an integer literal. Nix has no negative literals (-1 is a
// subtraction), so they are parenthesised.
func nixInt(n int64) string {
	if n < 0 {
		return "(" + strconv.FormatInt(n, 10) + ")"
	}
	return strconv.FormatInt(n, 10)
}

// nixIntValue is nixInt for the integer types templates hand over.
func nixIntValue(v any) (string, error) {
	switch n := v.(type) {
	case int:
		return nixInt(int64(n)), nil
	case int64:
		return nixInt(n), nil
	default:
		return "", fmt.Errorf("nixInt: %T is not an integer", v)
	}
}

// nixBool prints true or false.
func nixBool(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// nixPathLiteral returns a Nix path relative to the current file for rel
// (e.g. "services/sonarr.nix"): a bare ./path literal when every character is
// one a path literal may hold, otherwise (./. + "/rel") so any name works.
func nixPathLiteral(rel string) (string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("path %q is not relative", rel)
	}
	bare := true
	for i := 0; i < len(rel); i++ {
		c := rel[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '+' || c == '/') {
			bare = false
			break
		}
	}
	if bare && !strings.HasSuffix(rel, "/") && !strings.Contains(rel, "//") {
		return "./" + rel, nil
	}
	q, err := nixString("/" + rel)
	if err != nil {
		return "", err
	}
	return "(./. + " + q + ")", nil
}

// sdSafe reports whether s can appear as one unquoted systemd word with the
// same meaning: no spaces, quotes, backslashes, specifiers (%) or variables ($).
func sdSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_@+=:,./-", c) >= 0) {
			return false
		}
	}
	return true
}

// sdExecArg quotes s as one argument of a systemd Exec*= command line, which
// systemd splits and unescapes itself (systemd.service(5), "Command lines"):
// double quotes with C escapes for \ " newline CR tab, "%%" for a literal %
// (specifiers) and "$$" for a literal $ (environment variables). The result
// is systemd text; it must still go through nixString.
func sdExecArg(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("string %q contains a NUL byte", s)
	}
	if sdSafe(s) {
		return s, nil
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '%':
			b.WriteString("%%")
		case '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// sdPathArg quotes a path for settings such as RequiresMountsFor= that split
// on spaces, unquote, and expand specifiers but neither C escapes nor $
// variables. Control characters cannot be written there at all.
func sdPathArg(s string) (string, error) {
	if err := noControl(s); err != nil {
		return "", err
	}
	if sdSafe(s) {
		return s, nil
	}
	return sdQuotePath(s), nil
}

func noControl(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return fmt.Errorf("path %q contains a control character, which systemd unit settings cannot hold", s)
		}
	}
	return nil
}

// sdQuotePath double-quotes s for the settings that sdPathArg describes.
func sdQuotePath(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '%':
			b.WriteString("%%")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sdBindPath quotes a source:destination pair for BindPaths= and
// BindReadOnlyPaths=. systemd splits that list on whitespace and ":", removes
// quotes ("\x" inside them is x) and then expands specifiers, so a path is
// double-quoted whenever it holds anything beyond sdSafe's characters or a
// colon, with "%%" for a literal %. Control characters cannot be written.
func sdBindPath(src, dst string) (string, error) {
	var out [2]string
	for i, s := range []string{src, dst} {
		if err := noControl(s); err != nil {
			return "", err
		}
		if sdSafe(s) && strings.IndexByte(s, ':') < 0 {
			out[i] = s
		} else {
			out[i] = sdQuotePath(s)
		}
	}
	return out[0] + ":" + out[1], nil
}

// resticFilesFromPath escapes a path for the file that NixOS's restic module
// hands to `restic backup --files-from`, where each line is expanded with
// filepath.Glob: a backslash before * ? [ and \ makes Glob match the name
// itself, so "Movie [2020]" is backed up instead of "Movie 2". The result is
// restic text; it must still go through nixString.
func resticFilesFromPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.IndexByte(`*?[\`, p[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
