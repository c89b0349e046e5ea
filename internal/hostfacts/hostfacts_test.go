package hostfacts

import (
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/rules"
)

// The ssh options (bounds and the host key check) reach syncoid's shell command line: they must pass the
// allow-list that the spec's and the helper's --ssh-option values pass.
func TestSSHOptionsPassTheShellAllowList(t *testing.T) {
	for _, o := range SSHOptions {
		if msg := rules.SSHOption(o); msg != "" {
			t.Errorf("%q %s", o, msg)
		}
	}
}

// Every generated name is a valid unit or path component for every valid
// block name, and keeps the reserved prefix that the spec refuses elsewhere.
func TestGeneratedNames(t *testing.T) {
	for _, name := range []string{"a", "sonarr", "A.b_c-9"} {
		for _, u := range []string{PreseedUnit(name), BackupWrapper(name), ReplicateWrapper(name), DrillUnit(name), DatasetsUnit,
			JobSlice, PgStanzaUnit(name), PgDrillUnit(name), PgMetricsUnit(name)} {
			if !strings.HasPrefix(u, Prefix) || rules.Unit(u+".service") != "" {
				t.Errorf("%q is not a reserved unit name", u)
			}
		}
		for _, u := range []string{ResticUnit(PruneJob(name)), ResticUnit(CheckJob(name)), SyncoidUnit(name), PgBackupUnit(name, "full")} {
			if msg := rules.Unit(u + ".service"); msg != "" {
				t.Errorf("%q %s", u, msg)
			}
		}
		for _, p := range []string{JobLockFile(name), BackupRunPath(name)} {
			if msg := rules.AbsPath(p); msg != "" || !strings.HasPrefix(p, RunDir+"/") {
				t.Errorf("%q is not below %s", p, RunDir)
			}
		}
	}
	for in, want := range map[string]string{"a b": "syncoid-a-b", "a+ +b": "syncoid-a-b", "x.y_z-1": "syncoid-x.y_z-1"} {
		if got := SyncoidUnit(in); got != want {
			t.Errorf("SyncoidUnit(%q) = %q, want %q", in, got, want)
		}
	}
}
