package main

import (
	"bufio"
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
	p := zfstest.NewPool(t)
	m := poolManifest(p, "app")
	ds := m.Services[0].Dataset
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+m.Services[0].Mountpoint, ds)
	if err := os.WriteFile(filepath.Join(m.Services[0].Mountpoint, "f"), []byte("snap"), 0o644); err != nil {
		t.Fatal(err)
	}
	mf := writeManifest(t, m)
	runDir, lockDir := p.Path("run"), filepath.Join(p.Dir, "lock")
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

	b := helperCmd(args...)
	var bOut, bStderr bytes.Buffer
	b.Stdout = &bOut
	bErr, err := b.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(bErr)
		for sc.Scan() {
			bStderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "waiting for another backup-snapshot of app") {
				waiting <- struct{}{}
			}
		}
		close(waiting)
	}()
	select {
	case _, ok := <-waiting:
		if !ok {
			b.Wait()
			t.Fatalf("second create ran without waiting for the lock:\n%s%s", bOut.String(), bStderr.String())
		}
	case <-time.After(time.Minute): // guard against a hang only
		t.Fatal("second create never waited for the lock")
	}
	w.Continue(t)
	if err := a.Wait(); err != nil {
		t.Fatalf("first create: %v\n%s", err, aOut.String())
	}
	for range waiting {
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("second create: %v\n%s%s", err, bOut.String(), bStderr.String())
	}
	for _, out := range []string{aOut.String(), bOut.String()} {
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
	// The second create's calls all came after the first's.
	lastA, firstB := -1, -1
	for i, c := range w.Calls(t) {
		switch c.PPID {
		case a.Process.Pid:
			lastA = i
		case b.Process.Pid:
			if firstB < 0 {
				firstB = i
			}
		}
	}
	if lastA < 0 || firstB < 0 || firstB < lastA {
		t.Errorf("calls interleaved (last of first create at %d, first of second at %d)", lastA, firstB)
	}
	if code, _, stderr := runHelper(t, "backup-snapshot", "release", "--manifest", mf, "--service", "app", "--run-dir", runDir, "--lock-dir", lockDir); code != exitOK {
		t.Fatalf("release: exit %d: %s", code, stderr)
	}
}
