// Package schema reads a directory of HCL spec files, validates it, applies
// every default and returns the fully resolved model.Spec. Every problem is
// reported as an hcl.Diagnostic whose Subject is the offending attribute or
// block, and all problems are reported together.
package schema

import (
	"cmp"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/parallel"
)

// Load parses every *.hcl file under dir (recursively, in sorted order) as
// one spec. Filenames in diagnostics and in the returned file map are
// filepath.Join(dir, rel). The spec is nil whenever an error diagnostic
// exists; warnings alone leave it usable.
func Load(dir string) (*model.Spec, map[string]*hcl.File, hcl.Diagnostics) {
	paths, diags := specFiles(dir)
	files := map[string]*hcl.File{}
	var raw rawFile
	for i, r := range parseAll(paths) {
		diags = append(diags, r.diags...)
		if r.file != nil {
			files[paths[i]] = r.file
		}
		rf := r.raw
		raw.Hosts = append(raw.Hosts, rf.Hosts...)
		raw.Repos = append(raw.Repos, rf.Repos...)
		raw.PgRepos = append(raw.PgRepos, rf.PgRepos...)
		raw.Notifiers = append(raw.Notifiers, rf.Notifiers...)
		raw.Profiles = append(raw.Profiles, rf.Profiles...)
		raw.Policies = append(raw.Policies, rf.Policies...)
		raw.Services = append(raw.Services, rf.Services...)
	}
	diags = dropFollowUps(diags)
	c := &checker{}
	for _, d := range diags {
		if d.Subject != nil && d.Severity == hcl.DiagError {
			c.broken = append(c.broken, *d.Subject)
		}
	}
	spec := resolve(c, &raw)
	diags = append(diags, c.diags...)
	sortDiagnostics(diags)
	if diags.HasErrors() {
		return nil, files, diags
	}
	return spec, files, diags
}

// parsed is one spec file, parsed and decoded.
type parsed struct {
	file  *hcl.File
	raw   rawFile
	diags hcl.Diagnostics
}

// parseAll parses and decodes the files on every CPU: files are
// independent until they are merged, in order, by the caller.
func parseAll(paths []string) []parsed {
	out := make([]parsed, len(paths))
	parallel.For(len(paths), func(i int) {
		r := &out[i]
		r.file, r.diags = hclparse.NewParser().ParseHCLFile(paths[i])
		if r.file != nil && r.file.Body != nil {
			r.diags = append(r.diags, decodeBody(r.file.Body, &r.raw)...)
		}
	})
	return out
}

// specFiles lists the *.hcl files under dir in sorted order.
func specFiles(dir string) ([]string, hcl.Diagnostics) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".hcl") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory", Detail: err.Error()}}
	}
	if len(paths) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No spec files", Detail: fmt.Sprintf("There are no *.hcl files under %s.", dir)}}
	}
	slices.Sort(paths)
	return paths, nil
}

// dropFollowUps removes gohcl's "value must be known" type error that
// follows HCL's own error for the same expression (e.g. "Variables not
// allowed"): it repeats the problem in vaguer words.
func dropFollowUps(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == "Unsuitable value type" && strings.Contains(d.Detail, "must be known") && d.Subject != nil {
			dup := false
			for _, prev := range out {
				if prev.Severity == hcl.DiagError && prev.Subject != nil && *prev.Subject == *d.Subject {
					dup = true
				}
			}
			if dup {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// sortDiagnostics orders diagnostics by file and position (those without a
// position first), so output reads top to bottom like the source.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		if a.Subject == nil || b.Subject == nil {
			switch {
			case a.Subject == nil && b.Subject != nil:
				return -1
			case a.Subject != nil && b.Subject == nil:
				return 1
			}
			return 0
		}
		return cmp.Or(
			cmp.Compare(a.Subject.Filename, b.Subject.Filename),
			cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte),
		)
	})
}
