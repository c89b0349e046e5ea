package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sebdah/goldie/v2"

	"github.com/nixgen/nixgen/internal/diag"
)

const invalidRoot = "../../golden/invalid"

// TestInvalidGolden loads every golden/invalid/<case>/specs directory and
// compares its gcc-format diagnostics, with filenames relative to the specs
// directory, against golden/invalid/<case>/diagnostics.golden.
func TestInvalidGolden(t *testing.T) {
	entries, err := os.ReadDir(invalidRoot)
	if err != nil {
		t.Fatal(err)
	}
	g := goldie.New(t, goldie.WithFixtureDir(invalidRoot), goldie.WithNameSuffix(".golden"))
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			specs := filepath.Join(invalidRoot, name, "specs")
			spec, _, diags := Load(specs)
			if len(diags) == 0 {
				t.Fatal("an invalid case produced no diagnostics")
			}
			if (spec == nil) != diags.HasErrors() {
				t.Errorf("spec nil = %v, but errors = %v", spec == nil, diags.HasErrors())
			}
			var buf bytes.Buffer
			if err := diag.Write(&buf, "gcc", relative(diags, specs), nil, false); err != nil {
				t.Fatal(err)
			}
			g.Assert(t, filepath.Join(name, "diagnostics"), buf.Bytes())
			if t.Failed() {
				t.Logf("if the new output is right, update the goldens with:\n\tgo test ./internal/schema -run TestInvalidGolden -update")
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d invalid cases; the corpus should cover every rule", n)
	}
}

// relative rewrites filenames (in subjects and in details that mention
// other positions) relative to the specs dir, so goldens do not depend on
// where the repository is checked out.
func relative(diags hcl.Diagnostics, dir string) hcl.Diagnostics {
	prefix := dir + string(filepath.Separator)
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Detail = strings.ReplaceAll(c.Detail, prefix, "")
		if d.Subject != nil {
			s := *d.Subject
			s.Filename = strings.TrimPrefix(s.Filename, prefix)
			c.Subject = &s
		}
		out[i] = &c
	}
	return out
}
