package pitr_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/pgtest"
	"github.com/nixgen/nixgen/internal/pitr"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// TestPITRRestore: rows written after a full backup, a moment noted
// between two inserts; `pitr restore` to that moment brings back exactly
// the earlier rows, and the snapshot it took first holds the later state.
func TestPITRRestore(t *testing.T) {
	pgtest.Require(t)
	pool := zfstest.NewPool(t)
	z := &zfs.Runner{}
	ctx := context.Background()
	mp := pool.Path("pg")
	for _, ds := range []string{pool.Name + "/services", pool.Name + "/services/pg"} {
		props := map[string]string{"mountpoint": "none"}
		if strings.HasSuffix(ds, "/pg") {
			props["mountpoint"] = mp
		}
		if err := z.Create(ctx, ds, props, false); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.Chown(t, mp)
	repo := pgtest.Dir(t, pool.Dir, "repo")
	socket := pgtest.Dir(t, pool.Dir, "sock")
	m := pgtest.Manifest(pool.Name, mp, repo)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := pgbackrest.ForService(m, "pg")
	if err != nil {
		t.Fatal(err)
	}
	c, run := pgtest.Archiving(t, st, socket)
	// pgBackRest keeps a backup's stop time in whole seconds: a target
	// within the second the full backup ended finds no backup set before
	// it. Let that second pass before the rows the target lies between.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(2 * time.Second)))

	c.SQL("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
	target := c.SQL("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
	c.SQL("INSERT INTO t VALUES (2)")
	// check switches WAL and waits until the segment is archived.
	run("check")

	var out bytes.Buffer
	o := pitr.Options{Manifest: m, Service: "pg", TargetTime: target, Out: &out}
	// While PostgreSQL runs: refused, nothing changed.
	o.Yes = true
	var refused *pitr.RefusedError
	if err := pitr.Restore(ctx, o); !errors.As(err, &refused) {
		t.Fatalf("restore while running: %v, want refused", err)
	}
	c.Stop()
	// Without --yes: a plan, nothing changed.
	o.Yes = false
	if err := pitr.Restore(ctx, o); err != nil {
		t.Fatal(err)
	}
	if snaps, _ := z.Snapshots(ctx, pool.Name+"/services/pg"); len(snaps) != 0 {
		t.Fatalf("the plan took snapshots: %v", snaps)
	}
	if !strings.Contains(out.String(), "Nothing was changed") {
		t.Errorf("plan output:\n%s", out.String())
	}

	o.Yes = true
	out.Reset()
	if err := pitr.Restore(ctx, o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	snaps, err := z.Snapshots(ctx, pool.Name+"/services/pg")
	if err != nil || len(snaps) != 1 || !strings.Contains(snaps[0].Name, "@"+pitr.SnapshotPrefix) {
		t.Fatalf("snapshots after the restore: %v, %v", snaps, err)
	}
	// The restored cluster recovers to the target and promotes.
	c.Start()
	waitPromoted(t, c)
	if got := c.SQL("SELECT string_agg(x::text, ',' ORDER BY x) FROM t"); got != "1" {
		t.Errorf("rows after PITR to %s: %q, want only the first (1)\n%s", target, got, c.Log())
	}
	c.Stop()

	// The snapshot taken before the restore holds the later state.
	clone := pool.Name + "/services/before"
	cmp := pool.Path("before")
	if err := z.Clone(ctx, snaps[0].Name, clone, map[string]string{"mountpoint": cmp}); err != nil {
		t.Fatal(err)
	}
	before := pgtest.Open(t, filepath.Join(cmp, "data"), pgtest.Dir(t, pool.Dir, "sock2"))
	before.Start("archive_mode=off")
	if got := before.SQL("SELECT string_agg(x::text, ',' ORDER BY x) FROM t"); got != "1,2" {
		t.Errorf("rows in %s: %q, want 1,2", snaps[0].Name, got)
	}
	before.Stop()
	if _, err := os.Stat(filepath.Join(mp, "data", "recovery.signal")); !os.IsNotExist(err) {
		t.Errorf("recovery.signal left after promotion: %v", err)
	}
}

// waitPromoted waits until recovery has reached its target and promoted.
func waitPromoted(t *testing.T, c *pgtest.Cluster) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if c.SQL("SELECT pg_is_in_recovery()") == "f" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("still in recovery after a minute\n%s", c.Log())
}
