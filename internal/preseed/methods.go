package preseed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/zfs"
)

const holdTag = "nixgen-preseed"

// local rolls the dataset back to its newest snapshot — sanoid's autosnap_*
// preferred — holding the snapshot so that sanoid's pruning cannot destroy it
// under the rollback.
func (r *run) local(ctx context.Context) error {
	if err := r.releaseStaleHolds(ctx); err != nil {
		return err
	}
	snaps, err := r.zfs.Snapshots(ctx, r.svc.Dataset)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return unavailable("%s has no snapshots", r.svc.Dataset)
	}
	pick := snaps[len(snaps)-1].Name // Snapshots is oldest first
	for i := len(snaps) - 1; i >= 0; i-- {
		if strings.HasPrefix(snaps[i].Name, r.svc.Dataset+"@autosnap_") {
			pick = snaps[i].Name
			break
		}
	}
	// The tag is preseed's own, and the lock excludes another run: a hold
	// already there was left by a run killed before its release.
	if err := r.zfs.Hold(ctx, holdTag, pick); err != nil && !holdExists(err) {
		return err
	}
	defer func() {
		// Release even when ctx expired: the hold would otherwise pin the
		// snapshot forever.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.zfs.Release(rctx, holdTag, pick); err != nil {
			r.log.Warn("releasing snapshot hold", "snapshot", pick, "err", err)
		}
	}()
	r.log.Info("rolling back", "method", "local", "snapshot", pick)
	if err := r.zfs.Rollback(ctx, pick, true); err != nil {
		return err
	}
	// A snapshot taken while the dataset was still empty restores nothing;
	// the next method may have the data.
	if empty, err := isEmpty(r.svc.Mountpoint); err != nil {
		return err
	} else if empty {
		return unavailable("the newest snapshot %s is empty", pick)
	}
	return nil
}

// releaseStaleHolds releases every nixgen-preseed hold on the dataset's
// snapshots. The lock excludes another run, so any such hold was left by a
// run killed before its release — perhaps on a snapshot other than the one
// chosen now, which nothing else would ever release. Other tags stay.
func (r *run) releaseStaleHolds(ctx context.Context) error {
	out, err := r.zfs.ZFSCmd(ctx, "get", "-H", "-p", "-d", "1", "-o", "name,value", "userrefs", r.svc.Dataset)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, refs, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(name, r.svc.Dataset+"@") || refs == "0" || refs == "-" {
			continue
		}
		if err := r.zfs.Release(ctx, holdTag, name); err != nil && !noSuchTag(err) {
			return fmt.Errorf("releasing a stale %s hold: %w", holdTag, err)
		} else if err == nil {
			r.log.Info("released a hold left by an interrupted run", "snapshot", name)
		}
	}
	return nil
}

func noSuchTag(err error) bool {
	var e *zfs.Error
	return errors.As(err, &e) && strings.Contains(e.Stderr, "no such tag")
}

func holdExists(err error) bool {
	var e *zfs.Error
	return errors.As(err, &e) && strings.Contains(e.Stderr, "tag already exists")
}

// DefaultSSHOptions bound every ssh connection to a remote replica, as the
// generated syncoid command does: a host that does not answer fails the
// method in seconds (ConnectTimeout also covers the SSH banner exchange), a
// server that stops answering later within a minute (ServerAlive*), and the
// next method is tried instead of waiting for the method's whole timeout.
var DefaultSSHOptions = []string{"ConnectTimeout=10", "ServerAliveInterval=15", "ServerAliveCountMax=4"}

func (r *run) sshOptions() []string {
	return append(append([]string(nil), r.o.SSHOptions...), DefaultSSHOptions...)
}

