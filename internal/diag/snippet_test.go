package diag_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/diag"
	"github.com/nixgen/nixgen/internal/schema"
	"github.com/nixgen/nixgen/internal/specgen"
)

// The text form cuts each diagnostic's file after the lines its snippet
// shows (HCL's writer would otherwise scan the whole file per diagnostic).
// Every diagnostic of the golden corpora and of a generated spec tree must
// print exactly as HCL's writer prints it with the whole files, in color
// and without.
func TestTextSnippetsMatchHCLWriter(t *testing.T) {
	dirs, err := filepath.Glob("../../golden/*/*/specs")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden spec trees (%v)", err)
	}
	gen := t.TempDir()
	if err := specgen.Write(gen, 300, 1); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, gen)
	n := 0
	for _, dir := range dirs {
		_, files, diags := schema.Load(dir)
		for _, d := range diags {
			if diag.IsSecret(d) {
				continue
			}
			sameAsHCL(t, dir, d, files, false)
			sameAsHCL(t, dir, d, files, true)
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d diagnostics compared", n)
	}
}

// Edge cases of the cut: a snippet on the last line without a newline, an
// empty range at the start of a line, a range ending at a line's start, and
// a context range over several lines.
func TestTextSnippetEdges(t *testing.T) {
	src := []byte("a = 1\nb = 2\nc = 3\nd = 4\ne = 5")
	file := &hcl.File{Bytes: src}
	files := map[string]*hcl.File{"f.hcl": file}
	pos := func(b int) hcl.Pos {
		line, col := 1, 1
		for _, c := range src[:b] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return hcl.Pos{Line: line, Column: col, Byte: b}
	}
	rng := func(a, b int) *hcl.Range { r := hcl.Range{Filename: "f.hcl", Start: pos(a), End: pos(b)}; return &r }
	cases := []*hcl.Diagnostic{
		{Summary: "last line", Subject: rng(24, 29)},
		{Summary: "empty at line start", Subject: rng(6, 6)},
		{Summary: "ends at a line start", Subject: rng(0, 6)},
		{Summary: "ends on a newline", Subject: rng(0, 5)},
		{Summary: "context", Subject: rng(12, 13), Context: rng(6, 20)},
		{Summary: "empty at the end", Subject: rng(29, 29)},
	}
	for _, d := range cases {
		d.Severity = hcl.DiagError
		sameAsHCL(t, "edges", d, files, false)
	}
}

// sameAsHCL fails t when diag.Write prints d otherwise than HCL's text
// writer given the whole files.
func sameAsHCL(t *testing.T, where string, d *hcl.Diagnostic, files map[string]*hcl.File, color bool) {
	t.Helper()
	var got, want bytes.Buffer
	if err := diag.Write(&got, "text", hcl.Diagnostics{d}, files, color); err != nil {
		t.Fatal(err)
	}
	if err := hcl.NewDiagnosticTextWriter(&want, files, 0, color).WriteDiagnostic(d); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("%s: %s:\ngot:\n%s\nwant:\n%s", where, d.Summary, got.String(), want.String())
	}
}
