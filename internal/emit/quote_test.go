package emit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNixString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b`, `"a\"b"`},
		{`back\slash`, `"back\\slash"`},
		{"${x}", `"\${x}"`},
		{"$${x}", `"$\${x}"`},
		{"$", `"$"`},
		{"a$", `"a$"`},
		{"$x", `"$x"`},
		{`$\`, `"$\\"`},
		{"''", `"''"`},
		{"''${", `"''\${"`},
		{"line\nbreak", `"line\nbreak"`},
		{"cr\rlf\r\n", `"cr\rlf\r\n"`},
		{"tab\t", `"tab\t"`},
		{"ünïcödé ✓ 🚀", `"ünïcödé ✓ 🚀"`},
		{"%i %%", `"%i %%"`},
		{"\x01\x7f", "\"\x01\x7f\""},
		{`\u003c`, `"\\u003c"`},
	} {
		got, err := nixString(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("nixString(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := nixString("nul\x00"); err == nil {
		t.Error("nixString accepted a NUL byte")
	}
}

func TestNixAttrName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sonarr", "sonarr"},
		{"_x", "_x"},
		{"a-b'c_1", "a-b'c_1"},
		{"Upper", "Upper"},
		{"true", "true"}, // not a keyword: a valid attribute name
		{"1abc", `"1abc"`},
		{"-x", `"-x"`},
		{"'x", `"'x"`},
		{"a.b", `"a.b"`},
		{"tank/services/sonarr", `"tank/services/sonarr"`},
		{"", `""`},
		{"a b", `"a b"`},
		{"${x}", `"\${x}"`},
		{"ünï", `"ünï"`},
		{"assert", `"assert"`}, {"else", `"else"`}, {"if", `"if"`}, {"in", `"in"`},
		{"inherit", `"inherit"`}, {"let", `"let"`}, {"or", `"or"`}, {"rec", `"rec"`},
		{"then", `"then"`}, {"with", `"with"`},
	} {
		got, err := nixAttrName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("nixAttrName(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestNixAttrPath(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"services", "sonarr"}, "services.sonarr"},
		{[]string{"services", "foo@bar"}, `services."foo@bar"`},
		{[]string{"sanoid", "tank/a.b", "useTemplate"}, `sanoid."tank/a.b".useTemplate`},
		{[]string{"x", "in"}, `x."in"`},
	} {
		got, err := nixAttrPath(tc.in...)
		if err != nil || got != tc.want {
			t.Errorf("nixAttrPath(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := nixAttrPath(); err == nil {
		t.Error("nixAttrPath() accepted an empty path")
	}
}

func TestNixList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "[ ]"},
		{[]string{"a"}, `[ "a" ]`},
		{[]string{"a b", `"`, "${"}, `[ "a b" "\"" "\${" ]`},
	} {
		got, err := nixList(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("nixList(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := nixList([]string{"ok", "\x00"}); err == nil {
		t.Error("nixList accepted a NUL byte")
	}
}

func TestNixIntBool(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{0, "0"}, {24, "24"}, {int64(5700), "5700"}, {-1, "(-1)"},
	} {
		got, err := nixIntValue(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("nixIntValue(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := nixIntValue("3"); err == nil {
		t.Error("nixIntValue accepted a string")
	}
	if nixBool(true) != "true" || nixBool(false) != "false" {
		t.Error("nixBool")
	}
}

func TestNixPathLiteral(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"services/sonarr.nix", "./services/sonarr.nix"},
		{"services/a+b_c-1.nix", "./services/a+b_c-1.nix"},
		{"services/foo@bar.nix", `(./. + "/services/foo@bar.nix")`},
		{"services/a b.nix", `(./. + "/services/a b.nix")`},
		{"services/${x}.nix", `(./. + "/services/\${x}.nix")`},
	} {
		got, err := nixPathLiteral(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("nixPathLiteral(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := nixPathLiteral("/abs"); err == nil {
		t.Error("nixPathLiteral accepted an absolute path")
	}
}

func TestSdExecArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sonarr", "sonarr"},
		{"--read-data-subset=5%", `"--read-data-subset=5%%"`},
		{"a b", `"a b"`},
		{"", `""`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\dir`, `"C:\\dir"`},
		{"$HOME", `"$$HOME"`},
		{"${X}", `"$${X}"`},
		{"%i", `"%%i"`},
		{"l1\nl2\r\t", `"l1\nl2\r\t"`},
		{"it's", `"it's"`},
		{";", `";"`},
		{"ünï", `"ünï"`},
	} {
		got, err := sdExecArg(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("sdExecArg(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
			continue
		}
		back, err := sdExecUnquote(got)
		if err != nil || back != tc.in {
			t.Errorf("systemd reads %s as %q, %v; want %q", got, back, err, tc.in)
		}
	}
	if _, err := sdExecArg("\x00"); err == nil {
		t.Error("sdExecArg accepted a NUL byte")
	}
}

func TestSdPathArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/var/lib/sonarr", "/var/lib/sonarr"},
		{"/srv/my data", `"/srv/my data"`},
		{"/srv/100%", `"/srv/100%%"`},
		{`/srv/q"\`, `"/srv/q\"\\"`},
		{"/srv/$x", `"/srv/$x"`}, // no variable expansion in RequiresMountsFor=
	} {
		got, err := sdPathArg(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("sdPathArg(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
			continue
		}
		back, err := sdPathUnquote(got)
		if err != nil || back != tc.in {
			t.Errorf("systemd reads %s as %q, %v; want %q", got, back, err, tc.in)
		}
	}
	for _, bad := range []string{"/srv/a\nb", "/srv/\t", "/srv/\x00"} {
		if _, err := sdPathArg(bad); err == nil {
			t.Errorf("sdPathArg(%q) accepted a control character", bad)
		}
	}
}

// parseNixString reads one Nix "..." literal the way Nix's lexer does
// (src/libexpr/lexer.l, STRING state, and unescapeStr): an escape is a
// backslash and any byte (\n \r \t are control characters), "${" starts an
// interpolation, which data must never do, and "$" followed by anything
// else is literal together with that byte. A raw CR (or CR LF) reads as LF.
func parseNixString(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '"' {
		return "", errors.New("not a string literal")
	}
	var b strings.Builder
	plain := func(i int) int { // appends the raw byte at i, returns the next index
		if lit[i] == '\r' {
			b.WriteByte('\n')
			if i+1 < len(lit) && lit[i+1] == '\n' {
				return i + 2
			}
			return i + 1
		}
		b.WriteByte(lit[i])
		return i + 1
	}
	for i := 1; i < len(lit); {
		switch c := lit[i]; {
		case c == '"':
			if i != len(lit)-1 {
				return "", errors.New("text after the closing quote")
			}
			return b.String(), nil
		case c == '\\':
			if i+1 >= len(lit) {
				return "", errors.New("unterminated escape")
			}
			switch d := lit[i+1]; d {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(d)
			}
			i += 2
		case c == '$' && i+1 < len(lit) && lit[i+1] == '{':
			return "", errors.New("interpolation in a data string")
		case c == '$' && i+1 < len(lit) && lit[i+1] != '"' && lit[i+1] != '\\':
			b.WriteByte('$')
			i = plain(i + 1)
		default:
			i = plain(i)
		}
	}
	return "", errors.New("unterminated string")
}

// parseNixAttrName reads an attribute name: a bare identifier that is not a
// keyword, or a string literal.
func parseNixAttrName(text string) (string, error) {
	if strings.HasPrefix(text, `"`) {
		return parseNixString(text)
	}
	if !isBareIdent(text) || nixKeywords[text] {
		return "", errors.New("not an identifier")
	}
	return text, nil
}

