// Package golden holds the end-to-end corpus for the generator: every folder
// in valid/ is a spec directory (specs/) with the whole tree nixgen must
// render from it (out/). Invalid specs live in invalid/ and are checked by
// internal/schema's tests.
package golden

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sebdah/goldie/v2"

	"github.com/nixgen/nixgen/internal/diag"
	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/emit"
	"github.com/nixgen/nixgen/internal/schema"
)

func validCases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("valid", "*", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no cases in golden/valid")
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	sort.Strings(names)
	return names
}

// renderCase loads and renders one case's specs. Errors fail the case;
// warnings are part of its expected output (valid/<case>/warnings.golden), so
// a new or lost warning shows up here as a reviewed change.
func renderCase(t *testing.T, name string) (map[string][]byte, []byte) {
	t.Helper()
	dir := filepath.Join("valid", name, "specs")
	spec, files, diags := schema.Load(dir)
	var warnings bytes.Buffer
	if len(diags) > 0 {
		for _, d := range diags {
			if d.Subject != nil {
				r := *d.Subject
				r.Filename = filepath.ToSlash(strings.TrimPrefix(r.Filename, dir+string(filepath.Separator)))
				d.Subject = &r
			}
		}
		if err := diag.Write(&warnings, "gcc", diags, files, false); err != nil {
			t.Fatal(err)
		}
	}
	if diags.HasErrors() {
		t.Fatalf("case %s has errors:\n%s", name, warnings.Bytes())
	}
	out := emit.Render(spec)
	return out, warnings.Bytes()
}

func TestValidGolden(t *testing.T) {
	update := flag.Lookup("update").Value.String() == "true"
	for _, name := range validCases(t) {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("if the new output is right (read the diff first), update with:\n\tgo test ./golden -run 'TestValidGolden/%s$' -update", name)
				}
			}()
			files, warnings := renderCase(t, name)
			caseDir := filepath.Join("valid", name)
			if _, err := os.Stat(filepath.Join(caseDir, "warnings.golden")); len(warnings) > 0 || err == nil {
				goldie.New(t, goldie.WithFixtureDir(caseDir)).Assert(t, "warnings", warnings)
			}
			outDir := filepath.Join("valid", name, "out")
			g := goldie.New(t, goldie.WithFixtureDir(outDir), goldie.WithNameSuffix(""))
			for _, rel := range sortedKeys(files) {
				g.Assert(t, rel, files[rel])
			}
			for _, rel := range filesUnder(t, outDir) {
				if _, ok := files[rel]; ok {
					continue
				}
				if update {
					if err := os.Remove(filepath.Join(outDir, filepath.FromSlash(rel))); err != nil {
						t.Fatal(err)
					}
					continue
				}
				t.Errorf("golden file %s is no longer rendered", filepath.Join(outDir, rel))
			}
		})
	}
}

func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rels
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nixFiles lists every generated .nix file of every valid case, on disk.
func nixFiles(t *testing.T) []string {
	var all []string
	for _, name := range validCases(t) {
		for _, rel := range filesUnder(t, filepath.Join("valid", name, "out")) {
			if strings.HasSuffix(rel, ".nix") {
				all = append(all, filepath.Join("valid", name, "out", rel))
			}
		}
	}
	return all
}

// TestGeneratedNixParses runs Nix's own parser over every golden .nix file.
func TestGeneratedNixParses(t *testing.T) {
	nix := e2e.Tool(t, "nix-instantiate")
	files := nixFiles(t)
	if len(files) == 0 {
		t.Fatal("no .nix files in the golden corpus")
	}
	// One process parses them all (nix-instantiate names the file at fault
	// and stops at the first error); a process per file took 20 times longer.
	if out, err := exec.Command(nix, append([]string{"--parse"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("nix-instantiate --parse (%d files): %v\n%s", len(files), err, out)
	}
}

// TestModuleArgumentsAreUsed: every generated module declares exactly the
// arguments (config, lib, pkgs) that its body uses; the rest is "...".
func TestModuleArgumentsAreUsed(t *testing.T) {
	header := regexp.MustCompile(`(?m)^\{([^}]*)\}:\n`)
	for _, name := range validCases(t) {
		files, _ := renderCase(t, name)
		for _, rel := range sortedKeys(files) {
			if !strings.HasSuffix(rel, ".nix") {
				continue
			}
			src := string(files[rel])
			loc := header.FindStringSubmatchIndex(src)
			if loc == nil {
				t.Errorf("%s/%s: no module header", name, rel)
				continue
			}
			declared := src[loc[2]:loc[3]]
			body := src[loc[1]:]
			for _, arg := range []string{"config", "lib", "pkgs"} {
				decl := regexp.MustCompile(`\b` + arg + `,`).MatchString(declared)
				used := regexp.MustCompile(`\b` + arg + `\.`).MatchString(body)
				if decl != used {
					t.Errorf("%s/%s: %s declared %v, used %v", name, rel, arg, decl, used)
				}
			}
		}
	}
}
