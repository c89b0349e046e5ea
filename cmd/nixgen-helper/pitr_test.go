package main

import (
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/pgtest"
)

// TestPITRRestorePlanAndExitCodes: the procedure's first command as
// docs/postgresql.md writes it prints the plan and changes nothing; a
// time without an offset is a usage error; a service without pitr is a
// manifest error. (The restore itself: internal/pitr's e2e test.)
func TestPITRRestorePlanAndExitCodes(t *testing.T) {
	e2e.Tool(t, "pgbackrest") // the plan names pgbackrest by its path
	m := pgtest.Manifest("tank", "/srv/pg", "/srv/repo")
	m.Services[0].Mountpoint = "/srv/pg"
	path := writeManifest(t, m)

	code, out, errOut := runHelper(t, "pitr", "restore", "--manifest", path, "--service", "pg", "--target-time", "2026-11-30 11:57:00+00")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"zfs snapshot tank/services/pg@nixgen-pitr-", "--type=time --target=2026-11-30 11:57:00+00 --target-action=promote", "--delta", "(UTC 2026-11-30T11:57:00Z)", "Nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runHelper(t, "pitr", "restore", "--manifest", path, "--service", "pg", "--target-time", "2026-11-30 11:57:00"); code != exitUsage || !strings.Contains(errOut, "offset") {
		t.Errorf("time without an offset: exit %d, %s", code, errOut)
	}
	m.Services[0].PostgreSQL.PITR = nil
	m.PgRepositories = nil
	path = writeManifest(t, m)
	if code, _, errOut := runHelper(t, "pitr", "restore", "--manifest", path, "--service", "pg", "--target-time", "2026-11-30 11:57:00+00"); code != exitManifest {
		t.Errorf("service without pitr: exit %d, %s", code, errOut)
	}
}
