package safefs

import (
	"errors"
	"path"

	"golang.org/x/sys/unix"
)

// ChownOptions tune ChownTree.
type ChownOptions struct {
	// Skip, when it returns true for an entry (by its path relative to the
	// walk's root, e.g. ".zfs"), leaves the entry and everything below it.
	Skip func(rel string) bool
	// BeforeDescend runs after a directory's entries were read and before
	// the walk opens the subdirectory rel: where a swap would hurt most.
	// For tests.
	BeforeDescend func(rel string)
}

// ChownTree gives everything below d (not d itself) to uid:gid, symlinks
// themselves rather than their targets, and changes only what differs, so
// a tree that already has the owner costs one fstatat per entry and no
// chown. Directories are opened with O_NOFOLLOW below descriptors already
// held, leaves are changed with fchownat(AT_SYMLINK_NOFOLLOW), and nothing
// on another device than d is touched or entered: a directory swapped for
// a symlink while the walk runs is changed as the symlink it now is. It
// returns how many entries it changed.
func (d *Dir) ChownTree(uid, gid int, o ChownOptions) (changed int, err error) {
	err = d.chownBelow("", uid, gid, &o, &changed)
	return changed, err
}

func (d *Dir) chownBelow(rel string, uid, gid int, o *ChownOptions, changed *int) error {
	names, err := d.Names()
	if err != nil {
		return err
	}
	for _, name := range names {
		r := path.Join(rel, name)
		if o.Skip != nil && o.Skip(r) {
			continue
		}
		st, err := d.Lstat(name)
		if errors.Is(err, unix.ENOENT) {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		if st.Dev != d.st.Dev {
			continue // another file system mounted here is not the tree's
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			done, err := d.chownDir(name, r, uid, gid, o, changed)
			if err != nil {
				return err
			}
			if done {
				continue
			}
			// Not a directory any more: fall through to change the entry itself.
			if st, err = d.Lstat(name); errors.Is(err, unix.ENOENT) {
				continue
			} else if err != nil {
				return err
			}
			if st.Dev != d.st.Dev {
				continue
			}
		}
		if int(st.Uid) == uid && int(st.Gid) == gid {
			continue
		}
		err = ignoringEINTR(func() error { return unix.Fchownat(d.fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW) })
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return &PathError{Op: "lchown", Path: path.Join(d.Path, name), Err: err}
		}
		*changed++
	}
	return nil
}

// chownDir changes the directory name and its tree; done is false when
// name turned out not to be a directory any more (a swap).
func (d *Dir) chownDir(name, rel string, uid, gid int, o *ChownOptions, changed *int) (done bool, err error) {
	if o.BeforeDescend != nil {
		o.BeforeDescend(rel)
	}
	sub, err := d.OpenDir(name)
	switch {
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR):
		return false, nil
	case errors.Is(err, unix.ENOENT):
		return true, nil
	case err != nil:
		return true, err
	}
	defer sub.Close()
	if sub.st.Dev != d.st.Dev {
		return true, nil
	}
	c, err := sub.Chown(uid, gid)
	if err != nil {
		return true, err
	}
	if c {
		*changed++
	}
	return true, sub.chownBelow(rel, uid, gid, o, changed)
}
