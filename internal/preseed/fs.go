package preseed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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

func isEmpty(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if !ignored(e.Name()) {
			return false, nil
		}
	}
	return true, nil
}

// removeStaging deletes staging directories left by an interrupted restore.
func removeStaging(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), StagingPrefix) && e.Name() != journalName {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("removing leftover staging %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// moveIntoPlace moves the entries of src (inside staging) into dst, the
// dataset root. The journal is written first and removed last: a run that
// dies in between leaves a journal, and the next run finishes the move
// (resumeMove) instead of taking a half-moved tree for adoptable data.
func moveIntoPlace(dst, staging, src string) error {
	rel, err := filepath.Rel(dst, staging)
	if err != nil || strings.Contains(rel, "/") || !strings.HasPrefix(rel, StagingPrefix) {
		return fmt.Errorf("staging %s is not a staging directory of %s", staging, dst)
	}
	srcRel, err := filepath.Rel(staging, src)
	if err != nil || strings.HasPrefix(srcRel, "..") {
		return fmt.Errorf("%s is not inside %s", src, staging)
	}
	j := filepath.Join(dst, journalName)
	tmp := j + ".tmp"
	if err := os.WriteFile(tmp, []byte(rel+"\n"+srcRel+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, j); err != nil {
		return err
	}
	if err := syncDir(dst); err != nil {
		return err
	}
	return completeMove(dst, staging, src)
}

// resumeMove finishes a journalled move; done reports whether there was one.
func resumeMove(dst string) (done bool, err error) {
	j := filepath.Join(dst, journalName)
	b, err := os.ReadFile(j)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], StagingPrefix) || strings.Contains(lines[0], "/") ||
		filepath.IsAbs(lines[1]) || strings.HasPrefix(filepath.Clean(lines[1]), "..") {
		return false, fmt.Errorf("journal %s is malformed: %q", j, b)
	}
	staging := filepath.Join(dst, lines[0])
	return true, completeMove(dst, staging, filepath.Join(staging, lines[1]))
}

func completeMove(dst, staging, src string) error {
	ents, err := os.ReadDir(src)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		// Rename within one file system: nothing is copied, and a crash
		// leaves each entry either in staging or in place, never torn.
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	if err := syncDir(dst); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dst, journalName))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// fixOwnership gives the whole tree to owner:group (symlinks themselves, not
// their targets), never descending into the .zfs snapshot directory, and
// sets the root's mode.
func fixOwnership(root, owner, group, mode string) error {
	uid, err := lookupID(owner, func(n string) (string, error) {
		u, err := user.Lookup(n)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	if err != nil {
		return fmt.Errorf("user %q: %w", owner, err)
	}
	gid, err := lookupID(group, func(n string) (string, error) {
		g, err := user.LookupGroup(n)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
	if err != nil {
		return fmt.Errorf("group %q: %w", group, err)
	}
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return fmt.Errorf("mode %q: %w", mode, err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == filepath.Join(root, ".zfs") {
			return filepath.SkipDir
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("fixing ownership under %s: %w", root, err)
	}
	return os.Chmod(root, fs.FileMode(m)&fs.ModePerm|modeBits(m))
}

// modeBits carries setuid/setgid/sticky from an octal mode into Go's FileMode.
func modeBits(m uint64) fs.FileMode {
	var f fs.FileMode
	if m&0o4000 != 0 {
		f |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		f |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		f |= fs.ModeSticky
	}
	return f
}

func lookupID(name string, lookup func(string) (string, error)) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	s, err := lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}
