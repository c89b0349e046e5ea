package schema

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary file contents to Load: it must never panic, and
// it must return a spec exactly when there is no error.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"../../specs", "testdata/design"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	f.Add("service \"a\" {\n  replication { target = \"x@y:z\" }\n  preseed { methods = [\"syncoid\"] }\n}\n")
	dir := f.TempDir() // one directory, rewritten per input: cheaper than t.TempDir
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, _, diags := Load(dir)
		if (spec == nil) != diags.HasErrors() {
			t.Fatalf("spec nil = %v, errors = %v", spec == nil, diags.HasErrors())
		}
		for _, d := range diags {
			if d.Subject == nil {
				t.Errorf("diagnostic without a position: %s", d)
			}
		}
	})
}

func FuzzValueChecks(f *testing.F) {
	for _, s := range []string{"daily", "Mon..Fri *-*-* 0/2:00", "1h 30min", "u@h:p/d", "tank/a", "16K", "*-02~03"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		calendarError(s)
		parseDuration(s)
		parseTarget(s)
		datasetNameError(s)
		relativeDatasetError(s)
		checkSubsetError(s)
		for name := range nativeProperties {
			propertyError(name, s)
		}
		propertyError(s, s)
	})
}
