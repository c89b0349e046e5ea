package preseed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/safefs"
)

// DefaultLockDir holds one lock file per service while its preseed runs.
const DefaultLockDir = hostfacts.RunDir

// ErrLocked is returned when another live preseed holds the service's lock
// and waiting was not allowed (or timed out).
var ErrLocked = errors.New("another preseed for this service is running")

// lock is a pid file: <dir>/preseed-<service>.lock holding the owner's pid
// and, on a second line, its start time (clock ticks after boot, from
// /proc/<pid>/stat): a pid alone may meanwhile belong to another process.
type lock struct{ path string }

// owner is what a lock file says about its holder.
type owner struct {
	pid   int
	start uint64 // 0: not recorded
	raw   string // the file's content, to recognise the same lock later
}

// acquireLock takes the service's lock. A lock whose pid no longer exists in
// /proc, or exists with another start time (the pid was reused), is stale
// (the owner was killed) and is taken over. A live owner is
// waited for, polling, up to wait (0: refuse at once).
func acquireLock(ctx context.Context, dir, service string, wait time.Duration) (*lock, error) {
	// The name comes from the manifest: it must not lead out of dir.
	if err := safefs.CheckName(service); err != nil {
		return nil, fmt.Errorf("lock: service name: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	l := &lock{path: filepath.Join(dir, "preseed-"+service+".lock")}
	deadline := time.Now().Add(wait)
	for {
		o, err := l.tryCreate()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", l.path, err)
		}
		if o.pid > 0 && !ownerAlive(o) {
			if err := l.takeOverStale(o); err != nil {
				return nil, err
			}
			continue
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w (lock %s held by pid %d)", ErrLocked, l.path, o.pid)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (lock %s held by pid %d): %v", ErrLocked, l.path, o.pid, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tryCreate publishes a complete pid file atomically: written under a
// temporary name, then hard-linked to the lock name, which fails when the
// lock exists — so nobody ever reads a lock without its pid. On failure it
// returns the current owner (pid 0 if unreadable).
func (l *lock) tryCreate() (owner, error) {
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".lock-")
	if err != nil {
		return owner{}, err
	}
	defer os.Remove(tmp.Name())
	start, _ := procStart(os.Getpid())
	_, werr := fmt.Fprintf(tmp, "%d\n%d\n", os.Getpid(), start)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return owner{}, werr
	}
	if err := os.Link(tmp.Name(), l.path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readOwner(l.path), os.ErrExist
		}
		return owner{}, err
	}
	return owner{}, nil
}

// takeOverStale removes the lock if it still names the dead owner. Two
// processes may find the same stale lock; the removal is serialised with a
// short flock on a side file and re-checks the pid, so a lock that a third
// process has meanwhile taken is never removed.
func (l *lock) takeOverStale(dead owner) error {
	f, err := os.OpenFile(l.path+".takeover", os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if readOwner(l.path).raw == dead.raw {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lock: removing stale lock of pid %d: %w", dead.pid, err)
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

func readPid(path string) int { return readOwner(path).pid }

// readOwner parses a lock file: the pid, then (optionally) the start time.
func readOwner(path string) owner {
	// A symlink under the lock's name is nobody's lock (and is not read).
	file, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return owner{}
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, 4096))
	if err != nil {
		return owner{}
	}
	o := owner{raw: string(b)}
	f := strings.Fields(o.raw)
	if len(f) == 0 {
		return o
	}
	if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
		o.pid = pid
	}
	if len(f) > 1 {
		o.start, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return o
}

// pidAlive checks /proc/<pid>: the helper runs on Linux, and /proc needs no
// permission that kill(pid, 0) might lack. A zombie counts as gone.
func pidAlive(pid int) bool {
	st, exists := procStat(pid)
	return exists && (st == nil || st[0] != "Z")
}

// ownerAlive is pidAlive, and when the lock recorded the owner's start time,
// the process with that pid must have started then.
func ownerAlive(o owner) bool {
	if !pidAlive(o.pid) {
		return false
	}
	if o.start == 0 {
		return true
	}
	start, ok := procStart(o.pid)
	return !ok || start == o.start
}

// procStart returns the start time of pid (field 22 of /proc/<pid>/stat).
func procStart(pid int) (uint64, bool) {
	st, _ := procStat(pid)
	if len(st) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(st[19], 10, 64)
	return n, err == nil
}

// procStat returns the fields of /proc/<pid>/stat that follow the
// parenthesised command name (which may contain spaces): the state first.
// exists is false when there is no such process; the fields are nil when
// the file cannot be parsed.
func procStat(pid int) (fields []string, exists bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, true
	}
	f := strings.Fields(s[i+1:])
	if len(f) == 0 {
		return nil, true
	}
	return f, true
}