// safeDataset matches what ZFS accepts in a dataset name; anything else is
// refused before it reaches the remote shell that ssh hands its arguments to.
var safeDataset = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]*$`)

// restoredID reads the snapshot that `restic restore` names on stdout.
var restoredID = regexp.MustCompile(`(?m)^restoring <Snapshot ([0-9a-f]+) of `)

// syncoid pulls the replica back. syncoid refuses to receive a full stream
// into an existing dataset, so the freshly created empty one is renamed
// aside first and put back if anything fails; it is destroyed only once the
// received dataset is mounted in its place.
func (r *run) syncoid(ctx context.Context) error {
	rep := r.svc.Replication
	if rep == nil {
		return unavailable("no replication declared")
	}
	source := rep.Dataset
	if rep.Host != "" {
		source = rep.Host + ":" + rep.Dataset
		if rep.User != "" {
			source = rep.User + "@" + source
		}
	}
	if err := r.replicaHasSnapshots(ctx); err != nil {
		return err
	}
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	// Datasets below the service's would be renamed aside with it and then
	// destroyed with the aside: they are data, and not preseed's.
	kids, err := r.zfs.ListChildren(ctx, ds, "guid")
	if err != nil {
		return err
	}
	asideGUID := kids[ds]["guid"]
	var below []string
	for name := range kids {
		if name != ds {
			below = append(below, name)
		}
	}
	if len(below) > 0 {
		sort.Strings(below)
		return fmt.Errorf("%s has datasets below it (%s): a syncoid restore would set them aside with it; restore by hand (docs/restore-procedures.md)", ds, strings.Join(below, ", "))
	}
	// zfs-fuse (and a busy OpenZFS) refuses to rename a mounted dataset.
	if err := r.unmountIfMounted(ctx, ds); err != nil {
		return err
	}
	// The mark travels with the rename: it is what makes the aside ours.
	if err := r.zfs.Set(ctx, ds, PropAside, ds); err != nil {
		return err
	}
	if err := r.rename(ctx, ds, r.aside); err != nil {
		if merr := r.zfs.Mount(context.WithoutCancel(ctx), ds); merr != nil {
			r.log.Error("remounting after a failed rename", "err", merr)
		}
		return err
	}
	err = r.receive(ctx, source, ds, mp, asideGUID)
	if err == nil {
		r.dropAside(ctx)
		return nil
	}
	// Put the empty dataset back, whatever the context says.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if rerr := r.putBack(bctx); rerr != nil {
		return fmt.Errorf("%w; and putting the empty dataset back failed: %v", err, rerr)
	}
	return err
}

// afterReceived, when set (by tests), runs right after the received dataset
// got its mark: where a run killed there leaves the host.
var afterReceived func()

// dropAside destroys the set-aside empty dataset once the received one is
// in place, then the received mark that pointed at it.
func (r *run) dropAside(ctx context.Context) {
	if err := r.destroyOwn(ctx, r.aside); err != nil {
		// The restore stands; the next run removes the leftover.
		r.log.Warn("destroying the set-aside empty dataset", "aside", r.aside, "err", err)
		return
	}
	if err := r.zfs.Inherit(ctx, r.svc.Dataset, PropReceived); err != nil {
		r.log.Warn("clearing the received mark", "err", err)
	}
}

func (r *run) receive(ctx context.Context, source, ds, mp, asideGUID string) error {
	argv := []string{r.bin(r.o.Syncoid, "syncoid"), "--no-sync-snap"}
	if k := r.svc.Replication.SSHKey; k != "" {
		argv = append(argv, "--sshkey", k)
	}
	if r.svc.Replication.Host != "" {
		for _, o := range r.sshOptions() {
			argv = append(argv, "--sshoption="+o)
		}
	}
	argv = append(argv, source, ds)
	r.log.Info("receiving", "method", "syncoid", "source", source)
	if _, err := (command{argv: argv, grace: r.o.Grace}).run(ctx); err != nil {
		return err
	}
	// First thing after a complete receive: the mark that lets a run killed
	// from here on finish this restore rather than transfer it again.
	if err := r.zfs.Set(ctx, ds, PropReceived, asideGUID); err != nil {
		return err
	}
	if afterReceived != nil {
		afterReceived()
	}
	return r.placeReceived(ctx)
}

// placeReceived mounts the received dataset at the service's mountpoint.
func (r *run) placeReceived(ctx context.Context) error {
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	if err := r.zfs.Set(ctx, ds, "mountpoint", mp); err != nil {
		return err
	}
	kids, err := r.zfs.ListChildren(ctx, filepath.Dir(ds), "mounted")
	if err != nil {
		return err
	}
	if kids[ds]["mounted"] != "yes" {
		return r.zfs.Mount(ctx, ds)
	}
	return nil
}

// putBack undoes a failed receive: whatever partial dataset syncoid left is
// ours to destroy, then the empty dataset returns under its name and mounts.
func (r *run) putBack(ctx context.Context) error {
	ds := r.svc.Dataset
	kids, err := r.zfs.ListChildren(ctx, filepath.Dir(ds), "mounted")
	if err != nil {
		return err
	}
	if _, ok := kids[ds]; ok {
		if err := r.destroyOwn(ctx, ds); err != nil {
			return err
		}
	}
	if err := r.rename(ctx, r.aside, ds); err != nil {
		return err
	}
	if err := r.zfs.Inherit(ctx, ds, PropAside); err != nil {
		r.log.Warn("clearing the set-aside mark", "err", err)
	}
	return r.zfs.Mount(ctx, ds)
}

// recoverAside handles a set-aside dataset left by a run that died during a
// syncoid restore. If the service dataset is marked complete the restore had
// finished and only the cleanup is missing. If it carries the received mark
// naming the aside's guid, the receive had completed: the aside is
// destroyed, the received dataset mounted in place, and resumed reports
// that the post-restore steps are still to do. Otherwise the dataset under
// the service's name is a receive that never completed: it is destroyed and
// the empty dataset put back, and the decision starts again from there.
func (r *run) recoverAside(ctx context.Context, st state) (_ state, resumed bool, err error) {
	if st.ds != nil && st.ds[PropComplete] == "complete" {
		r.log.Info("destroying the empty dataset left aside by a finished restore", "aside", r.aside)
		if err := r.destroyOwn(ctx, r.aside); err != nil {
			return st, false, err
		}
		st, err = r.state(ctx)
		return st, false, err
	}
	if g := st.aside["guid"]; st.ds != nil && g != "" && g != "-" && st.ds[PropReceived] == g {
		r.log.Info("an earlier syncoid restore was interrupted after its receive: finishing it", "aside", r.aside)
		r.dropAside(ctx)
		if err := r.placeReceived(ctx); err != nil {
			return st, false, fmt.Errorf("finishing an interrupted syncoid restore: %w", err)
		}
		st, err = r.state(ctx)
		return st, err == nil, err
	}
	r.log.Warn("an earlier syncoid restore was interrupted: discarding its partial receive", "aside", r.aside)
	if err := r.putBack(ctx); err != nil {
		return st, false, fmt.Errorf("recovering from an interrupted syncoid restore: %w", err)
	}
	st, err = r.state(ctx)
	return st, false, err
}

// replicaHasSnapshots returns nil when the replication target has at least
// one snapshot, an "unavailable" error when it has none or does not exist.
func (r *run) replicaHasSnapshots(ctx context.Context) error {
	rep := r.svc.Replication
	if rep.Host == "" {
		snaps, err := r.zfs.Snapshots(ctx, rep.Dataset)
		if zfs.NotExist(err) {
			return unavailable("replica %s does not exist", rep.Dataset)
		}
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			return unavailable("replica %s has no snapshots", rep.Dataset)
		}
		return nil
	}
	if !safeDataset.MatchString(rep.Dataset) || strings.HasPrefix(rep.Host, "-") || strings.HasPrefix(rep.User, "-") {
		return fmt.Errorf("replication target %q is not a plain host and dataset name", rep.Target)
	}
	dest := rep.Host
	if rep.User != "" {
		dest = rep.User + "@" + dest
	}
	argv := []string{r.bin(r.o.SSH, "ssh"), "-o", "BatchMode=yes"}
	for _, o := range r.sshOptions() {
		argv = append(argv, "-o", o)
	}
	if rep.SSHKey != "" {
		argv = append(argv, "-i", rep.SSHKey)
	}
	argv = append(argv, "--", dest, "zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-d", "1", rep.Dataset)
	out, err := (command{argv: argv, grace: r.o.Grace}).run(ctx)
	var ee *ExecError
	if errors.As(err, &ee) && strings.Contains(ee.Stderr, "does not exist") {
		return unavailable("replica %s on %s does not exist", rep.Dataset, rep.Host)
	}
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(out)) == "" {
		return unavailable("replica %s on %s has no snapshots", rep.Dataset, rep.Host)
	}
	return nil
}

// resticSnapshot is the part of `restic snapshots --json` that preseed reads.
type resticSnapshot struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Host  string    `json:"hostname"`
	Paths []string  `json:"paths"`
}

// restic restores from the first of the backup's repositories that has a
// snapshot, in the spec's order: an offsite copy stands in when the NAS is
// gone. A repository that fails otherwise (a corrupt pack, a restore
// error) is a failure, not a reason to restore older data from the next.
func (r *run) restic(ctx context.Context) error {
	b := r.svc.Backup
	if b == nil {
		return unavailable("no backup declared")
	}
	var errs []error
	unusable := false
	for _, name := range b.Repos() {
		err := r.resticFrom(ctx, name)
		switch {
		case errors.Is(err, errRepoUnusable):
			unusable = true
		case !errors.Is(err, errUnavailable):
			return err
		}
		r.log.Info("trying the next repository", "method", "restic", "repository", name, "err", err)
		errs = append(errs, err)
	}
	if len(errs) == 1 || unusable {
		return errors.Join(errs...)
	}
	// Every repository opened and none had a snapshot.
	return unavailable("%v", errors.Join(errs...))
}

// errRepoUnusable marks a repository that did not open (`restic cat
// config` failed: a missing mount, a wrong password): a failure of its
// own, but the next repository may still be tried.
var errRepoUnusable = errors.New("restic cat config failed")

