package emit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/nixeval"
)

// boundedSpec exercises every branch of the unit templates: a repository
// named by repository_file, a notifier URL from url_file, a setgid mode, a
// mountpoint below /home, template and non-service main units.
func boundedSpec() *model.Spec {
	spec := mixedSpec()
	repoFile := *spec.Repositories[0]
	repoFile.Name, repoFile.URL, repoFile.RepositoryFile = "hidden", "", "/run/secrets/restic-repository"
	spec.Repositories = append(spec.Repositories, &repoFile)
	spec.Notifiers = append(spec.Notifiers, &model.Notifier{Name: "hook", Type: "webhook", URLFile: "/run/secrets/hook-url", TokenFile: "/run/secrets/hook-token"})
	s := spec.Hosts[0].Services
	s[1].Backup.Repositories = []string{"hidden"}
	s[1].Notify = append(s[1].Notify, "hook")
	s[2].Mode = "2770"
	s[3].Mountpoint = "/home/media/svc00003"
	s[3].Backup.Paths = []string{s[3].Mountpoint}
	return spec
}

// units returns every systemd.services entry of the evaluated host, by
// unit name, and the syncoid commands' service settings.
func units(t *testing.T, v map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	add := func(mod any) {
		m, ok := mod.(map[string]any)
		if !ok {
			return
		}
		if sd, ok := m["systemd"].(map[string]any); ok {
			if svcs, ok := sd["services"].(map[string]any); ok {
				for name, u := range svcs {
					merge(out, name, u.(map[string]any))
				}
			}
		}
		if svcs, ok := m["services"].(map[string]any); ok {
			if sy, ok := svcs["syncoid"].(map[string]any); ok {
				if cmds, ok := sy["commands"].(map[string]any); ok {
					for name, c := range cmds {
						merge(out, hostfacts.SyncoidUnit(name), c.(map[string]any)["service"].(map[string]any))
					}
				}
			}
		}
	}
	add(v["datasets"])
	add(v["protection"])
	add(v["monitoring"])
	for _, mod := range v["services"].(map[string]any) {
		add(mod)
	}
	return out
}

// merge adds one module's definition of a unit, as the module system
// merges definitions from several files (here: only attributes and their
// serviceConfig and unitConfig keys, which is all the templates split).
func merge(out map[string]map[string]any, name string, u map[string]any) {
	have, ok := out[name]
	if !ok {
		out[name] = u
		return
	}
	for k, v := range u {
		sub, isMap := v.(map[string]any)
		if old, ok := have[k].(map[string]any); ok && isMap && (k == "serviceConfig" || k == "unitConfig") {
			for sk, sv := range sub {
				old[sk] = sv
			}
			continue
		}
		have[k] = v
	}
}

// TestEveryGeneratedUnitIsBounded: every unit that runs something of ours,
// and every restic and syncoid unit nixgen configures, has a time limit.
func TestEveryGeneratedUnitIsBounded(t *testing.T) {
	spec := boundedSpec()
	out := Render(spec)
	checked := 0
	for name, u := range units(t, nixeval.Host(t, spec, out)) {
		sc, _ := u["serviceConfig"].(map[string]any)
		_, runs := sc["ExecStart"]
		if !runs && !strings.HasPrefix(name, "restic-backups-") && !strings.HasPrefix(name, "syncoid-") {
			continue // ordering and hooks added to units that are not ours
		}
		checked++
		if n, ok := sc["TimeoutStartSec"].(float64); !ok || n <= 0 {
			t.Errorf("%s has no TimeoutStartSec (%v)", name, sc["TimeoutStartSec"])
		}
	}
	if checked < 15 {
		t.Errorf("only %d units checked", checked)
	}
}

// unitValue renders an evaluated serviceConfig value as systemd lines.
func unitValue(v any) []string {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range []string{"_default", "_before", "_after", "_force"} {
			if inner, ok := x[k]; ok {
				return unitValue(inner)
			}
		}
	case []any:
		var lines []string
		for _, e := range x {
			lines = append(lines, unitValue(e)...)
		}
		return lines
	case bool:
		return []string{fmt.Sprint(x)}
	case float64:
		return []string{fmt.Sprint(int64(x))}
	case string:
		return []string{x}
	}
	return []string{fmt.Sprint(v)}
}

// TestSystemdAcceptsUnitSettings writes each generated unit's
// serviceConfig and unitConfig as NixOS would (one line per list item) and
// has systemd-analyze verify parse it: a misspelt or unknown hardening
// directive, or a value systemd cannot parse, fails the test.
func TestSystemdAcceptsUnitSettings(t *testing.T) {
	analyze := e2e.Tool(t, "systemd-analyze")
	spec := boundedSpec()
	out := Render(spec)
	dir := t.TempDir()
	var files []string
	for name, u := range units(t, nixeval.Host(t, spec, out)) {
		var b bytes.Buffer
		b.WriteString("[Unit]\nDescription=test\n")
		if uc, ok := u["unitConfig"].(map[string]any); ok {
			for _, k := range slicesSorted(uc) {
				for _, l := range unitValue(uc[k]) {
					fmt.Fprintf(&b, "%s=%s\n", k, l)
				}
			}
		}
		b.WriteString("[Service]\n")
		sc, _ := u["serviceConfig"].(map[string]any)
		if _, ok := sc["ExecStart"]; !ok {
			b.WriteString("Type=oneshot\nExecStart=/bin/true\n") // the NixOS module's part
		}
		for _, k := range slicesSorted(sc) {
			for _, l := range unitValue(sc[k]) {
				fmt.Fprintf(&b, "%s=%s\n", k, l)
			}
		}
		file := filepath.Join(dir, strings.Replace(name, "@", "@test", 1)+".service")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	sort.Strings(files)
	cmd := exec.Command(analyze, append([]string{"verify"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	_ = cmd.Run() // the helper paths do not exist here; only parse errors count
	bad := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "ignoring") || strings.Contains(line, "Unknown") {
			t.Errorf("systemd: %s", line)
			bad++
		}
	}
	if len(files) < 15 {
		t.Errorf("only %d units written", len(files))
	}
	// The check can fail: systemd does report an unknown directive.
	bogus := filepath.Join(dir, "bogus.service")
	os.WriteFile(bogus, []byte("[Service]\nExecStart=/bin/true\nProtectKernelTunable=true\n"), 0o644)
	if o, _ := exec.Command(analyze, "verify", bogus).CombinedOutput(); !strings.Contains(string(o), "ignoring") {
		t.Errorf("systemd-analyze did not report an unknown key: %s", o)
	}
}

func slicesSorted(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
