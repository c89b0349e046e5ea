package restic

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
)

func newRepo(t *testing.T) *Runner {
	t.Helper()
	e2e.Tool(t, "restic")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	envFile := filepath.Join(dir, "env")
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The manifest's repository wins over one in the environment file.
	if err := os.WriteFile(envFile, []byte("RESTIC_REPOSITORY=/nonexistent\nRESTIC_COMPRESSION='off'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := New(manifest.Repository{URL: filepath.Join(dir, "repo"), PasswordFile: pw, EnvironmentFile: envFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), nil, "init"); err != nil {
		t.Fatal(err)
	}
	return r
}

// A backup that could not read one of its sources exits 3 and saves an
// incomplete snapshot; the runner must call that a failure. The unreadable
// source is /proc/self/clear_refs: write-only, so read(2) fails with EINVAL
// even for root (the tests run as root, where chmod 000 would not stop
// restic). A path that is missing from the start is not such a case:
// restic 0.14 skips it with a warning and exits 0.
func TestExitCode3IsFailure(t *testing.T) {
	r := newRepo(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "present"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.Run(context.Background(), nil, "backup", "--host", "h", filepath.Join(dir, "present"), "/proc/self/clear_refs")
	if err == nil {
		t.Fatal("a backup with an unreadable source file succeeded")
	}
	if !Incomplete(err) || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("err = %v, want exit code 3 classified as incomplete", err)
	}
	// restic did save a snapshot: only the exit code tells it is incomplete.
	out, err := r.Output(context.Background(), "snapshots", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var snaps []json.RawMessage
	if err := json.Unmarshal(out, &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots %s (%v)", out, err)
	}
}

func TestTimeoutStopsRestic(t *testing.T) {
	e2e.Tool(t, "sleep")
	r := &Runner{Command: []string{"sleep", "30"}, Grace: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := r.Run(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || Incomplete(err) {
		t.Fatalf("err = %v", err)
	}
}

// repository_file: the helper reads the URL from a root-only file, follows
// a symlink to it (sops-nix and agenix link their secrets), and refuses a
// file that another user could rewrite to point restores elsewhere.
func TestRepositoryFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "repo-url")
	if err := os.WriteFile(file, []byte("rest:https://u:hunter2@backup.example/forge\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, link} {
		url, err := RepositoryURL(manifest.Repository{RepositoryFile: p})
		if err != nil || url != "rest:https://u:hunter2@backup.example/forge" {
			t.Errorf("%s: %q, %v", p, url, err)
		}
	}
	if url, err := RepositoryURL(manifest.Repository{URL: "/mnt/r"}); err != nil || url != "/mnt/r" {
		t.Errorf("url: %q, %v", url, err)
	}
	for name, setup := range map[string]func(p string) error{
		"group-writable": func(p string) error { return os.Chmod(p, 0o620) },
		"world-writable": func(p string) error { return os.Chmod(p, 0o602) },
		"other owner":    func(p string) error { return os.Chown(p, 65534, 65534) },
		"two lines":      func(p string) error { return os.WriteFile(p, []byte("/a\n/b\n"), 0o600) },
		"empty":          func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"a directory":    func(p string) error { return os.Mkdir(p, 0o700) },
	} {
		p := filepath.Join(t.TempDir(), "f")
		if name != "a directory" {
			if err := os.WriteFile(p, []byte("/mnt/r\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := setup(p); err != nil {
			if os.Geteuid() != 0 && name == "other owner" {
				continue
			}
			t.Fatal(err)
		}
		if url, err := RepositoryURL(manifest.Repository{RepositoryFile: p}); err == nil {
			t.Errorf("%s: accepted, %q", name, url)
		}
	}
}

// A repository named by repository_file works end to end with real restic,
// and restic's own messages never carry the URL with its password.
func TestRepositoryFileWithRestic(t *testing.T) {
	e2e.Tool(t, "restic")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("pw\n"), 0o600)
	urlFile := filepath.Join(dir, "url")
	os.WriteFile(urlFile, []byte(filepath.Join(dir, "repo")+"\n"), 0o600)
	r, err := New(manifest.Repository{RepositoryFile: urlFile, PasswordFile: pw})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), nil, "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repo", "config")); err != nil {
		t.Fatalf("restic did not create the repository named by the file: %v", err)
	}

	// A stand-in restic that prints its repository, as restic does in some errors.
	fake := filepath.Join(dir, "restic")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"Fatal: unable to open repository at $RESTIC_REPOSITORY\" >&2\nexit 1\n"), 0o755)
	os.WriteFile(urlFile, []byte("rest:https://u:hunter2@backup.example/forge?token=hunter2\n"), 0o600)
	r, err = New(manifest.Repository{RepositoryFile: urlFile, PasswordFile: pw}, fake)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background(), nil, "cat", "config")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "rest:https://***@backup.example/forge?***") {
		t.Errorf("err = %v", err)
	}
}

// The manifest names the repository: RESTIC_REPOSITORY_FILE or a password
// command from the environment or the environment file would compete.
func TestEnvironDropsOtherRepositorySettings(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("RESTIC_REPOSITORY_FILE=/x\nRESTIC_PASSWORD_COMMAND=echo\nAWS_ACCESS_KEY_ID=k\n"), 0o600)
	t.Setenv("RESTIC_PASSWORD", "from-env")
	env, err := Environ(manifest.Repository{URL: "/mnt/r", PasswordFile: "/run/pw", EnvironmentFile: envFile})
	if err != nil {
		t.Fatal(err)
	}
	joined := "\n" + strings.Join(env, "\n") + "\n"
	for _, bad := range []string{"RESTIC_REPOSITORY_FILE=", "RESTIC_PASSWORD_COMMAND=", "RESTIC_PASSWORD="} {
		if strings.Contains(joined, "\n"+bad) {
			t.Errorf("environment keeps %s", bad)
		}
	}
	for _, want := range []string{"\nAWS_ACCESS_KEY_ID=k\n", "\nRESTIC_REPOSITORY=/mnt/r\n", "\nRESTIC_PASSWORD_FILE=/run/pw\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("environment lacks %q", want)
		}
	}
}
