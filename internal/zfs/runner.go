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
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for a zero Runner.
const (
	DefaultTimeout = 10 * time.Minute
	DefaultGrace   = 10 * time.Second
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

// Error is a failed zfs or zpool call.
type Error struct {
	Argv     []string
	ExitCode int    // -1 when the process did not exit normally
	Stderr   string // trimmed; at most the last 4 KiB
	Stdout   []byte // what was printed before the failure
	Err      error  // the underlying exec error (or context error on timeout)
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	if e.Stderr != "" {
		msg += fmt.Sprintf(": %q", e.Stderr)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

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

const stderrKeep = 4096

func (r *Runner) run(ctx context.Context, bin string, args []string) ([]byte, error) {
	timeout, grace := r.Timeout, r.Grace
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	argv := append([]string{bin}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	// Give the program a chance to finish its transaction cleanly; Go sends
	// SIGKILL once WaitDelay has passed after the context is done.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = grace
	// Error messages are matched (NotExist), so pin the language.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	if r.Trace != nil {
		r.Trace(argv)
	}
	if err := cmd.Start(); err != nil {
		return nil, &Error{Argv: argv, ExitCode: -1, Err: err}
	}
	r.started.Add(1)
	err := cmd.Wait()
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &Error{Argv: argv, ExitCode: -1, Err: err, Stderr: tail(stderr.Bytes()), Stdout: stdout.Bytes()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		e.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	// What was printed still goes back: a listing of several names prints
	// those that exist even when another does not.
	return stdout.Bytes(), e
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > stderrKeep {
		s = "…" + s[len(s)-stderrKeep:]
	}
	return s
}
