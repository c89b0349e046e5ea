package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestLockExcludesAndReports(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "datasets.lock")
	ctx := context.Background()
	l1, err := Acquire(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// flock conflicts between two open file descriptions, even in one process.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var holder string
	if _, err := Acquire(short, path, func(h string) { holder = h }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire err = %v, want deadline exceeded", err)
	}
	if holder != strconv.Itoa(os.Getpid()) {
		t.Errorf("waiting saw holder %q, want our pid", holder)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(ctx, path, func(string) { t.Error("waited for a released lock") })
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}

// A hard link planted under the lock's name is refused, and the file it
// leads to is neither truncated nor written.
func TestLockRefusesHardLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "datasets.lock")
	if err := os.Link(victim, path); err != nil {
		t.Fatal(err)
	}
	if l, err := Acquire(context.Background(), path, nil); err == nil {
		l.Release()
		t.Fatal("a hard-linked lock file was taken")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("victim written through the link: %q", b)
	}
}

// A lock file of another user (one that user could hold, or swap) is
// refused, and so is a path that is not a regular file.
func TestLockRefusesForeignOrOddFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.lock"), 0o600); err != nil {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(dir, "fifo.lock")}
	if os.Geteuid() == 0 {
		foreign := filepath.Join(dir, "foreign.lock")
		if err := os.WriteFile(foreign, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, foreign)
	}
	for _, p := range paths {
		if l, err := Acquire(context.Background(), p, nil); err == nil {
			l.Release()
			t.Errorf("%s was taken as a lock file", p)
		}
	}
}
