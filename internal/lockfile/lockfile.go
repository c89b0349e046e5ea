// Package lockfile serialises helper runs with flock(2) on a file. The
// kernel drops the lock when its holder dies, so a killed run never leaves a
// stale lock behind; the holder's pid is written into the file only so that
// a waiting run can say whom it waits for.
package lockfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// pollEvery is how often a waiting Acquire retries.
const pollEvery = 100 * time.Millisecond

// Acquire takes an exclusive lock on path, creating the file and its
// directory when needed, and waits until it is free or ctx is done. If the
// lock is busy, waiting (when non-nil) is called once with the pid recorded
// by the holder ("" if unknown).
func Acquire(ctx context.Context, path string, waiting func(holder string)) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	// A symlink planted under the lock's name is refused, never followed.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	// The pid is written into the file: a hard link planted under the
	// lock's name (to /etc/shadow, say) would be truncated through. Only a
	// regular file with one name, owned by this user, is a lock file.
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("lock %s: not a lock file of this user (a link, another user's file or not a regular file): refusing to use it", path)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			b, _ := os.ReadFile(path)
			waiting(strings.TrimSpace(string(b)))
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: still held by another run: %w", path, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
	// Best effort: the pid is informational only.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. The file stays: removing it would race with a
// run that has opened it and is about to lock it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
