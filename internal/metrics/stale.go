package metrics

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/safefs"
)

// HostFile is the textfile of `nixgen-helper metrics`.
func HostFile(dir string) string { return filepath.Join(dir, "nixgen_host.prom") }

// Textfile name patterns of the per-job and per-service writers.
const (
	jobFilePrefix     = "nixgen_job_"
	preseedFilePrefix = "nixgen_preseed_"
	fileSuffix        = ".prom"
)

// RemoveStale deletes the job and preseed textfiles in dir that belong to
// no job and no preseeded service of m: a removed job's last failure would
// otherwise alert forever. Only regular files owned by root named exactly
// nixgen_job_<unit>.prom or nixgen_preseed_<service>.prom are removed
// (temporary files of a write in progress end differently), through a
// descriptor of dir, which must be root's and not writable by others
// unless sticky (safefs.OpenTrusted); a symlink is never followed. A
// missing dir holds nothing to remove. It returns the names removed.
func RemoveStale(dir string, m *manifest.Manifest) ([]string, error) {
	keep := map[string]bool{}
	for _, j := range m.Jobs {
		keep[filepath.Base(JobFile(dir, j.Unit))] = true
	}
	for _, s := range m.Services {
		if s.Preseed != nil {
			keep[filepath.Base(PreseedFile(dir, s.Name))] = true
		}
	}
	d, err := safefs.OpenTrusted(dir, safefs.StickyOK)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("removing stale metrics: %w", err)
	}
	defer d.Close()
	names, err := d.Names()
	if err != nil {
		return nil, fmt.Errorf("removing stale metrics: %w", err)
	}
	var removed []string
	var errs []error
	for _, name := range names {
		if keep[name] || !strings.HasSuffix(name, fileSuffix) ||
			!(strings.HasPrefix(name, jobFilePrefix) || strings.HasPrefix(name, preseedFilePrefix)) {
			continue
		}
		st, err := d.Lstat(name)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 {
			continue
		}
		if err := d.Unlink(name); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	if len(removed) > 0 {
		if err := d.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("removing stale metrics: %w", err)
	}
	return removed, nil
}
