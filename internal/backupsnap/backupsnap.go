// Package backupsnap gives a backup run a frozen, read-only view of a
// service's dataset: a snapshot <dataset>@nixgen-backup, cloned read-only
// to <dataset>.nixgen-backup and mounted at <run-dir>/<service>. The
// generated restic unit bind-mounts that directory over the service's
// mountpoint (BindReadOnlyPaths=), so restic reads the snapshot while
// recording the service's real paths.
//
// A clone rather than the snapshot's .zfs/snapshot directory: that is an
// automount, and automounts do not follow a bind mount into another mount
// namespace.
//
// Ownership: the snapshot name nixgen-backup is reserved for this package.
// The clone is recognised by its origin property (it must be exactly the
// reserved snapshot), never by its name alone, so nothing else can ever be
// unmounted or destroyed, even a dataset that happens to carry the name.
package backupsnap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Names used on the dataset.
const (
	SnapshotName = "nixgen-backup"  // <dataset>@nixgen-backup
	CloneSuffix  = ".nixgen-backup" // <dataset>.nixgen-backup
)

// DefaultRunDir is where the clones are mounted, one directory per service.
const DefaultRunDir = hostfacts.BackupRunDir

// ErrForeign marks a dataset with the clone's name that is not a clone of
// the reserved snapshot: it is left alone and the run refused.
var ErrForeign = errors.New("not nixgen's backup clone")

// Target is what one service's backup snapshot is made of.
type Target struct {
	Dataset  string // the service's dataset
	Snapshot string // Dataset@nixgen-backup
	Clone    string // Dataset.nixgen-backup
	Dir      string // <run-dir>/<service>, where the clone is mounted
}

// For returns the names for service svc of m, refusing a clone name that is
// a dataset the manifest manages.
func For(m *manifest.Manifest, svc, runDir string) (Target, error) {
	s := m.Service(svc)
	if s == nil {
		return Target{}, fmt.Errorf("service %q is not in the manifest", svc)
	}
	if svc == "." || svc == ".." || strings.ContainsRune(svc, '/') {
		return Target{}, fmt.Errorf("service name %q cannot name a directory", svc)
	}
	if !filepath.IsAbs(runDir) {
		return Target{}, fmt.Errorf("run directory %q is not absolute", runDir)
	}
	t := Target{
		Dataset:  s.Dataset,
		Snapshot: s.Dataset + "@" + SnapshotName,
		Clone:    s.Dataset + CloneSuffix,
		Dir:      filepath.Join(runDir, svc),
	}
	for _, o := range m.Services {
		if o.Dataset == t.Clone {
			return Target{}, fmt.Errorf("the backup clone name %s is service %s's dataset; rename one of them", t.Clone, o.Name)
		}
	}
	for _, r := range m.Replicas {
		if r.Dataset == t.Clone {
			return Target{}, fmt.Errorf("the backup clone name %s is a replica received from %s", t.Clone, r.Source)
		}
	}
	return t, nil
}

// Create releases whatever an earlier run left (a killed backup, a crash),
// takes the snapshot, clones it read-only and mounts the clone at t.Dir.
// On failure it releases what it made.
func Create(ctx context.Context, z *zfs.Runner, t Target) error {
	if err := Release(ctx, z, t); err != nil {
		return fmt.Errorf("releasing the previous run's snapshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(t.Dir), 0o700); err != nil {
		return err
	}
	if err := z.TakeSnapshot(ctx, t.Snapshot, nil); err != nil {
		return err
	}
	err := func() error {
		// canmount=noauto: a clone left by a crash is not mounted at boot;
		// it is mounted here explicitly.
		props := map[string]string{"readonly": "on", "mountpoint": t.Dir, "canmount": "noauto"}
		if err := z.Clone(ctx, t.Snapshot, t.Clone, props); err != nil {
			return err
		}
		src, err := zfs.MountSource(t.Dir)
		if err != nil {
			return err
		}
		if src != t.Clone {
			// (zfs-fuse mounts a new clone whatever canmount says.)
			if err := z.Mount(ctx, t.Clone); err != nil {
				return err
			}
			if src, err = zfs.MountSource(t.Dir); err != nil {
				return err
			}
		}
		if src != t.Clone {
			return fmt.Errorf("%s is not mounted at %s (found %q there)", t.Clone, t.Dir, src)
		}
		return nil
	}()
	if err != nil {
		// The caller's context may be what failed; clean up regardless.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if rerr := Release(cctx, z, t); rerr != nil {
			return fmt.Errorf("%w; releasing afterwards also failed: %v", err, rerr)
		}
		return err
	}
	return nil
}

// Release unmounts and destroys the clone and destroys the snapshot.
// Nothing there is success. A dataset named like the clone whose origin is
// not the reserved snapshot is refused and left alone.
func Release(ctx context.Context, z *zfs.Runner, t Target) error {
	tree, err := z.Get(ctx, []string{t.Clone}, "origin", "mounted")
	switch {
	case zfs.NotExist(err):
	case err != nil:
		return err
	default:
		d := tree[t.Clone]
		if d == nil {
			return fmt.Errorf("zfs get printed nothing for %s", t.Clone)
		}
		if origin := d.Props["origin"].Value; origin != t.Snapshot {
			return fmt.Errorf("%s exists but is %w (origin %q, want %s); not touching it", t.Clone, ErrForeign, origin, t.Snapshot)
		}
		if d.Props["mounted"].Value == "yes" {
			if err := unmount(ctx, z, t.Clone); err != nil {
				return err
			}
		}
		if err := zfs.RetryBusy(ctx, func() error { return z.Destroy(ctx, t.Clone) }); err != nil && !zfs.NotExist(err) {
			return err
		}
	}
	if _, err := z.Get(ctx, []string{t.Snapshot}, "type"); err == nil {
		if err := zfs.RetryBusy(ctx, func() error { return z.Destroy(ctx, t.Snapshot) }); err != nil && !zfs.NotExist(err) {
			return err
		}
	} else if !zfs.NotExist(err) {
		return err
	}
	// The empty mountpoint directory; anything else found there stays.
	if err := os.Remove(t.Dir); err != nil && !errors.Is(err, os.ErrNotExist) && !isNotEmpty(err) {
		return err
	}
	return nil
}

// unmount unmounts the clone, forcing it when a process still holds it
// open after a few tries: the clone is read-only and about to be destroyed.
func unmount(ctx context.Context, z *zfs.Runner, ds string) error {
	err := zfs.RetryBusy(ctx, func() error { return z.Unmount(ctx, ds) })
	var e *zfs.Error
	if errors.As(err, &e) && strings.Contains(e.Stderr, "not currently mounted") {
		return nil
	}
	if zfs.Busy(err) {
		_, err = z.ZFSCmd(ctx, "unmount", "-f", ds)
	}
	return err
}

func isNotEmpty(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && (errors.Is(pe.Err, os.ErrExist) || strings.Contains(pe.Err.Error(), "not empty"))
}
