package preseed

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/pgtest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// pgEnv is a pool with an empty service dataset and a pgBackRest repository.
type pgEnv struct {
	pool   *zfstest.Pool
	z      *zfs.Runner
	mp     string
	socket string
	m      *manifest.Manifest
	st     *pgbackrest.Stanza
}

func newPgEnv(t *testing.T, methods ...string) *pgEnv {
	t.Helper()
	pgtest.Require(t)
	e := &pgEnv{pool: zfstest.NewPool(t), z: &zfs.Runner{}}
	ctx := context.Background()
	e.mp = e.pool.Path("pg")
	if err := e.z.Create(ctx, e.pool.Name+"/services", map[string]string{"mountpoint": "none"}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.z.Create(ctx, e.pool.Name+"/services/pg", map[string]string{"mountpoint": e.mp}, false); err != nil {
		t.Fatal(err)
	}
	pgtest.Chown(t, e.mp)
	e.socket = pgtest.Dir(t, e.pool.Dir, "sock")
	e.m = pgtest.Manifest(e.pool.Name, e.mp, pgtest.Dir(t, e.pool.Dir, "repo"), methods...)
	e.m.Services[0].Preseed.OnFailure = "start-empty"
	if err := e.m.Validate(); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.st, err = pgbackrest.ForService(e.m, "pg"); err != nil {
		t.Fatal(err)
	}
	return e
}

// backedUp starts an archiving cluster, takes a full backup, writes rows
// after it (archived), stops the cluster and empties the dataset.
func (e *pgEnv) backedUp(t *testing.T) {
	t.Helper()
	c, run := pgtest.Archiving(t, e.st, e.socket)
	c.SQL("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
	run("check")
	c.Stop()
	emptyDir(t, e.mp)
}

func (e *pgEnv) preseed(t *testing.T, prog string) *Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Manifest: e.m, Service: "pg", LockDir: t.TempDir(), PgBackRest: prog,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Grace: time.Second})
	if err != nil {
		t.Logf("preseed: %v", err)
	}
	return res
}

// TestPreseedPgBackRest: the rows written after the last full backup come
// back when the data directory is wiped, through the WAL archive.
func TestPreseedPgBackRest(t *testing.T) {
	e := newPgEnv(t, "pgbackrest")
	e.backedUp(t)
	res := e.preseed(t, "")
	if res.Outcome != Restored || res.Method != "pgbackrest" {
		t.Fatalf("outcome %s/%s, attempts %+v", res.Outcome, res.Method, res.Attempts)
	}
	if _, err := os.Stat(filepath.Join(e.st.DataDir, "PG_VERSION")); err != nil {
		t.Fatal(err)
	}
	c := pgtest.Open(t, e.st.DataDir, e.socket)
	c.Start()
	for i := 0; c.SQL("SELECT pg_is_in_recovery()") != "f"; i++ {
		if i > 600 {
			t.Fatalf("still in recovery\n%s", c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := c.SQL("SELECT string_agg(x::text, ',' ORDER BY x) FROM t"); got != "1,2" {
		t.Errorf("rows after preseed: %q, want 1,2", got)
	}
	c.Stop()
	if e.prop(t, PropComplete) != "complete" {
		t.Error("dataset not marked complete")
	}
}

// An empty repository (unavailable) and pgbackrest killed mid-restore
// (converges on the next run) are tested without ZFS in
// pgbackrest_test.go (TestPgBackRestMethod): the ZFS part of a preseed is
// the same for every method.

func (e *pgEnv) prop(t *testing.T, p string) string {
	t.Helper()
	kids, err := e.z.ListChildren(context.Background(), e.pool.Name+"/services", p)
	if err != nil {
		t.Fatal(err)
	}
	return kids[e.pool.Name+"/services/pg"][p]
}

func emptyAfter(t *testing.T, dir string) {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n.Name() != "lost+found" && n.Name() != ".zfs" {
			t.Errorf("%s left in the dataset", n.Name())
		}
	}
}
