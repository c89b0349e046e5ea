package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
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
