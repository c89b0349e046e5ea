package preseed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultLockDir holds one lock file per service while its preseed runs.
const DefaultLockDir = "/run/nixgen"

// ErrLocked is returned when another live preseed holds the service's lock
// and waiting was not allowed (or timed out).
var ErrLocked = errors.New("another preseed for this service is running")

// lock is a pid file: <dir>/preseed-<service>.lock holding the owner's pid.
type lock struct{ path string }

// acquireLock takes the service's lock. A lock whose pid no longer exists in
// /proc is stale (the owner was killed) and is taken over. A live owner is
// waited for, polling, up to wait (0: refuse at once).
func acquireLock(ctx context.Context, dir, service string, wait time.Duration) (*lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	l := &lock{path: filepath.Join(dir, "preseed-"+service+".lock")}
	deadline := time.Now().Add(wait)
	for {
		owner, err := l.tryCreate()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", l.path, err)
		}
		if owner > 0 && !pidAlive(owner) {
			if err := l.takeOverStale(owner); err != nil {
				return nil, err
			}
			continue
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w (lock %s held by pid %d)", ErrLocked, l.path, owner)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (lock %s held by pid %d): %v", ErrLocked, l.path, owner, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tryCreate publishes a complete pid file atomically: written under a
// temporary name, then hard-linked to the lock name, which fails when the
// lock exists — so nobody ever reads a lock without its pid. On failure it
// returns the current owner's pid (0 if unreadable).
func (l *lock) tryCreate() (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".lock-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	_, werr := fmt.Fprintf(tmp, "%d\n", os.Getpid())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return 0, werr
	}
	if err := os.Link(tmp.Name(), l.path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readPid(l.path), os.ErrExist
		}
		return 0, err
	}
	return 0, nil
}

// takeOverStale removes the lock if it still names the dead pid. Two
// processes may find the same stale lock; the removal is serialised with a
// short flock on a side file and re-checks the pid, so a lock that a third
// process has meanwhile taken is never removed.
func (l *lock) takeOverStale(dead int) error {
	f, err := os.OpenFile(l.path+".takeover", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if readPid(l.path) == dead {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lock: removing stale lock of pid %d: %w", dead, err)
		}
	}
	return nil
}

// release removes the lock if it is still ours.
func (l *lock) release() error {
	if readPid(l.path) != os.Getpid() {
		return fmt.Errorf("lock %s is no longer ours", l.path)
	}
	return os.Remove(l.path)
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// pidAlive checks /proc/<pid>: the helper runs on Linux, and /proc needs no
// permission that kill(pid, 0) might lack. A zombie counts as gone.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z'
}
