// Package pitr is `nixgen-helper pitr restore`: point-in-time recovery of a
// PostgreSQL service from its pgBackRest stanza. It refuses while
// PostgreSQL runs, keeps the current state in a ZFS snapshot
// (@nixgen-pitr-<UTC time>, which nixgen never destroys), then restores with
// `pgbackrest restore --delta --type=time --target=T
// --target-action=promote`: the next start of PostgreSQL replays the WAL
// archive up to T and opens the database. Without Yes it only plans.
package pitr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// SnapshotPrefix names the snapshots taken before a restore.
const SnapshotPrefix = "nixgen-pitr-"

// Options of one restore.
type Options struct {
	Manifest   *manifest.Manifest
	Service    string
	TargetTime string // as the operator wrote it; see pgbackrest.TargetTime
	Yes        bool   // act; without it only the plan is printed
	PgBackRest string // pgbackrest program; default "pgbackrest"
	ZFS        *zfs.Runner
	Grace      time.Duration
	Out        io.Writer
	Now        func() time.Time // default time.Now
}

// RefusedError is a failed precondition: nothing was changed.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Restore plans (and with Yes performs) a point-in-time restore.
func Restore(ctx context.Context, o Options) error {
	if o.PgBackRest == "" {
		o.PgBackRest = "pgbackrest"
	}
	if o.ZFS == nil {
		o.ZFS = &zfs.Runner{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := pgbackrest.ForService(o.Manifest, o.Service)
	if err != nil {
		return err
	}
	svc := o.Manifest.Service(o.Service)
	target, err := pgbackrest.TargetTime(o.TargetTime)
	if err != nil {
		return err
	}
	if pid, running := Running(st.DataDir); running {
		return &RefusedError{fmt.Errorf("PostgreSQL is running (postmaster.pid in %s names live process %d): stop %s first", st.DataDir, pid, svc.Unit)}
	}
	snap := svc.Dataset + "@" + SnapshotPrefix + o.Now().UTC().Format("20060102T150405Z")
	restoreCmd, err := st.RestoreCommand(o.PgBackRest, st.DataDir)
	if err != nil {
		return err
	}
	args := []string{"restore", "--delta", "--type=time", "--target=" + o.TargetTime, "--target-action=promote",
		"--recovery-option=restore_command=" + restoreCmd}
	fmt.Fprintf(o.Out, "Point-in-time restore of %s (stanza %s, repository %s):\n", svc.Name, st.Name, svc.PostgreSQL.PITR.Repository)
	fmt.Fprintf(o.Out, "  1. snapshot the current state: zfs snapshot %s\n", snap)
	fmt.Fprintf(o.Out, "  2. as %s: pgbackrest %s (data directory %s)\n", st.User, strings.Join(args, " "), st.DataDir)
	fmt.Fprintf(o.Out, "  target: %s (UTC %s)\n", o.TargetTime, target.UTC().Format(time.RFC3339))
	if !o.Yes {
		fmt.Fprintln(o.Out, "Nothing was changed; run again with --yes to restore.")
		return nil
	}
	if err := o.ZFS.TakeSnapshot(ctx, snap, nil); err != nil {
		return fmt.Errorf("snapshot before the restore: %w", err)
	}
	fmt.Fprintf(o.Out, "took %s\n", snap)
	r, err := st.Runner(o.PgBackRest, st.DataDir, o.Grace)
	if err != nil {
		return err
	}
	if err := r.Run(ctx, nil, args...); err != nil {
		return fmt.Errorf("pgbackrest restore (the state before it is in %s): %w", snap, err)
	}
	fmt.Fprintf(o.Out, `Restored. Next:
  - start PostgreSQL: systemctl start %s
    it replays the WAL archive up to the target, then promotes and opens;
    check with: SELECT pg_is_in_recovery();  (false once it is done)
  - the state before this restore is kept in %s;
    to return to it: stop PostgreSQL, then zfs rollback -r %s
  - the restored cluster starts a new timeline: take a full backup soon
    (systemctl start pgbackrest-%s-full.service)
`, svc.Unit, snap, snap, st.Name)
	return nil
}

// Running reports whether dataDir's postmaster.pid names a live process.
// A stale file (the process is gone) does not count: PostgreSQL itself
// ignores it at the next start.
func Running(dataDir string) (int, bool) {
	f, err := os.Open(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		// Unreadable: assume the worst.
		return 0, true
	}
	err = syscall.Kill(pid, 0)
	return pid, err == nil || errors.Is(err, syscall.EPERM)
}
