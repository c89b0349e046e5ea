package safefs

import (
	"errors"
	"fmt"
	"os/user"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// UntrustedError says why a path is not safe for root to act through: a
// component is a symlink, or is owned or writable by someone other than
// root, so another user could swap what the path leads to.
type UntrustedError struct {
	Path   string // the component at fault
	Reason string
}

func (e *UntrustedError) Error() string { return e.Path + " " + e.Reason }

// Strictness selects how CheckAncestors judges a writable directory.
type Strictness int

const (
	// Strict: no ancestor may be writable by anyone but root, sticky or
	// not. Mountpoints need this: in a sticky world-writable /var/tmp a
	// user cannot replace root's entries, but can create a missing one
	// first (/var/tmp/srv -> /victim) before the mountpoint is made.
	Strict Strictness = iota
	// StickyOK also accepts a world- or group-writable ancestor with the
	// sticky bit when the entry below it is root's: only its owner can
	// rename or remove it then. For scratch space below /var/tmp, where
	// root makes its own new entry and uses nothing it did not make.
	StickyOK
)

// CheckAncestors fails with an *UntrustedError when another user could
// change what the absolute path p leads to: some ancestor of p, walked from
// "/" by descriptor, is a symlink, is not a directory, is not owned by root,
// or is writable by group or others (subject to s); or p itself is a
// symlink or not a directory. p may be missing, and so may some of its
// ancestors: then the deepest existing one must not be writable by others
// either, for whoever creates the rest is root. p itself may belong to
// anyone (a mountpoint belongs to its service).
func CheckAncestors(p string, s Strictness) error {
	parent, base, err := walkAncestors(p, s)
	if err != nil || parent == nil {
		return err
	}
	defer parent.Close()
	if base == "" { // p is "/"
		return nil
	}
	d, err := openChild(parent, base)
	if errors.Is(err, unix.ENOENT) {
		return writableParent(parent, nil, s)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return writableParent(parent, d, s)
}

// OpenTrusted opens the existing directory p, which must pass
// CheckAncestors and be root's and not writable by others itself (subject
// to s: a sticky /var/tmp passes StickyOK).
func OpenTrusted(p string, s Strictness) (*Dir, error) {
	var d *Dir
	var err error
	if path.Clean(p) == "/" {
		d, err = walkRoot()
	} else {
		var parent *Dir
		if parent, d, err = openEntry(p, s); err == nil {
			parent.Close()
			err = trustedDir(d.Path, d.st)
		}
	}
	if err == nil {
		err = writableParent(d, nil, s)
	}
	if err != nil {
		if d != nil {
			d.Close()
		}
		return nil, err
	}
	return d, nil
}

// OpenMount opens the directory p, which must be a mount point — on
// another device than its parent — reached through ancestors that pass
// CheckAncestors(Strict). p itself is the mounted file system's root and
// may belong to anyone.
func OpenMount(p string) (*Dir, error) {
	parent, d, err := openEntry(p, Strict)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	if d.st.Dev == parent.st.Dev {
		d.Close()
		return nil, &NotMountedError{Path: d.Path}
	}
	return d, nil
}

// openEntry opens the existing directory p (not "/") and its parent
// through trusted ancestors, and checks that the parent protects it
// (subject to s). The caller closes both.
func openEntry(p string, s Strictness) (parent, d *Dir, err error) {
	parent, base, err := walkAncestors(p, s)
	if err != nil {
		return nil, nil, err
	}
	if parent == nil {
		return nil, nil, &PathError{Op: "open", Path: p, Err: unix.ENOENT}
	}
	if base == "" {
		parent.Close()
		return nil, nil, fmt.Errorf("%q is not below /", p)
	}
	d, err = openChild(parent, base)
	if err == nil {
		if err = writableParent(parent, d, s); err != nil {
			d.Close()
		}
	}
	if err != nil {
		parent.Close()
		return nil, nil, err
	}
	return parent, d, nil
}

// NotMountedError: the directory is on its parent's file system, so
// whatever is there is not the file system that should be mounted on it.
type NotMountedError struct{ Path string }

func (e *NotMountedError) Error() string {
	return e.Path + " is not a mount point (same device as its parent directory)"
}

func walkRoot() (*Dir, error) {
	fd, err := openDirAt(unix.AT_FDCWD, "/")
	if err != nil {
		return nil, &PathError{Op: "open", Path: "/", Err: err}
	}
	d, err := newDir("/", fd)
	if err != nil {
		return nil, err
	}
	if err := trustedDir(d.Path, d.st); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// openChild opens name below d, naming a symlink or non-directory as
// untrusted.
func openChild(d *Dir, name string) (*Dir, error) {
	next, err := d.OpenDir(name)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		// O_NOFOLLOW|O_DIRECTORY fails on a symlink with either.
		reason := "is not a directory"
		if st, lerr := d.Lstat(name); lerr == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			reason = "is a symlink"
		}
		return nil, &UntrustedError{Path: path.Join(d.Path, name), Reason: reason}
	}
	return next, err
}

// walkAncestors opens p's parent through trusted directories and returns
// it with p's last component. When an ancestor is missing it returns a nil
// Dir (after checking that the deepest existing one is not writable by
// others).
func walkAncestors(p string, s Strictness) (parent *Dir, base string, err error) {
	if !path.IsAbs(p) {
		return nil, "", fmt.Errorf("%q is not an absolute path", p)
	}
	p = path.Clean(p)
	d, err := walkRoot()
	if err != nil {
		return nil, "", err
	}
	if p == "/" {
		return d, "", nil
	}
	dir, base := path.Split(p)
	for _, name := range strings.Split(strings.Trim(dir, "/"), "/") {
		if name == "" {
			continue
		}
		next, err := openChild(d, name)
		if errors.Is(err, unix.ENOENT) {
			err = writableParent(d, nil, s)
			d.Close()
			return nil, "", err
		}
		if err == nil {
			// The entry's owner decides whether a sticky parent protects it.
			if err = trustedDir(next.Path, next.st); err == nil {
				err = writableParent(d, next, s)
			}
			if err != nil {
				next.Close()
			}
		}
		d.Close()
		if err != nil {
			return nil, "", err
		}
		d = next
	}
	return d, base, nil
}

// trustedDir: owned by root.
func trustedDir(p string, st unix.Stat_t) error {
	if st.Uid != 0 {
		return &UntrustedError{Path: p, Reason: fmt.Sprintf("is owned by %s, not root", userName(st.Uid))}
	}
	return nil
}

// writableParent fails when dir is writable by group or others, unless s
// allows a sticky one and child (nil: the walk's last directory, whose own
// new entries are root's) is root's.
func writableParent(dir, child *Dir, s Strictness) error {
	mode := dir.st.Mode
	if mode&0o022 == 0 {
		return nil
	}
	if s == StickyOK && mode&unix.S_ISVTX != 0 && (child == nil || child.st.Uid == 0) {
		return nil
	}
	who := "others"
	if mode&0o002 == 0 {
		who = "its group " + groupName(dir.st.Gid)
	}
	return &UntrustedError{Path: dir.Path, Reason: fmt.Sprintf("is writable by %s (mode %04o)", who, mode&0o7777)}
}

func userName(uid uint32) string {
	s := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(s); err == nil {
		return u.Username + " (uid " + s + ")"
	}
	return "uid " + s
}

func groupName(gid uint32) string {
	s := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(s); err == nil {
		return g.Name
	}
	return "gid " + s
}
