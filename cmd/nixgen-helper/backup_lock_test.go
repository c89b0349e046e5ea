package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/backupsnap"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// Issue 7: two `backup-snapshot create` of one service at once. Without the
// service's lock the second released (destroyed) the first's clone while
// the first was about to report it mounted. The first is paused right after
// its clone; the second must wait for the lock, and when both are done the
// clone is mounted with the snapshot's data and both said so truthfully.
func TestBackupSnapshotConcurrentCreatesSerialise(t *testing.T) {
	p, ds, mf, runDir := backupSnapshotEnv(t)
	lockDir := filepath.Join(p.Dir, "lock")
	// Changing calls of a fresh create: 1 snapshot, 2 clone (then pause).
	w := zfstest.NewWrapper(t, zfstest.WrapOptions{PauseAt: 2})
	args := []string{"--zfs", w.Path, "backup-snapshot", "create", "--manifest", mf, "--service", "app",
		"--run-dir", runDir, "--lock-dir", lockDir}

	a := helperCmd(args...)
	var aOut bytes.Buffer
	a.Stdout, a.Stderr = &aOut, &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	w.WaitPaused(t, time.Minute)

	b := startWaiting(t, "waiting for another backup-snapshot of app", args...)
	w.Continue(t)
	if err := a.Wait(); err != nil {
		t.Fatalf("first create: %v\n%s", err, aOut.String())
	}
	bOut, bStderr, err := b.wait()
	if err != nil {
		t.Fatalf("second create: %v\n%s%s", err, bOut, bStderr)
	}
	for _, out := range []string{aOut.String(), bOut} {
		if !strings.Contains(out, "mounted read-only at") {
			t.Errorf("create output %q", out)
		}
	}
	clone := ds + backupsnap.CloneSuffix
	if src, _ := zfs.MountSource(filepath.Join(runDir, "app")); src != clone {
		t.Fatalf("after both creates, %q is mounted at the run dir, want %s", src, clone)
	}
	if got, _ := os.ReadFile(filepath.Join(runDir, "app", "f")); string(got) != "snap" {
		t.Errorf("clone content %q", got)
	}
	checkSerialised(t, w, a, b.cmd)
	if code, _, stderr := runHelper(t, "backup-snapshot", "release", "--manifest", mf, "--service", "app", "--run-dir", runDir, "--lock-dir", lockDir); code != exitOK {
		t.Fatalf("release: exit %d: %s", code, stderr)
	}
}
