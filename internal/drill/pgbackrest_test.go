package drill

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/pgtest"
	"github.com/nixgen/nixgen/internal/pitr"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// TestPgDrill: the drill passes on a good repository, leaves nothing in
// the scratch directory, and fails once a file of the backup is damaged.
func TestPgDrill(t *testing.T) {
	pgtest.Require(t)
	base := zfstest.TrustedDir(t)
	mp := pgtest.Dir(t, base, "pg")
	repo := pgtest.Dir(t, base, "repo")
	socket := pgtest.Dir(t, base, "sock")
	scratch := filepath.Join(base, "scratch")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	m := pgtest.Manifest("tank", mp, repo)
	st, err := pgbackrest.ForService(m, "pg")
	if err != nil {
		t.Fatal(err)
	}
	c, run := pgtest.Archiving(t, st, socket)
	ctx := context.Background()
	c.SQL("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
	run("check")
	// Metrics while the server runs: the full backup, and archived WAL.
	p, warn, err := pitr.Collect(ctx, st, pitr.MetricsOptions{Socket: socket})
	if err != nil || warn != nil {
		t.Fatalf("metrics: %v, %v", err, warn)
	}
	if b, ok := p.Backups["full"]; !ok || b.Size == 0 || b.Stop.IsZero() {
		t.Errorf("metrics: full backup %+v", p.Backups)
	}
	if p.Archiver == nil || p.Archiver.ArchivedCount == 0 || p.Archiver.FailedCount != 0 || p.Archiver.LastArchived.IsZero() {
		t.Errorf("metrics: archiver %+v", p.Archiver)
	}
	c.Stop()
	if _, warn, err := pitr.Collect(ctx, st, pitr.MetricsOptions{Socket: socket}); err != nil || warn == nil {
		t.Errorf("metrics with the server stopped: %v, warning %v; want a warning", err, warn)
	}

	o := PgOptions{Stanza: st, ScratchDir: scratch}
	res, err := RunPg(ctx, o, "repo")
	if err != nil || !res.OK() || res.Relations == 0 || res.Backup == "" {
		t.Fatalf("drill on a good repository: %+v, %v", res, err)
	}
	if left, _ := os.ReadDir(scratch); len(left) != 0 {
		t.Errorf("left in the scratch directory: %v", left)
	}

	// Damage the backup: overwrite the stored (compressed) files of the
	// cluster's catalog.
	damaged := 0
	_ = filepath.Walk(filepath.Join(repo, "backup", "pg", res.Backup, "pg_data", "global"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			if werr := os.WriteFile(p, []byte("not a backup file"), 0o640); werr == nil {
				damaged++
			}
		}
		return nil
	})
	if damaged == 0 {
		t.Fatal("found nothing to damage")
	}
	res, err = RunPg(ctx, o, "repo")
	if !errors.Is(err, ErrFailed) || res.OK() {
		t.Fatalf("drill on a damaged repository: %+v, %v", res, err)
	}
	t.Logf("damaged repository: %s", res.Error)
	if left, _ := os.ReadDir(scratch); len(left) != 0 {
		t.Errorf("left in the scratch directory after a failed drill: %v", left)
	}
	if strings.Contains(res.Error, "removing the scratch directory") {
		t.Error(res.Error)
	}
}
