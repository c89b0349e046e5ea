package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/backupsnap"
	"github.com/nixgen/nixgen/internal/drill"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
)

// The generated units and this helper must agree: every nixgen-helper
// command line in the golden and example outputs parses (its flags exist),
// names what its manifest knows, and the backup bind mount reads from where
// backup-snapshot create mounts the clone.

var (
	helperCall = regexp.MustCompile(`/bin/nixgen-helper ([^"]*)"`)
	// "${ ./NAME.preseed.json }": the manifest a preseed unit reads.
	preseedManifestRef = regexp.MustCompile(`\$\{ \./([^ ]+\.preseed\.json) \}`)
	bindSource         = regexp.MustCompile(`BindReadOnlyPaths = \[ "([^:"]*):`)
	// The notify units may write only to the metrics directory, which
	// tmpfiles creates: both must be the helper's --textfile-dir default.
	textfileDir = regexp.MustCompile(`(?:ReadWritePaths = \[ "|tmpfiles.rules = \[ "d )([^" ]*)`)
)

func generatedManifests(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{"../../golden/valid/*/out/*/manifest.json", "../../generated/*/manifest.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Fatal("no generated manifest.json found")
	}
	return paths
}

func TestGeneratedUnitsMatchHelper(t *testing.T) {
	calls, textfiles := 0, 0
	for _, mf := range generatedManifests(t) {
		f, err := os.Open(mf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", mf, err)
			continue
		}
		dir := filepath.Dir(mf)
		nixFiles, _ := filepath.Glob(filepath.Join(dir, "*.nix"))
		more, _ := filepath.Glob(filepath.Join(dir, "services", "*.nix"))
		nixFiles = append(nixFiles, more...)

		units := map[string]bool{}
		for _, j := range m.Jobs {
			units[j.Unit] = true
			if err := metrics.WriteJob(t.TempDir(), metrics.Job{Kind: j.Kind, Host: m.Host, Unit: j.Unit, Service: j.Service, Repository: j.Repository}); err != nil {
				t.Errorf("%s: job %s: %v", mf, j.Unit, err)
			}
			if j.Kind == manifest.JobDrill {
				if _, err := drill.ForRepository(m, j.Repository); err != nil {
					t.Errorf("%s: drill %s: %v", mf, j.Unit, err)
				}
			}
		}
		for _, nf := range nixFiles {
			b, err := os.ReadFile(nf)
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range textfileDir.FindAllStringSubmatch(string(b), -1) {
				textfiles++
				if sub[1] != metrics.DefaultTextfileDir {
					t.Errorf("%s: the notify units may write to %s, the helper writes to %s", nf, sub[1], metrics.DefaultTextfileDir)
				}
			}
			for _, sub := range bindSource.FindAllStringSubmatch(string(b), -1) {
				svc := strings.TrimPrefix(sub[1], backupsnap.DefaultRunDir+"/")
				if tg, err := backupsnap.For(m, svc, backupsnap.DefaultRunDir); err != nil || tg.Dir != sub[1] {
					t.Errorf("%s: bind source %s is not where backup-snapshot mounts (%+v, %v)", nf, sub[1], tg, err)
				}
			}
			for _, sub := range helperCall.FindAllStringSubmatch(string(b), -1) {
				calls++
				// A preseed unit's own manifest, beside its module.
				line := preseedManifestRef.ReplaceAllStringFunc(sub[1], func(ref string) string {
					return filepath.Join(filepath.Dir(nf), preseedManifestRef.FindStringSubmatch(ref)[1])
				})
				args := strings.Fields(line)
				for i, a := range args {
					switch {
					case a == "${./manifest.json}" || a == "${../manifest.json}":
						args[i] = mf
					case a == "%i" && len(m.Jobs) > 0:
						args[i] = m.Jobs[0].Unit
					}
				}
				checkNames(t, nf, m, args)
				checkPreseedManifest(t, nf, m, args)
				// Every flag exists: --help after them exits 0 without running.
				code, _, stderr := runHelper(t, append(args, "--help")...)
				if code != exitOK {
					t.Errorf("%s: nixgen-helper %s: exit %d: %s", nf, sub[1], code, stderr)
				}
			}
		}
		for _, nf := range nixFiles {
			b, _ := os.ReadFile(nf)
			for _, hook := range []string{"nixgen-notify-failure@", "nixgen-notify-success@"} {
				if strings.Contains(string(b), hook+"%n.service") && len(units) == 0 {
					t.Errorf("%s: hooks report to notify, but the manifest lists no jobs", nf)
				}
			}
		}
	}
	if calls == 0 || textfiles == 0 {
		t.Fatalf("no nixgen-helper call (%d) or metrics directory (%d) found in the generated files", calls, textfiles)
	}
}

// checkNames makes sure --service / --repository name what the manifest has.
func checkNames(t *testing.T, file string, m *manifest.Manifest, args []string) {
	t.Helper()
	for i := 0; i+1 < len(args); i++ {
		v := args[i+1]
		switch args[i] {
		case "--service":
			if _, err := backupsnap.For(m, v, backupsnap.DefaultRunDir); err != nil {
				t.Errorf("%s: --service %s: %v", file, v, err)
			}
		case "--repository":
			if _, err := drill.ForRepository(m, v); err != nil {
				t.Errorf("%s: --repository %s: %v", file, v, err)
			}
		}
	}
}

// checkPreseedManifest: a preseed unit's own manifest is the host
// manifest cut down to the service it names.
func checkPreseedManifest(t *testing.T, file string, m *manifest.Manifest, args []string) {
	t.Helper()
	if len(args) < 5 || args[0] != "preseed" || args[1] != "--manifest" || args[3] != "--service" {
		return
	}
	b, err := os.ReadFile(args[2])
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return
	}
	got, err := manifest.Decode(bytes.NewReader(b))
	if want := m.Only(m.Service(args[4])); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s is not the host manifest cut down to %s (%v)", file, args[2], args[4], err)
	}
}
