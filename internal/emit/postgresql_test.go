package emit

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/nixeval"
	"github.com/nixgen/nixgen/internal/schema"
)

// pitrSpec loads the golden PITR case: an encrypted posix repository, a
// restic backup of the mountpoint and a preseed that starts with pgbackrest.
func pitrSpec(t *testing.T) *model.Spec {
	t.Helper()
	spec, _, diags := schema.Load(filepath.Join("..", "..", "golden", "valid", "postgresql-pitr", "specs"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return spec
}

// TestPITROptionsDeclared evaluates the PITR rendering with Nix and fails
// on an option path that nixpkgs does not declare (see declaredOptions).
func TestPITROptionsDeclared(t *testing.T) {
	spec := pitrSpec(t)
	out := Render(spec)
	v := nixeval.Host(t, spec, out)
	svc := nixeval.Get(t, v, "services").(map[string]any)["postgresql.nix"]
	used := map[string]bool{}
	optionPaths("", svc, used)
	var undeclared []string
	for p := range used {
		if !declaredOptions[p] {
			undeclared = append(undeclared, p)
		}
	}
	sort.Strings(undeclared)
	if len(undeclared) > 0 {
		t.Errorf("options not in declaredOptions:\n  %s", strings.Join(undeclared, "\n  "))
	}

	m := svc.(map[string]any)
	pg := m["services"].(map[string]any)["postgresql"].(map[string]any)
	if pg["dataDir"] != "/var/lib/postgresql/16" {
		t.Errorf("dataDir = %v", pg["dataDir"])
	}
	set := pg["settings"].(map[string]any)
	if set["archive_timeout"] != float64(300) || set["wal_level"] != "replica" || set["archive_mode"] != "on" {
		t.Errorf("settings = %v", set)
	}
	// The archive command goes through the cipher wrapper, which reads the
	// passphrase file (shell-quoted) at run time and names the stanza.
	ac := set["archive_command"].(map[string]any)["_force"]
	if ac != "/script/nixgen-pgbackrest --stanza=postgresql archive-push %p" {
		t.Errorf("archive_command = %v", ac)
	}
	br := m["services"].(map[string]any)["pgbackrest"].(map[string]any)
	repo := br["repos"].(map[string]any)["nas"].(map[string]any)
	if repo["path"] != "/mnt/nas/pgbackrest" || repo["retention-full"] != float64(4) || repo["cipher-type"] != "aes-256-cbc" || repo["host"] != nil {
		t.Errorf("repos.nas = %v", repo)
	}
	st := br["stanzas"].(map[string]any)["postgresql"].(map[string]any)
	if p := st["instances"].(map[string]any)["localhost"].(map[string]any)["path"]; p != "/var/lib/postgresql/16" {
		t.Errorf("pg1-path = %v", p)
	}
	jobs := st["jobs"].(map[string]any)
	if jobs["full"].(map[string]any)["schedule"] != "Sun *-*-* 03:00:00" || jobs["diff"].(map[string]any)["type"] != "diff" {
		t.Errorf("jobs = %v", jobs)
	}
	units := m["systemd"].(map[string]any)["services"].(map[string]any)
	full := units["pgbackrest-postgresql-full"].(map[string]any)
	if full["onFailure"] == nil || !strings.Contains(full["serviceConfig"].(map[string]any)["ExecStart"].(map[string]any)["_force"].(string), "backup --type=full") {
		t.Errorf("full job unit = %v", full)
	}
	if _, ok := units["nixgen-pgbackrest-stanza-postgresql"]; !ok {
		t.Error("no stanza-create unit")
	}
}