func TestParseNixStringSelf(t *testing.T) {
	// The test parser must reject what Nix rejects, or the fuzz test proves nothing.
	for _, bad := range []string{`"${x}"`, `"abc`, `"a"b"`, `"\`, `"$$${x}"`, `abc`} {
		if got, err := parseNixString(bad); err == nil {
			t.Errorf("parseNixString(%s) = %q, want an error", bad, got)
		}
	}
	for lit, want := range map[string]string{`"$${x}"`: "$${x}", "\"a\r\nb\rc\"": "a\nb\nc", `"\q\$"`: "q$", `"$"`: "$"} {
		if got, err := parseNixString(lit); err != nil || got != want {
			t.Errorf("parseNixString(%s) = %q, %v; want %q", lit, got, err, want)
		}
	}
}

// sdExecUnquote reads one Exec*= word as systemd does: specifiers ("%%")
// when the unit loads, then quotes and C escapes, then "$$" at exec time.
func sdExecUnquote(word string) (string, error) {
	word = strings.ReplaceAll(word, "%%", "\x00pct")
	if strings.Contains(word, "%") {
		return "", errors.New("unescaped specifier")
	}
	word = strings.ReplaceAll(word, "\x00pct", "%")
	if !strings.HasPrefix(word, `"`) {
		if strings.ContainsAny(word, " \t\"'\\") {
			return "", errors.New("unquoted word with separators or quotes")
		}
		return envUnescape(word)
	}
	if len(word) < 2 || !strings.HasSuffix(word, `"`) {
		return "", errors.New("unterminated quote")
	}
	var b strings.Builder
	body := word[1 : len(word)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' {
			return "", errors.New("unescaped quote inside a word")
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", errors.New("trailing backslash")
		}
		switch body[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', '"', '\'':
			b.WriteByte(body[i])
		default:
			return "", errors.New("unknown C escape")
		}
	}
	return envUnescape(b.String())
}

func envUnescape(s string) (string, error) {
	s = strings.ReplaceAll(s, "$$", "\x00dollar")
	if strings.Contains(s, "$") {
		return "", errors.New("unescaped variable reference")
	}
	return strings.ReplaceAll(s, "\x00dollar", "$"), nil
}

// sdPathUnquote reads a RequiresMountsFor= word: specifiers, then quotes in
// which a backslash takes the next byte literally.
func sdPathUnquote(word string) (string, error) {
	word = strings.ReplaceAll(word, "%%", "\x00pct")
	if strings.Contains(word, "%") {
		return "", errors.New("unescaped specifier")
	}
	word = strings.ReplaceAll(word, "\x00pct", "%")
	if !strings.HasPrefix(word, `"`) {
		return word, nil
	}
	var b strings.Builder
	body := word[1 : len(word)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String(), nil
}

// splitRaw splits s at unquoted separator bytes, keeping each word's quotes
// and escapes for the *Unquote readers above.
func splitRaw(s, seps string) ([]string, error) {
	var words []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			words = append(words, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	return append(words, s[start:]), nil
}

// sdExecSplit reads a whole Exec*= command line as systemd does.
func sdExecSplit(line string) ([]string, error) {
	raw, err := splitRaw(line, " ")
	if err != nil {
		return nil, err
	}
	var words []string
	for _, w := range raw {
		u, err := sdExecUnquote(w)
		if err != nil {
			return nil, err
		}
		words = append(words, u)
	}
	return words, nil
}

// sdBindUnquote reads one BindReadOnlyPaths= entry: source and destination.
func sdBindUnquote(entry string) (string, string, error) {
	raw, err := splitRaw(entry, ": \t")
	if err != nil {
		return "", "", err
	}
	if len(raw) != 2 {
		return "", "", fmt.Errorf("%d fields, want source:destination", len(raw))
	}
	src, err := sdPathUnquote(raw[0])
	if err != nil {
		return "", "", err
	}
	dst, err := sdPathUnquote(raw[1])
	return src, dst, err
}

func TestSdBindPath(t *testing.T) {
	for _, dst := range append([]string{"/srv/a", "/srv/a:b", "/srv/a b", `/srv/"q"`, `/srv/back\slash`, "/srv/pct%i", "/srv/'s'"}, hostile...) {
		if strings.ContainsFunc(dst, func(r rune) bool { return r < 0x20 }) {
			if _, err := sdBindPath("/run/x", dst); err == nil {
				t.Errorf("sdBindPath accepted control characters in %q", dst)
			}
			continue
		}
		q, err := sdBindPath("/run/nixgen/backup/a:b", dst)
		if err != nil {
			t.Fatal(err)
		}
		src, back, err := sdBindUnquote(q)
		if err != nil || src != "/run/nixgen/backup/a:b" || back != dst {
			t.Errorf("sdBindPath(%q) = %s reads back as %q:%q, %v", dst, q, src, back, err)
		}
	}
	if q, _ := sdBindPath("/run/x", "/srv/plain"); q != "/run/x:/srv/plain" {
		t.Errorf("plain paths got quoted: %s", q)
	}
}
