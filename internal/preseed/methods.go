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

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/zfs"
)

const holdTag = "nixgen-preseed"

// local restores the newest snapshot that holds data, chosen before
// anything changes (a snapshot taken while the dataset was empty restores
// nothing). When it is the newest snapshot, a rollback without -r brings it
// back; when newer (empty) snapshots exist, a clone of it is promoted in
// the dataset's place and the dataset, with those newer snapshots, is set
// aside: no snapshot is ever destroyed. The snapshot is held meanwhile, so
// that sanoid's pruning cannot destroy it.
func (r *run) local(ctx context.Context) error {
	if err := r.releaseStaleHolds(ctx); err != nil {
		return err
	}
	if err := r.cleanProbe(ctx); err != nil {
		return err
	}
	if resumed, err := r.resumeLocal(ctx); resumed || err != nil {
		return err
	}
	snaps, err := r.zfs.Snapshots(ctx, r.svc.Dataset)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return unavailable("%s has no snapshots", r.svc.Dataset)
	}
	pick := -1
	for i := len(snaps) - 1; i >= 0 && pick < 0; i-- { // Snapshots is oldest first
		has, err := r.holdsData(ctx, snaps[i].Name)
		if err != nil {
			return fmt.Errorf("looking into %s: %w", snaps[i].Name, err)
		}
		if has {
			pick = i
		}
	}
	if pick < 0 {
		return unavailable("none of the %d snapshots of %s holds data", len(snaps), r.svc.Dataset)
	}
	snap := snaps[pick].Name
	// The tag is preseed's own, and the lock excludes another run: a hold
	// already there was left by a run killed before its release.
	if err := r.zfs.Hold(ctx, holdTag, snap); err != nil && !holdExists(err) {
		return err
	}
	defer func() {
		// Release even when ctx expired: the hold would otherwise pin the
		// snapshot forever.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.zfs.Release(rctx, holdTag, snap); err != nil {
			r.log.Warn("releasing snapshot hold", "snapshot", snap, "err", err)
		}
	}()
	if newer := len(snaps) - 1 - pick; newer > 0 {
		r.log.Info("restoring through a promoted clone", "method", "local", "snapshot", snap, "newer_snapshots", newer)
		return r.promoteClone(ctx, snap, newer)
	}
	r.log.Info("rolling back", "method", "local", "snapshot", snap)
	return r.discard(ctx, proof{kind: proofRollbackEmpty, target: snap})
}

// probeDir is where a probe clone is mounted: inside the dataset's root,
// which is root's alone (0700) while methods run, under a staging name.
func (r *run) probeDir() string {
	return filepath.Join(r.svc.Mountpoint, StagingPrefix+"probe")
}

// holdsData clones snap read-only, looks whether its root holds anything
// that counts as data, and discards the clone. (zfs-fuse has neither
// .zfs/snapshot nor the `written` property to tell otherwise.)
func (r *run) holdsData(ctx context.Context, snap string) (bool, error) {
	probe, dir := r.svc.Dataset+probeSuffix, r.probeDir()
	props := map[string]string{"readonly": "on", "canmount": "noauto", "mountpoint": dir, PropProbe: snap}
	if err := r.zfs.Clone(ctx, snap, probe, props); err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.cleanProbe(cctx); err != nil {
			r.log.Warn("discarding the probe clone", "clone", probe, "err", err)
		}
	}()
	if src, _ := zfs.MountSource(dir); src != probe {
		if err := r.zfs.Mount(ctx, probe); err != nil {
			return false, err
		}
	}
	empty, err := isEmpty(dir)
	return !empty, err
}

// cleanProbe discards a probe clone (this run's, or a killed run's) and the
// directory it was mounted on. Something else under the probe's name is
// left alone and fails the method.
func (r *run) cleanProbe(ctx context.Context) error {
	probe := r.svc.Dataset + probeSuffix
	if _, err := r.zfs.Get(ctx, []string{probe}, "type"); zfs.NotExist(err) {
		return r.removeProbeDir()
	} else if err != nil {
		return err
	}
	if err := r.discard(ctx, proof{kind: proofProbeClone, target: probe}); err != nil {
		return err
	}
	return r.removeProbeDir()
}

func (r *run) removeProbeDir() error {
	root, err := openRoot(r.svc.Mountpoint)
	if err != nil {
		return err
	}
	defer root.Close()
	return root.RemoveAll(StagingPrefix + "probe")
}

