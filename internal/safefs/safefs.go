// Package safefs lets the root helper act inside directories that a less
// privileged user can write without being steered by that user, the way
// systemd-tmpfiles and OpenSSH do: directories are opened with O_NOFOLLOW
// relative to a directory file descriptor already held, every change goes
// through a descriptor (fchown, fchownat with AT_SYMLINK_NOFOLLOW, renameat,
// unlinkat), walks never leave the device they started on, and an object
// created earlier is re-identified by device and inode before it is used.
// A path string is only ever used to open the first directory, through
// ancestors that no other user can change (CheckAncestors).
package safefs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is an open directory. Path is for messages only: nothing is ever
// done through it.
type Dir struct {
	Path string
	fd   int
	st   unix.Stat_t // as opened
}

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// openDirAt opens name below dirfd as a directory, never following a
// symlink. O_NOATIME keeps a walk from dirtying every directory's atime; the
// kernel allows it only to the owner or CAP_FOWNER, so it is dropped on EPERM.
func openDirAt(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, dirFlags|unix.O_NOATIME, 0)
		if err == unix.EPERM {
			fd, err = unix.Openat(dirfd, name, dirFlags, 0)
		}
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func newDir(p string, fd int) (*Dir, error) {
	d := &Dir{Path: p, fd: fd}
	if err := unix.Fstat(fd, &d.st); err != nil {
		unix.Close(fd)
		return nil, &PathError{Op: "fstat", Path: p, Err: err}
	}
	return d, nil
}

// PathError is a failed operation on a named object.
type PathError struct {
	Op   string
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// OpenDir opens the directory name (a single path component) below d,
// refusing a symlink (ELOOP) or anything that is not a directory (ENOTDIR).
func (d *Dir) OpenDir(name string) (*Dir, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	p := path.Join(d.Path, name)
	fd, err := openDirAt(d.fd, name)
	if err != nil {
		return nil, &PathError{Op: "open", Path: p, Err: err}
	}
	return newDir(p, fd)
}

// OpenBelow opens the directory at the relative path rel below d one
// component at a time, each with O_NOFOLLOW, and refuses to leave d's
// device. rel "" or "." opens d again.
func (d *Dir) OpenBelow(rel string) (*Dir, error) {
	if path.IsAbs(rel) {
		return nil, fmt.Errorf("%q is not a relative path", rel)
	}
	fd, err := openDirAt(d.fd, ".")
	if err != nil {
		return nil, &PathError{Op: "open", Path: d.Path, Err: err}
	}
	cur, err := newDir(d.Path, fd)
	if err != nil {
		return nil, err
	}
	for _, name := range strings.Split(path.Clean(rel), "/") {
		if name == "." {
			continue
		}
		next, err := cur.OpenDir(name)
		cur.Close()
		if err != nil {
			return nil, err
		}
		if next.st.Dev != d.st.Dev {
			next.Close()
			return nil, &PathError{Op: "open", Path: next.Path, Err: errors.New("another file system is mounted there")}
		}
		cur = next
	}
	return cur, nil
}

// Close releases the descriptor.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Stat returns what fstat said when d was opened.
func (d *Dir) Stat() unix.Stat_t { return d.st }

// SameAs reports whether d and o are the same directory (device and inode).
func (d *Dir) SameAs(o *Dir) bool { return d.st.Dev == o.st.Dev && d.st.Ino == o.st.Ino }

// CheckSame re-opens name below d (O_NOFOLLOW) and fails with ErrReplaced
// unless it is still made, the directory created there earlier: for a path
// that a program other than the caller has written through.
func (d *Dir) CheckSame(name string, made *Dir) error {
	cur, err := d.OpenDir(name)
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrReplaced, err)
	}
	defer cur.Close()
	if !cur.SameAs(made) {
		return &PathError{Op: "check", Path: cur.Path, Err: ErrReplaced}
	}
	return nil
}

// Lstat is fstatat(AT_SYMLINK_NOFOLLOW) of name below d.
func (d *Dir) Lstat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return st, &PathError{Op: "lstat", Path: path.Join(d.Path, name), Err: err}
	}
	return st, nil
}

// Names lists the entries of d (without . and ..), read from the
// descriptor from the start.
func (d *Dir) Names() ([]string, error) {
	if _, err := unix.Seek(d.fd, 0, io.SeekStart); err != nil {
		return nil, &PathError{Op: "seek", Path: d.Path, Err: err}
	}
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.Getdents(d.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &PathError{Op: "getdents", Path: d.Path, Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// Chown changes d's owner, unless it already has it; changed says whether
// it did.
func (d *Dir) Chown(uid, gid int) (changed bool, err error) {
	if int(d.st.Uid) == uid && int(d.st.Gid) == gid {
		return false, nil
	}
	if err := unix.Fchown(d.fd, uid, gid); err != nil {
		return false, &PathError{Op: "fchown", Path: d.Path, Err: err}
	}
	d.st.Uid, d.st.Gid = uint32(uid), uint32(gid)
	// chown clears setuid/setgid: what fstat said about the mode is stale.
	return true, d.refresh()
}

// Chmod sets d's permission bits (setuid, setgid and sticky included),
// unless they already are mode.
func (d *Dir) Chmod(mode uint32) error {
	if d.st.Mode&0o7777 == mode {
		return nil
	}
	if err := unix.Fchmod(d.fd, mode); err != nil {
		return &PathError{Op: "fchmod", Path: d.Path, Err: err}
	}
	return d.refresh()
}

func (d *Dir) refresh() error {
	if err := unix.Fstat(d.fd, &d.st); err != nil {
		return &PathError{Op: "fstat", Path: d.Path, Err: err}
	}
	return nil
}

// Sync flushes d's entries (after renames into or out of it).
func (d *Dir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return &PathError{Op: "fsync", Path: d.Path, Err: err}
	}
	return nil
}

// Mkdir creates the directory name below d with mode (minus the umask) and
// opens it.
func (d *Dir) Mkdir(name string, mode uint32) (*Dir, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if err := ignoringEINTR(func() error { return unix.Mkdirat(d.fd, name, mode) }); err != nil {
		return nil, &PathError{Op: "mkdir", Path: path.Join(d.Path, name), Err: err}
	}
	return d.OpenDir(name)
}

// MkdirTemp creates a new directory prefix<random> below d, mode 0700,
// and returns it with its name. A name that exists (whoever made it) is
// never reused.
func (d *Dir) MkdirTemp(prefix string) (*Dir, string, error) {
	for range 100 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", err
		}
		name := prefix + hex.EncodeToString(b[:])
		sub, err := d.Mkdir(name, 0o700)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		return sub, name, err
	}
	return nil, "", fmt.Errorf("mkdir %s: no free name", path.Join(d.Path, prefix+"*"))
}

