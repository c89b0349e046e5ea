package preseed

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	ownerid "github.com/nixgen/nixgen/internal/owner"
	"github.com/nixgen/nixgen/internal/safefs"
)

// StagingPrefix starts the name of every entry that preseed itself creates
// at the top of a dataset: restic restores into <mountpoint>/.nixgen-restore-XXXX
// and journals its move in <mountpoint>/.nixgen-restore-moving. Such entries
// never count as data, and a leftover staging directory (an interrupted
// restore) is removed by the next run.
const StagingPrefix = ".nixgen-restore-"

const journalName = StagingPrefix + "moving"

// ignored are the top-level names that do not make a dataset non-empty.
func ignored(name string) bool {
	return name == "lost+found" || name == ".zfs" || strings.HasPrefix(name, StagingPrefix)
}

// Everything preseed does inside a dataset goes through descriptors below
// the mount root it opened here: the service user owns the dataset and can
// rename, replace and symlink anything in it, so no path through the
// dataset is ever resolved again (see internal/safefs).

// checkAncestors refuses a mountpoint that another user could redirect: an
// ancestor that is a symlink, or is owned or writable by a non-root user.
func checkAncestors(mp string) error {
	err := safefs.CheckAncestors(mp, safefs.Strict)
	var ue *safefs.UntrustedError
	if errors.As(err, &ue) {
		return refused("mountpoint %s: %v, so another user could redirect it: refusing to restore", mp, ue)
	}
	return err
}

// openRoot opens the dataset's mount root by descriptor, refusing unless it
// is a mount point reached through ancestors only root can change.
func openRoot(mp string) (*safefs.Dir, error) {
	d, err := safefs.OpenMount(mp)
	var ue *safefs.UntrustedError
	var nm *safefs.NotMountedError
	switch {
	case errors.As(err, &ue):
		return nil, refused("mountpoint %s: %v, so another user could redirect it: refusing to restore", mp, ue)
	case errors.As(err, &nm):
		return nil, refused("%v: refusing to restore", nm)
	}
	return d, err
}

func isEmpty(mp string) (bool, error) {
	root, err := openRoot(mp)
	if err != nil {
		return false, err
	}
	defer root.Close()
	return emptyRoot(root)
}

func emptyRoot(root *safefs.Dir) (bool, error) {
	names, err := root.Names()
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if !ignored(n) {
			return false, nil
		}
	}
	return true, nil
}

// removeStaging deletes staging directories left by an interrupted restore.
func removeStaging(mp string) error {
	root, err := openRoot(mp)
	if err != nil {
		return err
	}
	defer root.Close()
	return removeStagingAt(root)
}

func removeStagingAt(root *safefs.Dir) error {
	names, err := root.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, StagingPrefix) && n != journalName {
			if err := root.RemoveAll(n); err != nil {
				return fmt.Errorf("removing leftover staging %s: %w", n, err)
			}
		}
	}
	return nil
}

// lockRoot makes the dataset's root root:root 0700 for the time of a
// restore: nobody else can then reach anything in the dataset by path, so
// the service user cannot swap the staging directory or a subdirectory
// under preseed. fixOwnership gives the root its declared owner and mode
// last, once the data is in place.
func lockRoot(root *safefs.Dir) error {
	if _, err := root.Chown(0, 0); err != nil {
		return err
	}
	return root.Chmod(0o700)
}

// lockRoot makes the dataset root root:root 0700 before any method runs,
// remembering its owner and mode, and reports whether the dataset is still
// empty: data that appeared before the lock (the service user can write
// the root until then) is adopted like any other, and the root given back.
func (r *run) lockRoot() (empty bool, err error) {
	root, err := openRoot(r.svc.Mountpoint)
	if err != nil {
		return false, err
	}
	defer root.Close()
	st := root.Stat()
	r.rootWas = &st
	if err := lockRoot(root); err != nil {
		return false, err
	}
	if empty, err = emptyRoot(root); err != nil {
		return false, err
	}
	if !empty {
		return false, r.giveBack(root)
	}
	// Leftovers the user made since removeStaging looked.
	return true, removeStagingAt(root)
}

// unlockRoot gives the root back the owner and mode lockRoot found, when
// the failed methods left the dataset empty; a half-finished restore stays
// root's alone.
func (r *run) unlockRoot() {
	if r.rootWas == nil {
		return
	}
	err := func() error {
		root, err := openRoot(r.svc.Mountpoint)
		if err != nil {
			return err
		}
		defer root.Close()
		if empty, err := emptyRoot(root); err != nil || !empty {
			return err
		}
		return r.giveBack(root)
	}()
	if err != nil {
		r.log.Warn("giving the dataset root back its owner and mode", "err", err)
	}
}

func (r *run) giveBack(root *safefs.Dir) error {
	if _, err := root.Chown(int(r.rootWas.Uid), int(r.rootWas.Gid)); err != nil {
		return err
	}
	return root.Chmod(r.rootWas.Mode & 0o7777)
}

// journal is what moveIntoPlace records before its first rename.
type journal struct {
	staging string // the staging directory's name in the dataset root
	src     string // the directory inside it whose entries move, relative
	ino     uint64 // the staging directory's inode; 0 in a journal written before it was recorded
}

func (j journal) encode() []byte {
	return fmt.Appendf(nil, "%s\n%s\n%d\n", j.staging, j.src, j.ino)
}