// resticFrom restores the newest snapshot of this host's backup paths in
// one repository into a staging directory on the dataset, then moves it
// into place.
func (r *run) resticFrom(ctx context.Context, repoName string) error {
	b := r.svc.Backup
	repo, ok := r.o.Manifest.Repositories[repoName]
	if !ok {
		return fmt.Errorf("repository %q is not declared", repoName)
	}
	if r.o.Hostname == "" {
		return errors.New("no host name for restic --host")
	}
	// The environment file is parsed without a shell; the manifest's
	// repository (URL or repository_file) and password file win over other
	// ways of giving them (restic refuses a password file and command together).
	env, err := restic.Environ(repo)
	if err != nil {
		return err
	}
	bin := r.bin(r.o.Restic, "restic")
	rc := func(args ...string) command {
		return command{argv: append([]string{bin}, args...), env: env, grace: r.o.Grace}
	}

	// The root is root:root 0700 (decide locked it), and the staging
	// directory is made and later used only through descriptors below it;
	// restic alone gets its path, and whether that still leads to the same
	// directory is checked before anything is moved out of it.
	mp := r.svc.Mountpoint
	root, err := openRoot(mp)
	if err != nil {
		return err
	}
	defer root.Close()
	stagingDir, name, err := root.MkdirTemp(StagingPrefix)
	if err != nil {
		return err
	}
	defer func() { stagingDir.Close() }()
	staging := filepath.Join(mp, name)
	fail := func(err error) error {
		if rerr := root.RemoveDirIf(name, stagingDir); rerr != nil {
			r.log.Warn("removing staging", "err", rerr)
		}
		return err
	}
	// Every restic process spends most of a second deriving the key from
	// the password, so the preflight, the snapshot query and the restore of
	// "latest" for this host and paths start together and are judged in
	// that order; the restore only ever writes into staging, and is
	// cancelled when an earlier step says no.
	filter := []string{"--host", r.o.Hostname}
	for _, p := range b.Paths {
		filter = append(filter, "--path", p)
	}
	type result struct {
		out []byte
		err error
	}
	start := func(ctx context.Context, nice int, args ...string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			c := rc(args...)
			c.nice = nice
			out, err := c.run(ctx)
			ch <- result{out, err}
		}()
		return ch
	}
	rctx, cancelRestore := context.WithCancel(ctx)
	defer cancelRestore()
	// The two checks yield the CPU to the restore, which does the real work.
	cfgC := start(ctx, 10, "cat", "config")
	snapC := start(ctx, 10, append([]string{"snapshots", "--json"}, filter...)...)
	restoreC := start(rctx, 0, append([]string{"restore", "latest", "--target", staging}, filter...)...)
	abort := func(err error) error {
		cancelRestore()
		<-restoreC
		return fail(err)
	}

	if res := <-cfgC; res.err != nil {
		return abort(fmt.Errorf("repository %s is not usable: %w: %w", repoName, errRepoUnusable, res.err))
	}
	snapRes := <-snapC
	if snapRes.err != nil {
		return abort(snapRes.err)
	}
	var snaps []resticSnapshot
	if err := json.Unmarshal(snapRes.out, &snaps); err != nil {
		return abort(fmt.Errorf("restic snapshots --json: %w", err))
	}
	if len(snaps) == 0 {
		return abort(unavailable("repository %s has no snapshot of %s for host %s", repoName, strings.Join(b.Paths, ", "), r.o.Hostname))
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	snap := snaps[len(snaps)-1]
	r.log.Info("restoring", "method", "restic", "snapshot", snap.ID, "staging", staging)
	res := <-restoreC
	if res.err != nil {
		// exit code 3 ("snapshot incomplete") is a failure like any other.
		return fail(res.err)
	}
	// A backup that finished between the query and the restore would make
	// "latest" differ from the snapshot chosen: restore exactly that one.
	if m := restoredID.FindSubmatch(res.out); m == nil || !strings.HasPrefix(snap.ID, string(m[1])) {
		r.log.Info("latest moved during the restore; restoring the chosen snapshot again", "snapshot", snap.ID)
		if err := root.RemoveDirIf(name, stagingDir); err != nil {
			return err
		}
		stagingDir.Close()
		if stagingDir, err = root.Mkdir(name, 0o700); err != nil {
			return err
		}
		if _, err := rc("restore", snap.ID, "--target", staging).run(ctx); err != nil {
			return fail(err)
		}
	}
	// restic wrote through a path: it must still lead to the directory made.
	if err := root.CheckSame(name, stagingDir); err != nil {
		return fail(fmt.Errorf("staging directory %s: %w during the restore; nothing was moved from it", staging, err))
	}
	// restic recreates the absolute paths below the target: the dataset's
	// content is at <staging>/<mountpoint>. Paths outside the dataset are
	// not this dataset's data and stay out of it.
	src := strings.TrimPrefix(filepath.Clean(mp), "/")
	d, err := stagingDir.OpenBelow(src)
	if err != nil {
		return fail(fmt.Errorf("snapshot %s holds nothing below %s (paths %v): %w", snap.ID, mp, snap.Paths, err))
	}
	d.Close()
	return moveIntoPlace(root, stagingDir, name, src)
}

func (r *run) bin(configured, def string) string {
	if configured != "" {
		return configured
	}
	return def
}

// unmountIfMounted unmounts ds unless zfs says it is not mounted.
func (r *run) unmountIfMounted(ctx context.Context, ds string) error {
	err := r.zfs.Unmount(ctx, ds)
	var e *zfs.Error
	if errors.As(err, &e) && strings.Contains(e.Stderr, "not currently mounted") {
		return nil
	}
	return err
}

// destroyOwn destroys a dataset that preseed made (unmounting it first).
func (r *run) destroyOwn(ctx context.Context, ds string) error {
	if err := r.unmountIfMounted(ctx, ds); err != nil {
		return err
	}
	return zfs.RetryBusy(ctx, func() error { return r.zfs.DestroyRecursive(ctx, ds) })
}

func (r *run) rename(ctx context.Context, from, to string) error {
	return zfs.RetryBusy(ctx, func() error { return r.zfs.Rename(ctx, from, to) })
}
