package drill

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/safefs"
)

// PgOptions configure the restore drill of a pgBackRest stanza.
type PgOptions struct {
	Stanza     *pgbackrest.Stanza
	ScratchDir string // default DefaultScratchDir
	PgBackRest string // default "pgbackrest"
	PgCtl      string // default "pg_ctl" (the cluster's major version)
	Psql       string // default "psql"
	Grace      time.Duration
	Warn       func(format string, a ...any) // leftovers removed; nil discards
}

// PgResult is one stanza's drill.
type PgResult struct {
	Service    string        `json:"service"`
	Repository string        `json:"repository"`
	Backup     string        `json:"backup,omitempty"` // label of the restored backup
	Taken      time.Time     `json:"backup_time,omitzero"`
	Relations  int           `json:"relations"` // SELECT count(*) FROM pg_class
	Duration   time.Duration `json:"duration_ns"`
	Error      string        `json:"error,omitempty"`
}

// OK reports whether the drill passed.
func (r PgResult) OK() bool { return r.Error == "" }

// RunPg restores the newest backup of the stanza, with the WAL archive to
// its end, into a scratch directory; starts a throw-away PostgreSQL there,
// listening only on a unix socket inside it; waits until recovery has
// finished; counts pg_class; stops it and removes everything. The error
// wraps ErrFailed when the drill failed.
func RunPg(ctx context.Context, o PgOptions, repository string) (res PgResult, err error) {
	start := time.Now()
	st := o.Stanza
	res = PgResult{Service: st.Name, Repository: repository}
	defer func() {
		res.Duration = time.Since(start)
		if res.Error != "" {
			err = fmt.Errorf("%w: %s", ErrFailed, res.Error)
		}
	}()
	fail := func(err error) (PgResult, error) {
		if res.Error == "" {
			res.Error = err.Error()
		}
		return res, nil
	}
	for _, d := range []struct {
		p   *string
		def string
	}{{&o.PgBackRest, "pgbackrest"}, {&o.PgCtl, "pg_ctl"}, {&o.Psql, "psql"}, {&o.ScratchDir, DefaultScratchDir}} {
		if *d.p == "" {
			*d.p = d.def
		}
	}
	scratch, err := safefs.OpenTrusted(o.ScratchDir, safefs.StickyOK)
	if err != nil {
		return fail(fmt.Errorf("scratch directory %s is not safe to restore into as root: %w", o.ScratchDir, err))
	}
	defer scratch.Close()
	warn := o.Warn
	if warn == nil {
		warn = func(string, ...any) {}
	}
	(Options{ScratchDir: o.ScratchDir, Warn: warnWriter(warn)}).removeLeftovers(scratch)

	info, err := pgInfo(ctx, st, o)
	if err != nil {
		return fail(err)
	}
	latest, err := info.Latest("")
	if err != nil {
		return fail(fmt.Errorf("stanza %s: %w (%s)", st.Name, err, info.StatusMsg))
	}
	res.Backup, res.Taken = latest.Label, latest.Stop

	// <scratch>/nixgen-drill-pg-<service>-<pid>-<random>/{data,sock}: the
	// top root's, 0711; data and sock the cluster owner's, 0700.
	made, base, err := scratch.MkdirTemp(fmt.Sprintf("%spg-%s-%d-", scratchPrefix, st.Name, os.Getpid()))
	if err != nil {
		return fail(err)
	}
	defer made.Close()
	top := filepath.Join(o.ScratchDir, base)
	dataDir, sockDir := filepath.Join(top, "data"), filepath.Join(top, "sock")
	var pgCtl *restic.Runner
	defer func() {
		if pgCtl != nil {
			// Whatever happened: no server may outlive its scratch directory.
			_ = pgCtl.Run(context.WithoutCancel(ctx), nil, "-D", dataDir, "-m", "immediate", "-w", "stop")
		}
		if err := scratch.RemoveDirIf(base, made); err != nil && res.Error == "" {
			res.Error = fmt.Sprintf("removing the scratch directory: %v", err)
		}
	}()
	uid, gid, err := lookupOwner(st.User)
	if err != nil {
		return fail(err)
	}
	for _, name := range []string{"data", "sock"} {
		d, err := made.Mkdir(name, 0o700)
		if err != nil {
			return fail(err)
		}
		_, err = d.Chown(uid, gid)
		d.Close()
		if err != nil {
			return fail(err)
		}
	}
	if err := made.Chmod(0o711); err != nil {
		return fail(err)
	}
	restoreCmd, err := st.RestoreCommand(o.PgBackRest, dataDir)
	if err != nil {
		return fail(err)
	}
	r, err := st.Runner(o.PgBackRest, dataDir, o.Grace)
	if err != nil {
		return fail(err)
	}
	if err := r.Run(ctx, nil, "restore", "--set="+latest.Label, "--recovery-option=restore_command="+restoreCmd); err != nil {
		return fail(err)
	}
	if err := scratch.CheckSame(base, made); err != nil {
		return fail(fmt.Errorf("scratch directory %s: %w during the restore", top, err))
	}
	pgCtl = &restic.Runner{Command: st.AsOwner(o.PgCtl), Env: r.Env, Grace: o.Grace}
	// No TCP, no archiving (the drill must not push WAL into the
	// repository), the socket in the scratch directory.
	opts := "-c listen_addresses='' -c unix_socket_directories=" + sockDir + " -c archive_mode=off -c port=5432"
	if err := pgCtl.Run(ctx, nil, "-D", dataDir, "-l", filepath.Join(sockDir, "log"), "-o", opts, "-w", "-t", "3600", "start"); err != nil {
		return fail(fmt.Errorf("starting the restored cluster: %w%s", err, logTail(filepath.Join(sockDir, "log"))))
	}
	psql := &restic.Runner{Command: st.AsOwner(o.Psql), Env: r.Env, Grace: o.Grace}
	query := func(sql string) (string, error) {
		out, err := psql.Output(ctx, "-X", "-h", sockDir, "-p", "5432", "-d", "postgres", "-qAtc", sql)
		return strings.TrimSpace(string(out)), err
	}
	for {
		v, err := query("SELECT pg_is_in_recovery()")
		if err != nil {
			return fail(err)
		}
		if v == "f" {
			break
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("recovery did not finish: %w", ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
	v, err := query("SELECT count(*) FROM pg_class")
	if err != nil {
		return fail(err)
	}
	if res.Relations, err = strconv.Atoi(v); err != nil || res.Relations == 0 {
		return fail(fmt.Errorf("SELECT count(*) FROM pg_class returned %q", v))
	}
	if err := pgCtl.Run(ctx, nil, "-D", dataDir, "-m", "fast", "-w", "stop"); err != nil {
		return fail(err)
	}
	pgCtl = nil
	return res, nil
}

func pgInfo(ctx context.Context, st *pgbackrest.Stanza, o PgOptions) (*pgbackrest.Info, error) {
	r, err := st.Runner(o.PgBackRest, st.DataDir, o.Grace)
	if err != nil {
		return nil, err
	}
	out, err := r.Output(ctx, "info", "--output=json")
	if err != nil {
		return nil, fmt.Errorf("repository %s does not open: %w", st.Repo.Path, err)
	}
	return pgbackrest.ParseInfo(out)
}

func lookupOwner(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "; server log: " + string(b)
}

// warnWriter adapts a printf-style warning function to an io.Writer.
type warnWriter func(format string, a ...any)

func (w warnWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
