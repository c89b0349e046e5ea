package emit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNixString checks that every string nixString accepts reads back
// unchanged with Nix's string-literal rules (parseNixString). Real Nix is too
// slow to start per input; TestFuzzSeedsThroughNix runs the seed corpus
// through it instead.
func FuzzNixString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := nixString(s)
		if strings.IndexByte(s, 0) >= 0 {
			if err == nil {
				t.Fatalf("nixString(%q) accepted a NUL byte", s)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseNixString(lit)
		if err != nil || back != s {
			t.Fatalf("nixString(%q) = %s, which Nix reads as %q, %v", s, lit, back, err)
		}
	})
}

// FuzzNixAttrName checks that an attribute name reads back as one name.
func FuzzNixAttrName(f *testing.F) {
	for _, s := range append([]string{"sonarr", "a-b'c", "in", "or", "1x", "a.b", ""}, hostile...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return
		}
		text, err := nixAttrName(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseNixAttrName(text)
		if err != nil || back != s {
			t.Fatalf("nixAttrName(%q) = %s, which Nix reads as %q, %v", s, text, back, err)
		}
	})
}

// readSeeds returns the string inputs of a fuzz target's corpus directory.
func readSeeds(t *testing.T, target string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus for %s: %v", target, err)
	}
	var seeds []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s is not a one-string fuzz corpus file", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seeds = append(seeds, s)
	}
	return seeds
}

// TestFuzzSeedsThroughNix evaluates every seed, quoted as a string and as an
// attribute name, with real Nix in one call and compares the results.
func TestFuzzSeedsThroughNix(t *testing.T) {
	nix := nixInstantiate(t)
	var seeds []string
	for _, s := range append(readSeeds(t, "FuzzNixString"), readSeeds(t, "FuzzNixAttrName")...) {
		// Nix prints invalid UTF-8 as raw bytes that JSON cannot carry back.
		if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
			seeds = append(seeds, s)
		}
	}
	var src strings.Builder
	src.WriteString("[\n")
	for _, s := range seeds {
		lit, err := nixString(s)
		if err != nil {
			t.Fatal(err)
		}
		name, err := nixAttrName(s)
		if err != nil {
			t.Fatal(err)
		}
		src.WriteString("  [ " + lit + " (builtins.attrNames { " + name + " = null; }) ]\n")
	}
	src.WriteString("]\n")
	p := filepath.Join(t.TempDir(), "seeds.nix")
	if err := os.WriteFile(p, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(nix, "--eval", "--strict", "--json", p)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nix-instantiate: %v\n%s\n%s", err, stderr.String(), src.String())
	}
	var got [][]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(seeds) {
		t.Fatalf("nix returned %d values for %d seeds", len(got), len(seeds))
	}
	for i, s := range seeds {
		if got[i][0] != s {
			t.Errorf("string %q evaluates to %q", s, got[i][0])
		}
		if names := got[i][1].([]any); len(names) != 1 || names[0] != s {
			t.Errorf("attribute name %q evaluates to %q", s, names)
		}
	}
}

// referenceNixStringBody is nixStringBody written another way, with a
// strings.Replacer of Nix's escapes: the fast path that returns strings
// without escapes unchanged must give the same result and the same NUL
// error.
func referenceNixStringBody(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errNUL
	}
	return nixEscapes.Replace(s), nil
}

var nixEscapes = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", `\${`)

var errNUL = errors.New("NUL")

func FuzzNixStringMatchesReference(f *testing.F) {
	for _, s := range append([]string{"", "plain", "$", "a$", "${", "a${b}", "\\", "x\x00", "\x00", "é\"\n"}, hostile...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := referenceNixStringBody(s)
		body, err := nixStringBody(s)
		lit, litErr := nixString(s)
		if (err != nil) != (wantErr != nil) || (litErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: errors %v, %v; want %v", s, err, litErr, wantErr)
		}
		if err == nil && (body != want || lit != `"`+want+`"`) {
			t.Fatalf("%q: body %q, literal %s; want %q", s, body, lit, want)
		}
	})
}
