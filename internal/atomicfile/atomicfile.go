// Package atomicfile replaces a file in one step: readers see the old
// content or the new, never half of it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes content to a new temporary file next to path (named after
// pattern, as os.CreateTemp does; created with O_EXCL, so nothing planted
// under that name is written through), gives it perm and renames it over
// path. On error the temporary file is removed and path is unchanged.
func Write(path, pattern string, content []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
