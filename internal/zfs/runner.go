// Package zfs runs the zfs and zpool programs for nixgen-helper. Every call
// goes through one Runner: an argument vector (never a shell line), a context
// with a per-call timeout, SIGTERM first and SIGKILL after a grace period,
// and a Go error that quotes the program's stderr. The typed helpers parse
// the machine-readable `-H -p` output so callers never split text themselves.
//
// State is meant to be read in bulk (Runner.GetTree reads a whole subtree in
// one process) and acted on only where it differs from what is wanted.
package zfs

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nixgen/nixgen/internal/proc"
)

// Defaults for a zero Runner.
const (
	DefaultTimeout = 10 * time.Minute
	DefaultGrace   = proc.DefaultGrace
)

// Runner starts zfs and zpool. The zero value is ready to use and runs the
// programs found on PATH. A Runner is safe for concurrent use.
type Runner struct {
	// ZFS and ZPool are the programs to run ("" means "zfs" and "zpool" on
	// PATH). Tests put a wrapper in front of the real binaries here.
	ZFS, ZPool string
	// Timeout bounds each call (0: DefaultTimeout). On expiry the process
	// gets SIGTERM, then SIGKILL after Grace (0: DefaultGrace).
	Timeout, Grace time.Duration
	// Trace, when set, is called with the argument vector of every process
	// just before it starts (argv[0] is the program as configured).
	Trace func(argv []string)

	started atomic.Int64

	// noTypeFilter is set once `zfs get -t` was refused (zfs-fuse and other
	// old implementations); GetTree then filters snapshots itself.
	noTypeFilter atomic.Bool
	// noPoolListP: `zpool list -p` was refused (zfs-fuse); Pools reads
	// rounded sizes then.
	noPoolListP atomic.Bool
}

// Started is the number of processes this Runner has started.
func (r *Runner) Started() int64 { return r.started.Load() }

func (r *Runner) zfsBin() string {
	if r.ZFS != "" {
		return r.ZFS
	}
	return "zfs"
}

func (r *Runner) zpoolBin() string {
	if r.ZPool != "" {
		return r.ZPool
	}
	return "zpool"
}

// Error is a failed zfs or zpool call: the helper's one error type for
// every program it runs.
type Error = proc.Error

// NotExist reports whether err is a zfs/zpool error saying that the dataset
// or pool named in the call does not exist.
func NotExist(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return strings.Contains(e.Stderr, "does not exist") || strings.Contains(e.Stderr, "no such pool")
}

// ZFSCmd runs `zfs args...` and returns its standard output.
func (r *Runner) ZFSCmd(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, r.zfsBin(), args)
}

// ZPoolCmd runs `zpool args...` and returns its standard output.
func (r *Runner) ZPoolCmd(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, r.zpoolBin(), args)
}

func (r *Runner) run(ctx context.Context, bin string, args []string) ([]byte, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Error messages are matched (NotExist), so the language is pinned.
	c := proc.Cmd{Argv: append([]string{bin}, args...), Env: append(os.Environ(), "LC_ALL=C"), Grace: r.Grace,
		Started: func(argv []string) {
			r.started.Add(1)
			if r.Trace != nil {
				r.Trace(argv)
			}
		}}
	return c.Run(ctx)
}