func parseJournal(b []byte) (journal, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 && len(lines) != 3 {
		return journal{}, errors.New("want 2 or 3 lines")
	}
	j := journal{staging: lines[0], src: lines[1]}
	if len(lines) == 3 {
		n, err := strconv.ParseUint(lines[2], 10, 64)
		if err != nil {
			return journal{}, err
		}
		j.ino = n
	}
	return j, j.check()
}

func (j journal) check() error {
	if !strings.HasPrefix(j.staging, StagingPrefix) || j.staging == journalName || safefs.CheckName(j.staging) != nil {
		return fmt.Errorf("%q is not a staging directory name", j.staging)
	}
	if c := path.Clean(j.src); path.IsAbs(j.src) || c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%q is not a path inside the staging directory", j.src)
	}
	return nil
}

// moveIntoPlace moves the entries of src (a relative path inside the
// staging directory, held open as staging) into the dataset root. The
// journal is written first and removed last: a run that dies in between
// leaves a journal, and the next run finishes the move (resumeMove) instead
// of taking a half-moved tree for adoptable data.
func moveIntoPlace(root, staging *safefs.Dir, stagingName, src string) error {
	j := journal{staging: stagingName, src: src, ino: staging.Stat().Ino}
	if err := j.check(); err != nil {
		return err
	}
	if err := root.WriteFileAtomic(journalName, j.encode(), 0o600); err != nil {
		return err
	}
	if err := root.Sync(); err != nil {
		return err
	}
	return completeMove(root, j)
}

// resumeMove finishes a journalled move; done reports whether there was one.
// Only a journal that preseed wrote counts: a regular file of root's with
// one link. Anything else under the name was planted while the service
// user could write the root, and is removed as a leftover.
func resumeMove(mp string) (done bool, err error) {
	root, err := openRoot(mp)
	if err != nil {
		return false, err
	}
	defer root.Close()
	b, st, err := root.ReadFile(journalName)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err == nil && (st.Uid != 0 || st.Nlink != 1) {
		err = errors.New("not preseed's")
	}
	if err != nil {
		if rerr := root.RemoveAll(journalName); rerr != nil {
			return false, fmt.Errorf("journal %s/%s (%v): %w", mp, journalName, err, rerr)
		}
		return false, nil
	}
	j, err := parseJournal(b)
	if err != nil {
		return false, fmt.Errorf("journal %s/%s is malformed (%v): %q", mp, journalName, err, b)
	}
	// The root was locked when the journal was written; `datasets apply`
	// may have given it back to the service user since (at boot).
	if err := lockRoot(root); err != nil {
		return false, err
	}
	return true, completeMove(root, j)
}

func completeMove(root *safefs.Dir, j journal) error {
	staging, err := root.OpenDir(j.staging)
	if errors.Is(err, unix.ENOENT) {
		// Removed after every entry had moved: only the journal is left.
		return finishJournal(root)
	}
	if err != nil {
		return err
	}
	defer staging.Close()
	st, rst := staging.Stat(), root.Stat()
	if st.Uid != 0 || st.Dev != rst.Dev || (j.ino != 0 && st.Ino != j.ino) {
		return fmt.Errorf("%s is not the staging directory the journal names (owner %d, inode %d, want root's, inode %d): not moving from it", staging.Path, st.Uid, st.Ino, j.ino)
	}
	src, err := staging.OpenBelow(j.src)
	switch {
	case errors.Is(err, unix.ENOENT):
		// Nothing left to move.
	case err != nil:
		return err
	default:
		defer src.Close()
		names, err := src.Names()
		if err != nil {
			return err
		}
		// In name order, not the directory's hash order: what a failed move
		// leaves behind is then the same on every run.
		slices.Sort(names)
		for _, n := range names {
			// Rename within one file system: nothing is copied, and a crash
			// leaves each entry either in staging or in place, never torn.
			if err := src.Rename(n, root, n); err != nil {
				return err
			}
		}
	}
	if err := root.RemoveDirIf(j.staging, staging); err != nil {
		return err
	}
	return finishJournal(root)
}

func finishJournal(root *safefs.Dir) error {
	if err := root.Sync(); err != nil {
		return err
	}
	return root.Unlink(journalName)
}

// chownHook, when set (by tests), runs during the ownership walk between
// reading a directory and entering its subdirectory rel.
var chownHook func(rel string)

// fixOwnership gives the whole tree to owner:group (symlinks themselves, not
// their targets; only entries whose owner differs), never descending into
// the .zfs snapshot directory or another file system, and then sets the
// root's owner and mode — last: until then the root is root:root 0700, so
// no other user can reach the tree while it is walked.
func fixOwnership(mp, owner, group, mode string) error {
	uid, gid, err := ownerid.Lookup(owner, group)
	if err != nil {
		return err
	}
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil || m > 0o7777 {
		return fmt.Errorf("mode %q: not an octal mode", mode)
	}
	root, err := openRoot(mp)
	if err != nil {
		return err
	}
	defer root.Close()
	// A rollback or a receive brought a root of the snapshot's: lock it again.
	if err := lockRoot(root); err != nil {
		return err
	}
	opts := safefs.ChownOptions{Skip: func(rel string) bool { return rel == ".zfs" }, BeforeDescend: chownHook}
	if _, err := root.ChownTree(uid, gid, opts); err != nil {
		return fmt.Errorf("fixing ownership under %s: %w", mp, err)
	}
	if _, err := root.Chown(uid, gid); err != nil {
		return err
	}
	return root.Chmod(uint32(m))
}