// promoteClone restores snap when newer snapshots exist: a clone of it is
// promoted (taking over the snapshots up to snap), the dataset — keeping
// the newer ones — is set aside, and the clone takes its name and place.
// The clone's name is free: local() ran resumeLocal first, and zfs clone
// refuses a name that exists.
func (r *run) promoteClone(ctx context.Context, snap string, newer int) error {
	clone := r.svc.Dataset + localSuffix
	if err := r.zfs.Clone(ctx, snap, clone, map[string]string{"canmount": "noauto", "mountpoint": "none", PropLocal: snap}); err != nil {
		return err
	}
	if err := r.zfs.Promote(ctx, clone); err != nil {
		return err
	}
	return r.replaceWithClone(ctx, snap, newer)
}

// replaceWithClone is promoteClone after the promote: the dataset, with
// the newer snapshots, is set aside and the clone takes its name and place.
func (r *run) replaceWithClone(ctx context.Context, snap string, newer int) error {
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	clone := ds + localSuffix
	if _, err := r.setAside(ctx, ds, fmt.Sprintf("replaced by a local restore of %s; keeps the %d newer snapshot(s)", snap, newer)); err != nil {
		return err
	}
	if err := r.rename(ctx, clone, ds); err != nil {
		return err
	}
	if err := r.zfs.SetProps(ctx, ds, map[string]string{"canmount": "on", "mountpoint": mp}); err != nil {
		return err
	}
	if err := r.zfs.Inherit(ctx, ds, PropLocal); err != nil {
		return err
	}
	return r.placeReceived(ctx)
}

// resumeLocal finishes a restore through a promoted clone that a killed
// run left half done, while the dataset is still under its name: the clone,
// marked with the snapshot of the dataset it was made of, is either still
// a clone of that snapshot (not yet promoted) or promoted with the dataset
// now a clone of its copy of that snapshot. Both go on to the end, the
// snapshot the killed run chose included; nothing is destroyed. Anything
// else under the clone's name fails the method, for the operator. It
// reports whether it found a clone.
func (r *run) resumeLocal(ctx context.Context) (bool, error) {
	ds := r.svc.Dataset
	clone := ds + localSuffix
	t, err := r.zfs.Get(ctx, []string{clone, ds}, "origin", PropLocal)
	if zfs.NotExist(err) {
		return false, nil // (ds exists: the checks before every method saw it)
	} else if err != nil {
		return false, err
	}
	snap, origin := t[clone].Props[PropLocal].Value, t[clone].Props["origin"].Value
	short, ok := strings.CutPrefix(snap, ds+"@")
	promoted := (origin == "" || origin == "-") && t[ds].Props["origin"].Value == clone+"@"+short
	switch {
	case !ok || short == "":
		return true, fmt.Errorf("%s exists but is not marked as preseed's (%s %q): move it out of the way or restore by hand (docs/restore-procedures.md)", clone, PropLocal, snap)
	case origin != snap && !promoted:
		return true, fmt.Errorf("%s holds a local restore of %s that cannot be finished here (its origin %q, the dataset's %q): swap it in by hand (docs/restore-procedures.md, \"Set-aside datasets\")", clone, snap, origin, t[ds].Props["origin"].Value)
	}
	r.log.Warn("finishing a local restore that a killed run left", "method", "local", "snapshot", snap, "promoted", promoted)
	if !promoted {
		if err := r.zfs.Promote(ctx, clone); err != nil {
			return true, err
		}
	}
	// The killed run's hold moved to the clone with the snapshot; once
	// the clone has the dataset's name it is on snap again.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.zfs.Release(rctx, holdTag, snap); err != nil && !noSuchTag(err) {
			r.log.Warn("releasing snapshot hold", "snapshot", snap, "err", err)
		}
	}()
	newer, err := r.zfs.Snapshots(ctx, ds) // after the promote, only the newer ones
	if err != nil {
		return true, err
	}
	return true, r.replaceWithClone(ctx, snap, len(newer))
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

// sshOptions are those of the generated syncoid command
// (hostfacts.SSHOptions): a host that does not answer fails the
// method in seconds, and the next method is tried instead of waiting for
// the method's whole timeout; a host key not already known is refused, not
// trusted on first use, whatever root's ssh config says.
func (r *run) sshOptions() []string {
	return append(append([]string(nil), r.o.SSHOptions...), hostfacts.SSHOptions...)
}

