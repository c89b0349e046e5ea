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
