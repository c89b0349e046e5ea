package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runUntilPid runs c, cancels it once the script has written its child's
// pid to pidFile, and returns Run's error and that pid. No timing
// assumption: the cancel waits for the child to exist.
func runUntilPid(t *testing.T, c Cmd, pidFile string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.Run(ctx); done <- err }()
	pid := 0
	for pid == 0 {
		select {
		case err := <-done:
			t.Fatalf("exited before the child was started: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		b, _ := os.ReadFile(pidFile)
		if strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	cancel()
	return pid, <-done
}

// gone waits until pid has exited, as far as the test is willing to wait.
func gone(pid int) bool {
	for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	return syscall.Kill(pid, 0) != nil
}

// The shell ignores SIGTERM, so only the SIGKILL after the grace ends it;
// its background child goes with the group.
func TestCancelKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	c := Cmd{Argv: []string{"sh", "-c", "trap '' TERM; sleep 30 & echo $! >" + pidFile + "; wait"}, Grace: 200 * time.Millisecond}
	pid, err := runUntilPid(t, c, pidFile)
	var e *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.ExitCode != -1 {
		t.Fatalf("err = %v, want a canceled *Error with exit code -1", err)
	}
	if !gone(pid) {
		t.Errorf("child %d outlived its group's cancel", pid)
	}
}

// A child that left the leader's pipes and ignores SIGTERM still gets the
// SIGKILL after the grace, though the leader exits at once.
func TestCancelKillsADetachedGrandchild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	script := "(trap '' TERM; exec sleep 30) </dev/null >/dev/null 2>&1 & echo $! >" + pidFile + "; wait"
	pid, err := runUntilPid(t, Cmd{Argv: []string{"sh", "-c", script}, Grace: 300 * time.Millisecond}, pidFile)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if !gone(pid) {
		t.Errorf("grandchild %d still running after the cancel and grace", pid)
	}
}

// A leader that exits while a child keeps its stdout open returns after
// the grace instead of waiting for the child.
func TestOrphanHoldingOutputIsNotWaitedFor(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	c := Cmd{Argv: []string{"sh", "-c", "sleep 30 & echo $! >" + pidFile + "; echo done"}, Grace: 300 * time.Millisecond}
	done := make(chan error, 1)
	go func() { _, err := c.Run(context.Background()); done <- err }()
	t.Cleanup(func() {
		b, _ := os.ReadFile(pidFile)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run waited for an orphan that holds its output")
	}
}

// The error names the command, its exit code, and quotes the end of stderr,
// redacted where asked.
func TestErrorQuotesRedactedStderr(t *testing.T) {
	c := Cmd{Argv: []string{"sh", "-c", `echo "open $U failed" >&2; exit 4`}, Env: []string{"U=rest:https://u:s3cret@host/"},
		Redact: func(s string) string { return strings.ReplaceAll(s, "s3cret", "xxxxx") }}
	_, err := c.Run(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.ExitCode != 4 {
		t.Fatalf("err = %v, want *Error with exit code 4", err)
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, `"open rest:https://u:xxxxx@host/ failed"`) || !strings.HasPrefix(msg, "sh -c") {
		t.Errorf("message %q", msg)
	}
	long := Cmd{Argv: []string{"sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a >&2; echo END >&2; exit 1"}}
	_, err = long.Run(context.Background())
	if !errors.As(err, &e) || len(e.Stderr) > stderrKeep+len("…") || !strings.HasSuffix(e.Stderr, "END") {
		t.Errorf("stderr excerpt of %d bytes, ends %q", len(e.Stderr), e.Stderr[max(0, len(e.Stderr)-5):])
	}
}
