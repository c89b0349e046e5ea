// Package pgtest runs throw-away PostgreSQL clusters for tests: initdb and
// pg_ctl as the postgres user, listening only on a unix socket in a
// directory of the test (no TCP). Tests skip without PostgreSQL, pgBackRest
// or the postgres user, unless NIXGEN_E2E=1, where that is a failure.
package pgtest

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/pgbackrest"
)

// User is the unix user that owns the clusters and runs pgbackrest.
const User = "postgres"

// Require skips (fails under NIXGEN_E2E=1) unless initdb, pg_ctl, psql,
// pgbackrest and runuser are on PATH, the caller is root and the postgres
// user exists.
func Require(tb testing.TB) {
	tb.Helper()
	for _, t := range []string{"initdb", "pg_ctl", "psql", "pgbackrest", "runuser"} {
		e2e.Tool(tb, t)
	}
	if os.Geteuid() != 0 {
		e2e.Unavailable(tb, "PostgreSQL tests need root (to run as %s)", User)
	}
	if _, err := user.Lookup(User); err != nil {
		e2e.Unavailable(tb, "no %s user: %v", User, err)
	}
	// pgbackrest's locks are per stanza name in /tmp/pgbackrest by default:
	// tests of other packages running at once would collide.
	locks, err := os.MkdirTemp("", "nixgen-pglock-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(locks) })
	Chown(tb, locks)
	tb.Setenv("PGBACKREST_LOCK_PATH", locks)
}

// Chown gives path to the postgres user.
func Chown(tb testing.TB, path string) {
	tb.Helper()
	u, err := user.Lookup(User)
	if err != nil {
		tb.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		tb.Fatal(err)
	}
}

// Dir makes a directory owned by postgres, mode 0700, below parent.
func Dir(tb testing.TB, parent, name string) string {
	tb.Helper()
	p := filepath.Join(parent, name)
	if err := os.MkdirAll(p, 0o700); err != nil {
		tb.Fatal(err)
	}
	Chown(tb, p)
	return p
}

// Cluster is a PostgreSQL cluster of a test.
type Cluster struct {
	DataDir string
	Socket  string   // directory of the unix socket
	Env     []string // environment of the server (archive_command inherits it)
	tb      testing.TB
}

// As runs argv as postgres with env and returns its output; a failure fails the test.
func As(tb testing.TB, env []string, argv ...string) string {
	tb.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", User, "--"}, argv...)...)
	cmd.Env = env
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// Init runs initdb into dataDir (which postgres must be able to create or
// own) and appends conf lines to postgresql.conf. The socket is socketDir.
func Init(tb testing.TB, dataDir, socketDir string, conf ...string) *Cluster {
	tb.Helper()
	As(tb, os.Environ(), "initdb", "-A", "trust", "-U", User, "-D", dataDir)
	c := Open(tb, dataDir, socketDir)
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, l := range conf {
		if _, err := f.WriteString(l + "\n"); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// Open returns a cluster for an existing data directory (a restored one).
func Open(tb testing.TB, dataDir, socketDir string) *Cluster {
	return &Cluster{DataDir: dataDir, Socket: socketDir, Env: os.Environ(), tb: tb}
}

// Start starts the server on the unix socket only, and stops it when the
// test ends (if it still runs). Extra settings go on the command line.
func (c *Cluster) Start(settings ...string) {
	c.tb.Helper()
	opts := "-c listen_addresses='' -c unix_socket_directories=" + c.Socket
	for _, s := range settings {
		opts += " -c " + s
	}
	cmd := exec.Command("runuser", "-u", User, "--", "pg_ctl", "-D", c.DataDir, "-l", filepath.Join(c.Socket, "log"), "-o", opts, "-w", "-t", "300", "start")
	cmd.Env, cmd.Dir = c.Env, "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		c.tb.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, c.Log())
	}
	c.tb.Cleanup(func() {
		cmd := exec.Command("runuser", "-u", User, "--", "pg_ctl", "-D", c.DataDir, "-m", "immediate", "stop")
		_ = cmd.Run() // already stopped by the test is fine
	})
}

// Stop stops the server (fast shutdown: a clean checkpoint).
func (c *Cluster) Stop() {
	c.tb.Helper()
	As(c.tb, c.Env, "pg_ctl", "-D", c.DataDir, "-m", "fast", "-w", "stop")
}

// SQL runs statements through psql and returns the unaligned, tuples-only output.
func (c *Cluster) SQL(sql string) string {
	c.tb.Helper()
	return strings.TrimSpace(As(c.tb, c.Env, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", c.Socket, "-d", "postgres", "-qAtc", sql))
}

// Log returns the server log, for failure messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Socket, "log"))
	return string(b)
}

// Manifest is a one-service manifest for a PITR service named "pg" with
// dataset <pool>/services/pg mounted at mountpoint, data directory
// <mountpoint>/data, and a posix repository "repo" at repoPath.
func Manifest(pool, mountpoint, repoPath string, methods ...string) *manifest.Manifest {
	m := &manifest.Manifest{
		Version: manifest.Version, Host: "h",
		Parent: manifest.Parent{Dataset: pool + "/services", Pool: pool},
		Services: []manifest.Service{{
			Name: "pg", Unit: "postgresql.service", Dataset: pool + "/services/pg", Mountpoint: mountpoint,
			User: User, Group: User, Mode: "0750", Properties: map[string]string{},
			PostgreSQL: &manifest.PostgreSQL{DataDir: filepath.Join(mountpoint, "data"), PITR: &manifest.PITR{Repository: "repo"}},
		}},
		PgRepositories: map[string]manifest.PgRepository{"repo": {Type: "posix", Path: repoPath, RetentionFull: 2}},
	}
	if len(methods) > 0 {
		m.Services[0].Preseed = &manifest.Preseed{Methods: methods, TimeoutSeconds: 600, OnFailure: "block"}
	}
	return m
}

// Archiving initialises and starts a cluster in the stanza's data
// directory that archives WAL through pgbackrest (with the stanza's
// environment), creates the stanza and takes a full backup. run runs
// more pgbackrest commands against it, failing the test on an error.
func Archiving(t testing.TB, st *pgbackrest.Stanza, socket string) (c *Cluster, run func(args ...string)) {
	t.Helper()
	env, err := st.Env(st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	c = Init(t, st.DataDir, socket, "archive_mode = on", "archive_command = 'pgbackrest --no-config archive-push %p'", "wal_level = replica")
	c.Env = env
	c.Start()
	r, err := st.Runner("pgbackrest", st.DataDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.Env = append(r.Env, "PGBACKREST_PG1_SOCKET_PATH="+socket)
	run = func(args ...string) {
		t.Helper()
		if err := r.Run(context.Background(), nil, args...); err != nil {
			t.Fatalf("%v\nserver log:\n%s", err, c.Log())
		}
	}
	run("stanza-create")
	run("backup", "--type=full", "--start-fast")
	return c, run
}
