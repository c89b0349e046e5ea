package emit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/nixeval"
)

// TestResticReadsBackupPaths hands the backup paths, as Nix evaluates them, to
// real restic the way NixOS's restic module does
// (nixos/modules/services/backup/restic.nix): one per line in a file given to
// `restic backup --files-from`, which trims each line and expands it with
// filepath.Glob. Every path must come back from `restic ls` as itself: a
// directory named "Movie [2020]" must be backed up, not skipped as a pattern
// that matches nothing.
func TestResticReadsBackupPaths(t *testing.T) {
	restic := e2e.Tool(t, "restic")
	root := t.TempDir()
	mp := filepath.Join(root, "srv", "media")
	names := []string{"Movie [2020]", "star*", "what?", `back\slash`, "plain"}
	var paths []string
	for _, n := range names {
		p := filepath.Join(mp, n)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "f"), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// Decoys that the unescaped patterns would pick up instead.
	for _, n := range []string{"Movie 2", "starlight", "whatx"} {
		if err := os.MkdirAll(filepath.Join(mp, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The spec names the paths below /srv/media (a mountpoint in /tmp is
	// rejected); the test maps them to the real directory afterwards.
	const specMP = "/srv/media"
	spec := richSpec(1)
	s := spec.Hosts[0].Services[0]
	s.Mountpoint, s.Backup.Paths = specMP, nil
	for _, p := range paths {
		s.Backup.Paths = append(s.Backup.Paths, specMP+strings.TrimPrefix(p, mp))
	}
	out := Render(spec)
	v := nixeval.Host(t, spec, out)
	var lines []string
	for _, p := range nixeval.Get(t, v, "services", s.Name+".nix", "services", "restic", "backups", s.Name, "paths").([]any) {
		lines = append(lines, mp+strings.TrimPrefix(p.(string), specMP))
	}
	filesFrom := filepath.Join(root, "includes")
	if err := os.WriteFile(filesFrom, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(root, "repo")
	env := append(os.Environ(), "RESTIC_REPOSITORY="+repo, "RESTIC_PASSWORD=nixgen-test", "RESTIC_CACHE_DIR="+filepath.Join(root, "cache"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(restic, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("restic %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		if strings.Contains(stderr.String(), "does not match any files") {
			t.Errorf("restic %s skipped a path:\n%s", strings.Join(args, " "), stderr.String())
		}
		return stdout.String()
	}
	run("init")
	run("backup", "--files-from="+filesFrom)
	listed := strings.Split(strings.TrimSpace(run("ls", "latest")), "\n")
	for _, p := range paths {
		if !slices.Contains(listed, filepath.Join(p, "f")) {
			t.Errorf("%q is not in the snapshot; restic listed:\n%s", p, strings.Join(listed, "\n"))
		}
	}
	for _, l := range listed {
		if strings.HasPrefix(l, mp+"/") && !slices.ContainsFunc(paths, func(p string) bool { return l == p || strings.HasPrefix(l, p+"/") }) {
			t.Errorf("the snapshot holds %q, which no backup path names", l)
		}
	}
}