// safeDataset matches what ZFS accepts in a dataset name; anything else is
// refused before it reaches the remote shell that ssh hands its arguments to.
var safeDataset = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]*$`)

// syncoid pulls the replica back. syncoid refuses to receive a full stream
// into an existing dataset, so the empty dataset is renamed aside first
// (<ds>.nixgen-aside) and put back if anything fails. Once the received
// dataset is in place, the aside is destroyed only when the gate proves it
// still empty and without snapshots; otherwise it is kept aside.
func (r *run) syncoid(ctx context.Context) error {
	if r.leftover != "" {
		return errors.New(r.leftover)
	}
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
	replica, err := r.replicaSnapshots(ctx)
	if err != nil {
		return err
	}
	if r.foreignAside {
		return fmt.Errorf("%s exists and is not preseed's: the empty dataset cannot be set aside for the receive; rename or remove it", r.aside)
	}
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	// Datasets below the service's would be renamed aside with it: they
	// are data, and not preseed's.
	kids, err := r.zfs.ListChildren(ctx, ds, "guid")
	if err != nil {
		return err
	}
	cur, err := r.readOne(ctx, ds) // exact bytes (-p), read after the emptiness check
	if err == nil && cur == nil {
		err = fmt.Errorf("%s does not exist", ds)
	}
	if err != nil {
		return err
	}
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
	// The marks travel with the rename: what makes the aside ours, and how
	// much it referenced while empty.
	if err := r.zfs.SetProps(ctx, ds, map[string]string{PropAside: ds, PropAsideRef: cur["referenced"]}); err != nil {
		return err
	}
	if err := r.rename(ctx, ds, r.aside); err != nil {
		// A rename cut short by the timeout may have happened anyway.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cur, _ := r.readOne(bctx, ds); cur == nil {
			if perr := r.putBack(bctx, nil); perr != nil {
				r.log.Error("putting the empty dataset back after a failed rename", "err", perr)
			}
		} else if merr := r.zfs.Mount(bctx, ds); merr != nil {
			r.log.Error("remounting after a failed rename", "err", merr)
		}
		return err
	}
	err = r.receive(ctx, source, ds, mp, cur["guid"])
	if err == nil {
		if err := r.disposeAside(ctx, "replaced by a syncoid restore"); err != nil {
			// The restore stands; the received mark makes the next run finish this.
			r.log.Warn("disposing of the set-aside dataset", "aside", r.aside, "err", err)
		}
		return nil
	}
	// Put the empty dataset back, whatever the context says.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if rerr := r.putBack(bctx, replica); rerr != nil {
		return fmt.Errorf("%w; and putting the empty dataset back failed: %v", err, rerr)
	}
	return err
}

// afterReceived, when set (by tests), runs right after the received dataset
// got its mark: where a run killed there leaves the host.
var afterReceived func()

// disposeAside deals with <ds>.nixgen-aside once the service's dataset is
// settled: destroyed when the gate proves it empty and without snapshots,
// otherwise kept under a timestamped name. Then the received mark, which
// pointed at it, goes.
func (r *run) disposeAside(ctx context.Context, reason string) error {
	err := r.discard(ctx, proof{kind: proofEmptyAside, target: r.aside})
	if errors.Is(err, errNoProof) {
		r.log.Info("keeping the set-aside dataset", "aside", r.aside, "why", err.Error())
		_, err = r.setAside(ctx, r.aside, reason)
	}
	if err != nil {
		return err
	}
	if err := r.zfs.Inherit(ctx, r.svc.Dataset, PropReceived); err != nil && !zfs.NotExist(err) {
		r.log.Warn("clearing the received mark", "err", err)
	}
	return nil
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

// placeReceived mounts the dataset (received or promoted) at the service's
// mountpoint.
func (r *run) placeReceived(ctx context.Context) error {
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	if err := r.zfs.Set(ctx, ds, "mountpoint", mp); err != nil {
		return err
	}
	d, err := r.readOne(ctx, ds)
	if err != nil {
		return err
	}
	if d == nil || d["mounted"] != "yes" {
		return r.zfs.Mount(ctx, ds)
	}
	return nil
}

// putBack undoes a receive that did not complete: whatever syncoid left
// under the service's name is discarded only when the gate proves it a
// partial receive of the replica (replica: its snapshot guids; nil when
// unknown), otherwise kept aside; then the empty dataset returns under its
// name and mounts.
func (r *run) putBack(ctx context.Context, replica map[string]bool) error {
	ds := r.svc.Dataset
	cur, err := r.readOne(ctx, ds)
	if err != nil {
		return err
	}
	if cur != nil {
		err := r.discard(ctx, proof{kind: proofPartialReceive, target: ds, replica: replica})
		if errors.Is(err, errNoProof) {
			_, err = r.setAside(ctx, ds, fmt.Sprintf("found in place of the empty dataset after an unfinished syncoid restore (%v)", err))
		}
		if err != nil {
			return err
		}
	}
	if err := r.rename(ctx, r.aside, ds); err != nil {
		return err
	}
	for _, p := range []string{PropAside, PropAsideRef} {
		if err := r.zfs.Inherit(ctx, ds, p); err != nil {
			r.log.Warn("clearing the set-aside mark", "err", err)
		}
	}
	return r.zfs.Mount(ctx, ds)
}

// recoverAside handles <ds>.nixgen-aside left by a run that died during a
// syncoid restore. Nothing is destroyed without the gate's proof:
//   - the dataset carries the received mark naming the aside's guid: the
//     receive had completed; the aside is disposed of, the received
//     dataset mounted in place, and resumed reports that the post-restore
//     steps are still to do;
//   - the dataset is marked complete: only the aside is left to dispose of;
//   - there is no dataset: the receive never created one; the empty
//     dataset is put back;
//   - the dataset is provably a partial receive of the replica: discarded,
//     and the empty dataset put back;
//   - otherwise the dataset may hold new data: both are kept (the aside
//     under a timestamped name), and the syncoid method fails saying so.
func (r *run) recoverAside(ctx context.Context, st state, aside map[string]string) (_ state, resumed bool, err error) {
	ds := r.svc.Dataset
	reread := func(resumed bool) (state, bool, error) {
		st, err := r.state(ctx)
		return st, resumed && err == nil, err
	}
	switch g := aside["guid"]; {
	case st.ds != nil && isSet(g) && st.ds[PropReceived] == g:
		r.log.Info("an earlier syncoid restore was interrupted after its receive: finishing it", "aside", r.aside)
		if err := r.disposeAside(ctx, "replaced by a syncoid restore"); err != nil {
			return st, false, fmt.Errorf("finishing an interrupted syncoid restore: %w", err)
		}
		if err := r.placeReceived(ctx); err != nil {
			return st, false, fmt.Errorf("finishing an interrupted syncoid restore: %w", err)
		}
		return reread(true)
	case st.ds != nil && st.ds[PropComplete] == "complete":
		r.log.Info("disposing of the dataset set aside by a finished restore", "aside", r.aside)
		if err := r.disposeAside(ctx, "left by a finished syncoid restore"); err != nil {
			return st, false, err
		}
		return reread(false)
	case st.ds == nil:
		r.log.Warn("an earlier syncoid restore was interrupted before anything was received: putting the empty dataset back", "aside", r.aside)
		if err := r.putBack(ctx, nil); err != nil {
			return st, false, fmt.Errorf("recovering from an interrupted syncoid restore: %w", err)
		}
		return reread(false)
	}
	why := "the replica could not be read"
	replica, rerr := r.replicaSnapshots(ctx)
	if rerr == nil {
		derr := r.discard(ctx, proof{kind: proofPartialReceive, target: ds, replica: replica})
		if derr == nil {
			r.log.Warn("an earlier syncoid restore was interrupted: discarded its partial receive", "aside", r.aside)
			if err := r.putBack(ctx, replica); err != nil {
				return st, false, fmt.Errorf("recovering from an interrupted syncoid restore: %w", err)
			}
			return reread(false)
		}
		if !errors.Is(derr, errNoProof) {
			return st, false, derr
		}
		why = derr.Error()
	} else {
		why = fmt.Sprintf("%s (%v)", why, rerr)
	}
	kept, err := r.setAside(ctx, r.aside, "left by an interrupted syncoid restore; "+ds+" was not provably its partial receive")
	if err != nil {
		return st, false, err
	}
	r.leftover = fmt.Sprintf("an interrupted syncoid restore left the empty dataset %s, and %s is not provably its partial receive (%s): both are kept; see `nixgen-helper preseed status` and docs/restore-procedures.md", kept, ds, why)
	r.log.Warn(r.leftover)
	return reread(false)
}

// replicaSnapshots returns the guids of the replication target's
// snapshots, an "unavailable" error when it has none or does not exist.
func (r *run) replicaSnapshots(ctx context.Context) (map[string]bool, error) {
	rep := r.svc.Replication
	if rep == nil {
		return nil, unavailable("no replication declared")
	}
	var out []byte
	if rep.Host == "" {
		var err error
		out, err = r.zfs.ZFSCmd(ctx, "get", "-H", "-p", "-d", "1", "-o", "name,value", "guid", rep.Dataset)
		if zfs.NotExist(err) {
			return nil, unavailable("replica %s does not exist", rep.Dataset)
		}
		if err != nil {
			return nil, err
		}
	} else {
		if !safeDataset.MatchString(rep.Dataset) || strings.HasPrefix(rep.Host, "-") || strings.HasPrefix(rep.User, "-") {
			return nil, fmt.Errorf("replication target %q is not a plain host and dataset name", rep.Target)
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
		argv = append(argv, "--", dest, "zfs", "list", "-H", "-t", "snapshot", "-o", "name,guid", "-d", "1", rep.Dataset)
		var err error
		out, err = (command{argv: argv, grace: r.o.Grace}).run(ctx)
		var ee *ExecError
		if errors.As(err, &ee) && strings.Contains(ee.Stderr, "does not exist") {
			return nil, unavailable("replica %s on %s does not exist", rep.Dataset, rep.Host)
		}
		if err != nil {
			return nil, err
		}
	}
	guids := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		name, guid, ok := strings.Cut(line, "\t")
		if ok && strings.HasPrefix(name, rep.Dataset+"@") {
			guids[strings.TrimSpace(guid)] = true
		}
	}
	if len(guids) == 0 {
		where := ""
		if rep.Host != "" {
			where = " on " + rep.Host
		}
		return nil, unavailable("replica %s%s has no snapshots", rep.Dataset, where)
	}
	return guids, nil
}

// resticSnapshot is the part of `restic snapshots --json` that preseed
// reads: only whether there is one.
type resticSnapshot struct {
	ID string `json:"id"`
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
	// The restore picks the newest snapshot of these paths for this host
	// itself: every restic process spends most of a second of CPU deriving
	// the repository key, and a separate check beforehand (is the
	// repository usable, which snapshot) cost one more of those on every
	// restore. Only when the restore fails do the checks run, to tell a
	// repository that did not open, or one without a snapshot (the next
	// repository or method may still have the data), from a failed restore.
	filter := []string{"--host", r.o.Hostname}
	for _, p := range b.Paths {
		filter = append(filter, "--path", p)
	}
	r.log.Info("restoring", "method", "restic", "repository", repoName, "snapshot", "latest", "staging", staging)
	// exit code 3 ("snapshot incomplete") is a failure like any other.
	out, err := rc(append(append([]string{"restore", "latest"}, filter...), "--target", staging)...).run(ctx)
	if err != nil {
		return fail(r.resticWhy(ctx, rc, repoName, filter, err))
	}
	snap := restoredSnapshot(out)
	r.log.Info("restored", "method", "restic", "repository", repoName, "snapshot", snap)
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
		return fail(fmt.Errorf("snapshot %s holds nothing below %s (paths %v): %w", snap, mp, b.Paths, err))
	}
	d.Close()
	return moveIntoPlace(root, stagingDir, name, src)
}

// resticWhy explains a failed restore: a repository that does not open
// (errRepoUnusable), one without a snapshot of these paths for this host
// (unavailable), or else the restore's own failure.
func (r *run) resticWhy(ctx context.Context, rc func(...string) command, repoName string, filter []string, restoreErr error) error {
	if _, err := rc("cat", "config").run(ctx); err != nil {
		return fmt.Errorf("repository %s is not usable: %w: %w", repoName, errRepoUnusable, err)
	}
	out, err := rc(append([]string{"snapshots", "--json"}, filter...)...).run(ctx)
	if err != nil {
		return fmt.Errorf("%w (and then: %w)", restoreErr, err)
	}
	var snaps []resticSnapshot
	if err := json.Unmarshal(out, &snaps); err != nil {
		return fmt.Errorf("%w (and then restic snapshots --json: %w)", restoreErr, err)
	}
	if len(snaps) == 0 {
		return unavailable("repository %s has no snapshot of %s for host %s", repoName, strings.Join(r.svc.Backup.Paths, ", "), r.o.Hostname)
	}
	return restoreErr
}

// restoredSnapshot reads the snapshot's short id from restic restore's
// first line ("restoring <Snapshot 1a2b3c4d of [...] ...> to ..."), for
// the log only; "latest" when the line is not there.
func restoredSnapshot(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "restoring <Snapshot "); ok {
			if id, _, ok := strings.Cut(rest, " "); ok {
				return id
			}
		}
	}
	return "latest"
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

func (r *run) rename(ctx context.Context, from, to string) error {
	return zfs.RetryBusy(ctx, func() error { return r.zfs.Rename(ctx, from, to) })
}