// Rename moves oldName below d to newName below to (renameat: neither
// name is resolved through a path, and a symlink is moved, not followed).
func (d *Dir) Rename(oldName string, to *Dir, newName string) error {
	for _, n := range []string{oldName, newName} {
		if err := CheckName(n); err != nil {
			return err
		}
	}
	err := ignoringEINTR(func() error { return unix.Renameat(d.fd, oldName, to.fd, newName) })
	if err != nil {
		return &PathError{Op: "rename", Path: path.Join(d.Path, oldName) + " to " + path.Join(to.Path, newName), Err: err}
	}
	return nil
}

// Unlink removes the non-directory name below d.
func (d *Dir) Unlink(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := ignoringEINTR(func() error { return unix.Unlinkat(d.fd, name, 0) }); err != nil {
		return &PathError{Op: "unlink", Path: path.Join(d.Path, name), Err: err}
	}
	return nil
}

// RemoveAll removes name below d and everything under it. It never follows
// a symlink (a symlink is removed itself) and never enters another file
// system: a directory on another device makes it fail. A missing name is
// not an error.
func (d *Dir) RemoveAll(name string) error { return d.removeAll(name, nil) }

// ErrReplaced: a name no longer leads to the directory that was made there.
var ErrReplaced = errors.New("is no longer the directory that was made there")

// RemoveDirIf is RemoveAll for a directory made earlier and still held
// open as want: it removes name only while name still leads to want (same
// device and inode), and fails with ErrReplaced otherwise, leaving whatever
// now has the name alone.
func (d *Dir) RemoveDirIf(name string, want *Dir) error { return d.removeAll(name, want) }

func (d *Dir) removeAll(name string, want *Dir) error {
	if err := CheckName(name); err != nil {
		return err
	}
	st, err := d.Lstat(name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if want != nil {
			return &PathError{Op: "remove", Path: path.Join(d.Path, name), Err: ErrReplaced}
		}
		err := d.Unlink(name)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	sub, err := d.OpenDir(name)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR):
		return d.removeAll(name, want) // replaced by a non-directory meanwhile
	case err != nil:
		return err
	}
	defer sub.Close()
	if want != nil && !sub.SameAs(want) {
		return &PathError{Op: "remove", Path: sub.Path, Err: ErrReplaced}
	}
	if sub.st.Dev != d.st.Dev {
		return &PathError{Op: "remove", Path: sub.Path, Err: errors.New("another file system is mounted there")}
	}
	names, err := sub.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := sub.RemoveAll(n); err != nil {
			return err
		}
	}
	// rmdir by name removes only an empty directory: a swap in the
	// meantime cannot make it remove anything else.
	err = ignoringEINTR(func() error { return unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR) })
	if err != nil && err != unix.ENOENT {
		return &PathError{Op: "rmdir", Path: sub.Path, Err: err}
	}
	return nil
}

// ReadFile reads the regular file name below d without following a
// symlink, and returns its fstat too (so the caller can check who made it).
func (d *Dir) ReadFile(name string) ([]byte, unix.Stat_t, error) {
	var st unix.Stat_t
	if err := CheckName(name); err != nil {
		return nil, st, err
	}
	p := path.Join(d.Path, name)
	var fd int
	err := ignoringEINTR(func() (err error) {
		// O_NONBLOCK: a FIFO planted under the name must not hang the open.
		fd, err = unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		return err
	})
	if err != nil {
		return nil, st, &PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, st, &PathError{Op: "fstat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, st, &PathError{Op: "read", Path: p, Err: errors.New("not a regular file")}
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, st, &PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return out, st, nil
		}
		out = append(out, buf[:n]...)
	}
}

// WriteFileAtomic replaces name below d with data: written to a new file
// (O_CREAT|O_EXCL|O_NOFOLLOW) under a temporary name, synced, then renamed
// over name, so a reader sees the old content or the whole new one.
func (d *Dir) WriteFileAtomic(name string, data []byte, perm uint32) error {
	tmp := name + ".tmp"
	if err := CheckName(tmp); err != nil {
		return err
	}
	if err := d.Unlink(tmp); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return &PathError{Op: "create", Path: path.Join(d.Path, tmp), Err: err}
	}
	werr := writeAll(fd, data)
	if werr == nil {
		werr = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return &PathError{Op: "write", Path: path.Join(d.Path, tmp), Err: werr}
	}
	return d.Rename(tmp, d, name)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// CheckName accepts a single, ordinary path component: not empty, not "."
// or "..", no "/" and no NUL. Names that come from a manifest (service and
// unit names) are checked with it where they become file names.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not a file name", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%q is not a single path component", name)
	case len(name) > 255:
		return fmt.Errorf("%q is longer than a file name may be", name)
	}
	return nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
