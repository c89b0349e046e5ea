package preseed

import (
	"context"
	"errors"
	"fmt"
	ownerid "github.com/nixgen/nixgen/internal/owner"
	"path/filepath"
	"strings"

	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/safefs"
)

// pgStagingData is the directory inside the staging directory whose
// entries move into the dataset root; the data directory is restored at
// its path relative to the mountpoint below it.
const pgStagingData = "d"

// pgbackrest restores the newest backup of the service's stanza, with the
// WAL archive to its end, into a staging directory on the dataset, then
// moves it into place like a restic restore. pgbackrest runs as the
// cluster's owner, who must reach the staging directory: during the
// restore the root is 0711 (root's, traversable) and the path to the
// data directory is root's directories with random names down to one
// directory of the owner's; nothing but that directory is the owner's,
// so the owner cannot redirect what is moved. The root is 0700 again
// before anything moves.
func (r *run) pgbackrest(ctx context.Context) error {
	st, err := pgbackrest.ForService(r.o.Manifest, r.svc.Name)
	if err != nil {
		return unavailable("%v", err)
	}
	rel, err := filepath.Rel(r.svc.Mountpoint, st.DataDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("data directory %s is not inside %s", st.DataDir, r.svc.Mountpoint)
	}
	prog := r.bin(r.o.PgBackRest, "pgbackrest")
	info, err := r.pgInfo(ctx, st, prog)
	if err != nil {
		return err
	}
	latest, err := info.Latest("")
	if errors.Is(err, pgbackrest.ErrNoBackup) || info.NoStanza || info.NoBackupSet {
		return unavailable("repository %s has no backup of stanza %s (%s)", st.Repo.Path, st.Name, info.StatusMsg)
	}
	if err != nil {
		return err
	}

	root, err := openRoot(r.svc.Mountpoint)
	if err != nil {
		return err
	}
	defer root.Close()
	stagingDir, name, err := root.MkdirTemp(StagingPrefix)
	if err != nil {
		return err
	}
	defer func() { stagingDir.Close() }()
	fail := func(err error) error {
		if cerr := root.Chmod(0o700); cerr != nil {
			r.log.Warn("locking the dataset root again", "err", cerr)
		}
		if rerr := root.RemoveDirIf(name, stagingDir); rerr != nil {
			r.log.Warn("removing staging", "err", rerr)
		}
		return err
	}
	dataDir, err := r.pgStagingDirs(stagingDir, rel, st.User)
	if err != nil {
		return fail(err)
	}
	defer dataDir.Close()
	if err := stagingDir.Chmod(0o711); err != nil {
		return fail(err)
	}
	if err := root.Chmod(0o711); err != nil {
		return fail(err)
	}
	target := filepath.Join(r.svc.Mountpoint, name, pgStagingData, rel)
	restoreCmd, err := st.RestoreCommand(prog, st.DataDir)
	if err != nil {
		return fail(err)
	}
	run, err := st.Runner(prog, target, r.o.Grace)
	if err != nil {
		return fail(err)
	}
	r.log.Info("restoring", "method", "pgbackrest", "backup", latest.Label, "staging", target)
	c := command{argv: append(append([]string(nil), run.Command...), "restore", "--set="+latest.Label,
		"--recovery-option=restore_command="+restoreCmd), env: run.Env, grace: r.o.Grace}
	if _, err := c.run(ctx); err != nil {
		return fail(err)
	}
	if err := root.Chmod(0o700); err != nil {
		return fail(err)
	}
	// pgbackrest wrote through a path: it must still lead to the directory made.
	if err := root.CheckSame(name, stagingDir); err != nil {
		return fail(fmt.Errorf("staging directory %s: %w during the restore; nothing was moved from it", target, err))
	}
	if err := stagingDir.Chmod(0o700); err != nil {
		return fail(err)
	}
	return moveIntoPlace(root, stagingDir, name, pgStagingData)
}

// pgStagingDirs makes <staging>/d/<rel>: root's directories (mode 0711),
// the last one the owner's (0700), which it returns open.
func (r *run) pgStagingDirs(staging *safefs.Dir, rel, owner string) (*safefs.Dir, error) {
	uid, gid, err := ownerIDs(owner, r.svc.Group)
	if err != nil {
		return nil, err
	}
	parts := []string{pgStagingData}
	if rel != "." {
		parts = append(parts, strings.Split(rel, "/")...)
	}
	d := staging
	for i, p := range parts {
		next, err := d.Mkdir(p, 0o711)
		if d != staging {
			d.Close()
		}
		if err != nil {
			return nil, err
		}
		d = next
		if i == len(parts)-1 {
			if _, err := d.Chown(uid, gid); err != nil {
				d.Close()
				return nil, err
			}
			if err := d.Chmod(0o700); err != nil {
				d.Close()
				return nil, err
			}
		}
	}
	return d, nil
}

// pgInfo reads `pgbackrest info --output=json` for the stanza.
func (r *run) pgInfo(ctx context.Context, st *pgbackrest.Stanza, prog string) (*pgbackrest.Info, error) {
	run, err := st.Runner(prog, st.DataDir, r.o.Grace)
	if err != nil {
		return nil, err
	}
	out, err := (command{argv: append(append([]string(nil), run.Command...), "info", "--output=json"), env: run.Env, grace: r.o.Grace}).run(ctx)
	if err != nil {
		return nil, fmt.Errorf("repository %s is not usable: %w", st.Repo.Path, err)
	}
	return pgbackrest.ParseInfo(out)
}

// ownerIDs looks up the numeric ids of the service's owner and group.
func ownerIDs(userName, groupName string) (uid, gid int, err error) {
	return ownerid.Lookup(userName, groupName)
}
