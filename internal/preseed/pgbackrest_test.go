package preseed

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/pgtest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// The pgbackrest method on its own, in a tmpfs mounted where the dataset
// would be: the restore, the move into place and the recovery do not
// depend on ZFS (the full preseed runs are in pgbackrest_e2e_test.go).

// tmpfsEnv mounts a tmpfs as the service's mountpoint, with a repository
// and a socket directory beside it.
func tmpfsEnv(t *testing.T) (m *manifest.Manifest, st *pgbackrest.Stanza, socket string) {
	t.Helper()
	pgtest.Require(t)
	base := zfstest.TrustedDir(t)
	mp := filepath.Join(base, "pg")
	if err := os.Mkdir(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", mp).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mp).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mp, err, out)
		}
	})
	pgtest.Chown(t, mp)
	m = pgtest.Manifest("tank", mp, pgtest.Dir(t, base, "repo"), "pgbackrest")
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := pgbackrest.ForService(m, "pg")
	if err != nil {
		t.Fatal(err)
	}
	return m, st, pgtest.Dir(t, base, "sock")
}

// method runs the pgbackrest method the way decide does: root locked first.
func method(t *testing.T, m *manifest.Manifest, prog string) error {
	t.Helper()
	svc := m.Service("pg")
	root, err := openRoot(svc.Mountpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockRoot(root); err != nil {
		t.Fatal(err)
	}
	root.Close()
	r := &run{o: Options{Manifest: m, PgBackRest: prog, Grace: time.Second}, svc: svc, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return r.pgbackrest(context.Background())
}

func TestPgBackRestMethod(t *testing.T) {
	m, st, socket := tmpfsEnv(t)
	mp := m.Services[0].Mountpoint
	// Nothing in the repository yet: unavailable, and the dataset as it was.
	if err := method(t, m, ""); !errors.Is(err, errUnavailable) {
		t.Fatalf("empty repository: %v, want unavailable", err)
	}
	emptyAfter(t, mp)

	// The service's owner gets the root back (decide's unlockRoot).
	if err := os.Chmod(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	pgtest.Chown(t, mp)
	c, run := pgtest.Archiving(t, st, socket)
	c.SQL("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
	run("check")
	c.Stop()
	emptyDir(t, mp)

	// Killed halfway: the method fails and leaves nothing behind.
	killer := filepath.Join(filepath.Dir(mp), "killer")
	if err := os.WriteFile(killer, []byte(killerScript), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := method(t, m, killer); err == nil || errors.Is(err, errUnavailable) {
		t.Fatalf("killed restore: %v, want a failure", err)
	}
	emptyAfter(t, mp)

	if err := method(t, m, ""); err != nil {
		t.Fatal(err)
	}
	if err := fixOwnership(mp, pgtest.User, pgtest.User, "0750"); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(mp)
	if len(names) != 1 || names[0].Name() != "data" {
		t.Fatalf("dataset holds %v, want only data", names)
	}
	// The rows written after the backup come back through the archive.
	r := pgtest.Open(t, st.DataDir, socket)
	r.Start()
	for i := 0; r.SQL("SELECT pg_is_in_recovery()") != "f"; i++ {
		if i > 600 {
			t.Fatalf("still in recovery\n%s", r.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := r.SQL("SELECT string_agg(x::text, ',' ORDER BY x) FROM t"); got != "1,2" {
		t.Errorf("rows after the restore: %q, want 1,2", got)
	}
	r.Stop()
}

// killerScript kills pgbackrest restore, with its worker processes (the
// whole process group, as systemd kills a unit's cgroup), once it has
// written PG_VERSION.
const killerScript = `#!/bin/sh
case " $* " in *" restore "*) ;; *) exec pgbackrest "$@" ;; esac
pgbackrest "$@" & pid=$!
i=0
while [ ! -e "$PGBACKREST_PG1_PATH/PG_VERSION" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
kill -9 0
`
