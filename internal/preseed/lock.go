package preseed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/lockfile"
	"github.com/nixgen/nixgen/internal/safefs"
)

// DefaultLockDir holds one lock file per service while its preseed runs.
const DefaultLockDir = hostfacts.RunDir

// ErrLocked is returned when another live preseed holds the service's lock
// and waiting was not allowed (or timed out).
var ErrLocked = errors.New("another preseed for this service is running")

// lock is the service's preseed lock, <dir>/preseed-<service>.lock, held
// with internal/lockfile like every other lock of the helper: the kernel
// drops it when its holder dies, so a killed preseed leaves no stale lock
// and a reused pid can never look like a live owner.
type lock struct {
	*lockfile.Lock
	path string
}

// acquireLock takes the service's lock, waiting up to wait for a live
// holder (0: refuse at once).
func acquireLock(ctx context.Context, dir, service string, wait time.Duration) (*lock, error) {
	// The name comes from the manifest: it must not lead out of dir.
	if err := safefs.CheckName(service); err != nil {
		return nil, fmt.Errorf("lock: service name: %w", err)
	}
	path := filepath.Join(dir, "preseed-"+service+".lock")
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	holder := "unknown"
	l, err := lockfile.Acquire(wctx, path, func(h string) {
		if h != "" {
			holder = h
		}
	})
	if err != nil {
		if wctx.Err() != nil {
			return nil, fmt.Errorf("%w (lock %s held by pid %s)", ErrLocked, path, holder)
		}
		return nil, err
	}
	return &lock{Lock: l, path: path}, nil
}

// release drops the lock.
func (l *lock) release() error { return l.Release() }
