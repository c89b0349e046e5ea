package emit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/hostfacts"
)

// TestSystemdReadsBindPaths has systemd itself parse the BindReadOnlyPaths=
// entries the templates write (NixOS writes one line per list item, as is)
// and checks that every source and destination comes back unchanged.
// `systemd-analyze verify` with debug logging dumps the parsed unit.
func TestSystemdReadsBindPaths(t *testing.T) {
	analyze := e2e.Tool(t, "systemd-analyze")
	dsts := []string{"/srv/plain", "/srv/a:b", "/srv/sp ace", `/srv/"q"`, `/srv/back\slash`, `/srv/end\`, "/srv/pct%i%%", "/srv/'s' and \"d\""}
	for _, s := range hostile {
		dsts = append(dsts, "/srv/m"+noCtl(s))
	}
	var unit bytes.Buffer
	unit.WriteString("[Service]\nType=oneshot\nExecStart=/bin/true\n")
	var want []string
	for i, dst := range dsts {
		src := hostfacts.BackupRunPath("svc" + strings.Repeat("x", i) + "a:b c")
		q, err := sdBindPath(src, dst)
		if err != nil {
			t.Fatal(err)
		}
		unit.WriteString("BindReadOnlyPaths=" + q + "\n")
		want = append(want, src+":"+dst+":rbind")
	}
	file := filepath.Join(t.TempDir(), "nixgen-bind-test.service")
	if err := os.WriteFile(file, unit.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", file)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=debug")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // verify complains about the rest of the system; the dump is what counts
	out := stdout.String() + stderr.String()
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "BindReadOnlyPaths: "); ok {
			got = append(got, v)
		}
		if strings.Contains(line, "nixgen-bind-test.service:") && strings.Contains(line, "BindReadOnlyPaths") {
			t.Errorf("systemd: %s", line)
		}
	}
	if len(got) == 0 {
		t.Fatalf("systemd-analyze printed no BindReadOnlyPaths; output:\n%s", out)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("entry %d: systemd read %q, want %q", i, g, w)
			}
		}
	}
}
