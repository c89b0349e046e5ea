package metrics

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
)

func TestRemoveStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root's files are removed")
	}
	dir := t.TempDir()
	outside := t.TempDir()
	m := &manifest.Manifest{
		Services: []manifest.Service{
			{Name: "kept", Preseed: &manifest.Preseed{}},
			{Name: "nopreseed"},
		},
		Jobs: []manifest.Job{{Unit: "restic-backups-kept.service"}, {Unit: "sanoid.service"}},
	}
	write := func(d, name string) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte("x 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keep := []string{
		"nixgen_job_restic-backups-kept.service.prom", "nixgen_job_sanoid.service.prom",
		"nixgen_preseed_kept.prom", "nixgen_host.prom", "node.prom",
		"nixgen_job_gone.service.prom.4711", // a write in progress
	}
	remove := []string{"nixgen_job_restic-backups-gone.service.prom", "nixgen_preseed_gone.prom", "nixgen_preseed_nopreseed.prom"}
	for _, n := range append(append([]string{}, keep...), remove...) {
		write(dir, n)
	}
	// Not regular files, or not root's: left alone.
	target := write(outside, "target")
	if err := os.Symlink(target, filepath.Join(dir, "nixgen_job_link.service.prom")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "nixgen_preseed_dir.prom"), 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := write(dir, "nixgen_job_foreign.service.prom")
	if err := os.Chown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, "nixgen_job_link.service.prom", "nixgen_preseed_dir.prom", "nixgen_job_foreign.service.prom")

	removed, err := RemoveStale(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(remove)
	if !slices.Equal(removed, remove) {
		t.Errorf("removed %q, want %q", removed, remove)
	}
	for _, n := range keep {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	for _, n := range remove {
		if _, err := os.Lstat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", n, err)
		}
	}
	if _, err := os.Stat(target); err != nil {
		t.Errorf("the symlink's target: %v", err)
	}

	// A missing directory holds nothing; a directory others can write
	// (not sticky) is refused.
	if r, err := RemoveStale(filepath.Join(dir, "missing"), m); err != nil || r != nil {
		t.Errorf("missing dir: %v, %v", r, err)
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	write(open, "nixgen_preseed_gone.prom")
	if _, err := RemoveStale(open, m); err == nil {
		t.Error("a world-writable directory was accepted")
	}
	if _, err := os.Stat(filepath.Join(open, "nixgen_preseed_gone.prom")); err != nil {
		t.Error("a file in a refused directory was removed")
	}
}
