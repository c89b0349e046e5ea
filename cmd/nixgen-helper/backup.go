package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/backupsnap"
	"github.com/nixgen/nixgen/internal/lockfile"
	"github.com/nixgen/nixgen/internal/preseed"
	"github.com/nixgen/nixgen/internal/safefs"
	"github.com/nixgen/nixgen/internal/zfs"
)

func backupSnapshotCommand() *cli.Command {
	flags := func() []cli.Flag {
		return []cli.Flag{
			manifestFlag(),
			&cli.StringFlag{Name: "service", Usage: "the service whose dataset is backed up"},
			&cli.StringFlag{Name: "run-dir", Value: backupsnap.DefaultRunDir, Usage: "directory under which <service> gets the read-only clone"},
			&cli.StringFlag{Name: "lock-dir", Value: preseed.DefaultLockDir, EnvVars: []string{"NIXGEN_LOCK_DIR"}, Usage: "directory of the per-service lock files"},
			&cli.DurationFlag{Name: "lock-timeout", Value: defaultLockTimeout, Usage: "how long to wait for another create or release of the same service"},
		}
	}
	return &cli.Command{
		Name:  "backup-snapshot",
		Usage: "expose a snapshot of a service's dataset read-only for its restic backup",
		Description: "create: release an earlier run's leftovers, snapshot <dataset>@nixgen-backup and mount a\n" +
			"read-only clone <dataset>.nixgen-backup at <run-dir>/<service>. release: unmount and destroy\n" +
			"both; nothing there is success. Exit codes: 0 done; 1 a zfs call failed; 2 usage;\n" +
			"3 bad manifest or unknown service; 4 refused: a dataset named like the clone is not nixgen's,\n" +
			"or the service's lock (<lock-dir>/backup-snapshot-<service>.lock) stayed held past --lock-timeout.\n" +
			"create and release of one service take that lock, so concurrent runs serialise.",
		Subcommands: []*cli.Command{
			{Name: "create", Usage: "snapshot the dataset and mount a read-only clone of it", Flags: flags(), Action: backupSnapshot(backupsnap.Create)},
			{Name: "release", Usage: "unmount and destroy the clone and the snapshot (idempotent)", Flags: flags(), Action: backupSnapshot(backupsnap.Release)},
		},
	}
}

func backupSnapshot(op func(ctx context.Context, z *zfs.Runner, t backupsnap.Target) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		m, err := readManifest(c)
		if err != nil {
			return err
		}
		svc, err := requireFlag(c, "service")
		if err != nil {
			return err
		}
		t, err := backupsnap.For(m, svc, c.String("run-dir"))
		if err != nil {
			return withCode(exitManifest, err)
		}
		// The name becomes the lock file's: one path component only.
		if err := safefs.CheckName(svc); err != nil {
			return withCode(exitManifest, fmt.Errorf("service name: %w", err))
		}
		lockCtx, cancel := contextWithTimeout(c, c.Duration("lock-timeout"))
		defer cancel()
		lock, err := lockfile.Acquire(lockCtx, filepath.Join(c.String("lock-dir"), "backup-snapshot-"+svc+".lock"), func(holder string) {
			fmt.Fprintf(c.App.ErrWriter, "waiting for another backup-snapshot of %s (pid %s) to finish\n", svc, holder)
		})
		if err != nil {
			return withCode(exitRefused, err)
		}
		defer lock.Release()
		if err := op(c.Context, runner(c), t); err != nil {
			if errors.Is(err, backupsnap.ErrForeign) {
				return withCode(exitRefused, err)
			}
			return withCode(exitFailed, err)
		}
		if c.Command.Name == "create" {
			fmt.Fprintf(c.App.Writer, "%s mounted read-only at %s\n", t.Snapshot, t.Dir)
		} else {
			fmt.Fprintf(c.App.Writer, "%s released\n", t.Snapshot)
		}
		return nil
	}
}
