package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nixgen/nixgen/internal/specgen"
)

// TestDecodeBodyMatchesGohcl decodes every spec of the repository (the
// example specs, the golden corpora, valid and invalid, and a generated
// tree) with decodeBody and with gohcl.DecodeBody, and wants the same
// values and the same diagnostics.
func TestDecodeBodyMatchesGohcl(t *testing.T) {
	var paths []string
	for _, root := range []string{"../../specs", "testdata", "../../golden"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".hcl" {
				paths = append(paths, p)
			}
			return nil
		})
	}
	gen := t.TempDir()
	if err := specgen.Write(gen, 120, 2); err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(gen, "*", "*.hcl"))
	top, _ := filepath.Glob(filepath.Join(gen, "*.hcl"))
	paths = append(append(paths, top...), more...)
	if len(paths) < 50 {
		t.Fatalf("only %d spec files found", len(paths))
	}
	withErrors := 0
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		if f == nil || f.Body == nil {
			continue
		}
		var want, got rawFile
		wantDiags := gohcl.DecodeBody(f.Body, nil, &want)
		gotDiags := decodeBody(f.Body, &got)
		if wantDiags.HasErrors() {
			withErrors++
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeBody and gohcl decode different values", p)
		}
		if w, g := diagStrings(wantDiags), diagStrings(gotDiags); !slices.Equal(w, g) {
			t.Errorf("%s: diagnostics differ\ngohcl:      %q\ndecodeBody: %q", p, w, g)
		}
	}
	if withErrors < 10 {
		t.Errorf("only %d files with decode errors: the comparison does not cover errors", withErrors)
	}
}

// diagStrings lists diagnostics sorted: gohcl's order within one body
// follows map iteration, and Load sorts them by position anyway.
func diagStrings(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%v %s: %s %s %v", d.Severity, d.Summary, d.Detail, d.Subject, d.Context))
	}
	slices.Sort(out)
	return out
}
