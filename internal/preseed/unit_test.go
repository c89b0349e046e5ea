package preseed

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/zfs"
)

func TestLockExclusiveAndWaits(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := acquireLock(ctx, dir, "svc", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(l.path)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file says %q (%v), want our pid", b, err)
	}
	_, err = acquireLock(ctx, dir, "svc", 0)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "held by pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second acquire: err = %v, want ErrLocked naming our pid", err)
	}
	// Waiting succeeds once the owner releases.
	go func() {
		time.Sleep(300 * time.Millisecond)
		l.release()
	}()
	l2, err := acquireLock(ctx, dir, "svc", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	l2.release()
}

// A preseed killed while it holds the lock leaves nothing stale: the kernel
// drops the flock with its last descriptor. The holder here is util-linux
// flock(1) (--close: its child sleep(1) does not inherit the descriptor),
// killed with SIGKILL.
func TestLockFreedWhenHolderIsKilled(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "preseed-svc.lock")
	holder := exec.Command(flock, "--exclusive", "--close", path, "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-holder.Process.Pid, syscall.SIGKILL); holder.Wait() })
	ctx := context.Background()
	// Wait until flock(1) holds it.
	for i := 0; ; i++ {
		l, err := acquireLock(ctx, dir, "svc", 0)
		if errors.Is(err, ErrLocked) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		l.release()
		if i == 100 {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	holder.Process.Kill() // flock(1) only; its sleep(1) lives on without the lock
	holder.Wait()
	l, err := acquireLock(ctx, dir, "svc", 0)
	if err != nil {
		t.Fatalf("lock of a killed holder not free: %v", err)
	}
	l.release()
}

func TestCommandTimeoutKillsGroup(t *testing.T) {
	// The shell ignores SIGTERM, so only the SIGKILL after the grace ends it.
	c := command{argv: []string{"sh", "-c", "trap '' TERM; sleep 30 & wait"}, grace: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.run(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("run returned after %v: the group was not killed", d)
	}
}

// The leader exits on SIGTERM at once, but a child of it that ignores
// SIGTERM and no longer shares its output pipes (as a pipeline stage may)
// must still get the SIGKILL after the grace period.
func TestCommandTimeoutKillsDetachedGrandchild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	script := "(trap '' TERM; exec sleep 30) </dev/null >/dev/null 2>&1 & echo $! >" + pidFile + "; wait"
	c := command{argv: []string{"sh", "-c", script}, grace: 300 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	for i := 0; i < 50 && pidAlive(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if pidAlive(pid) {
		t.Errorf("grandchild %d still running after the timeout and grace", pid)
	}
}

// d) A service name that is not a single path component never makes
// preseed write a lock or metrics file outside their directories, and a
// symlink planted under a lock or metrics file's name is never written
// through. (Manifest validation rejects such names first; these are the
// points of use.)
func TestServiceNameNeverLeavesItsDirectory(t *testing.T) {
	base := t.TempDir()
	lockDir, textDir := filepath.Join(base, "run", "nixgen"), filepath.Join(base, "text", "dir")
	for _, d := range []string{lockDir, textDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bad := []string{"../../escape", "../escape", "..", ".", "a/b", ""}
	for _, name := range bad {
		if _, err := acquireLock(context.Background(), lockDir, name, 0); err == nil {
			t.Errorf("acquireLock(%q) succeeded", name)
		}
		if err := metrics.WritePreseed(textDir, metrics.Preseed{Service: name}); err == nil {
			t.Errorf("WritePreseed(%q) succeeded", name)
		}
		// A whole run with such a manifest stops before any lock, zfs call
		// or metrics file.
		m := &manifest.Manifest{Version: manifest.Version, Host: "h", Parent: manifest.Parent{Dataset: "tank/s", Pool: "tank"},
			Services: []manifest.Service{{Name: name, Dataset: "tank/s/x", Mountpoint: "/srv/x", User: "root", Group: "root", Mode: "0750",
				Preseed: &manifest.Preseed{Methods: []string{"local"}, TimeoutSeconds: 1, OnFailure: "block"}}}}
		_, err := Run(context.Background(), Options{Manifest: m, Service: name, LockDir: lockDir, TextfileDir: textDir,
			ZFS: &zfs.Runner{ZFS: "/nonexistent/zfs", ZPool: "/nonexistent/zpool"}})
		if err == nil || !strings.Contains(err.Error(), "service name") {
			t.Errorf("Run(%q): %v, want a refusal of the name", name, err)
		}
	}
	// Nothing but the two (empty) directories exists below base.
	var found []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, p)
		}
		return err
	})
	if len(found) > 0 {
		t.Errorf("files written: %v", found)
	}

	// Symlinks planted under the file names (as a user able to write the
	// directories could) are replaced or refused, never followed.
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, metrics.PreseedFile(textDir, "app")); err != nil {
		t.Fatal(err)
	}
	if err := metrics.WritePreseed(textDir, metrics.Preseed{Service: "app", Finished: time.Now()}); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(lockDir, "preseed-app.lock")
	if err := os.Symlink(victim, lockPath); err != nil {
		t.Fatal(err)
	}
	if _, err := acquireLock(context.Background(), lockDir, "app", 0); err == nil {
		t.Error("a lock was taken through a symlink planted under its name")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("victim written through a symlink: %q", b)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(victim, &st); err != nil || st.Mode&0o777 != 0o644 {
		t.Errorf("victim mode %o %v", st.Mode, err)
	}
}

// restic restore's first line names the snapshot it chose (restic 0.14:
// "restoring <Snapshot ID of [paths] at TIME by USER@HOST> to TARGET");
// the log takes the id from it, and says "latest" when the line changes.
func TestRestoredSnapshotFromResticOutput(t *testing.T) {
	for out, want := range map[string]string{
		"restoring <Snapshot a4ebc82c of [/srv/app] at 2026-12-02 03:29:00 +0000 UTC by root@vm> to /srv/app/.nixgen-restore-1\n": "a4ebc82c",
		"some warning\nrestoring <Snapshot 0123abcd of [/a b] at x by y> to /z\n":                                                 "0123abcd",
		"":                           "latest",
		"restoring something else\n": "latest",
	} {
		if got := restoredSnapshot([]byte(out)); got != want {
			t.Errorf("restoredSnapshot(%q) = %q, want %q", out, got, want)
		}
	}
}
