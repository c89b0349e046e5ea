// Package proc runs the external programs of nixgen-helper: zfs and zpool,
// restic, syncoid. Every call goes through Cmd.Run, so every program gets
// the same treatment: an argument vector (never a shell line), its own
// process group, SIGTERM to the whole group when the context ends and
// SIGKILL after a grace period, a bounded wait for children that outlive
// the leader, SIGKILL when the helper itself dies, and one error type that
// quotes (and, where asked, redacts) the end of stderr.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultGrace is the time between SIGTERM and SIGKILL when Grace is 0.
const DefaultGrace = 10 * time.Second

// stderrKeep is how much of stderr an Error quotes: its end, where the
// reason usually is.
const stderrKeep = 4096

// Cmd is one run of a program.
type Cmd struct {
	Argv   []string
	Env    []string  // the whole environment; nil inherits the helper's
	Stdout io.Writer // nil: Run returns standard output
	// Grace is the time between SIGTERM and SIGKILL once ctx is done
	// (0: DefaultGrace). It also bounds the wait, after the leader exits,
	// for children that still hold its output open.
	Grace time.Duration
	// Redact, when set, rewrites the stderr excerpt of an Error (to hide a
	// repository URL's secret, say).
	Redact func(string) string
	// Started, when set, is called with Argv just before the start.
	Started func(argv []string)
}

// Error is a failed run.
type Error struct {
	Argv []string
	// ExitCode is the program's exit status; -1 when it did not exit on
	// its own (not started, killed by a signal or on the timeout).
	ExitCode int
	Stderr   string // trimmed, at most the last 4 KiB, redacted
	Stdout   []byte // what was printed before the failure (nil with Cmd.Stdout set)
	Err      error  // the exec error, or the context's error on the timeout
	// Hint explains ExitCode where a program gives it a meaning (restic's
	// 3: incomplete).
	Hint string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	if e.Hint != "" {
		msg += fmt.Sprintf(" (exit code %d: %s)", e.ExitCode, e.Hint)
	}
	if e.Stderr != "" {
		msg += fmt.Sprintf(": %q", e.Stderr)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Run starts the program and waits for it; ctx carries its time limit.
func (c Cmd) Run(ctx context.Context) ([]byte, error) {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	// Setpgid so the timeout reaches the program's own children (syncoid's
	// zfs send | zfs receive, restic's rclone or ssh); Pdeathsig so a killed
	// helper leaves nothing running behind it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	grace := c.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	cmd.WaitDelay = grace
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stderr = &stderr
	if c.Started != nil {
		c.Started(c.Argv)
	}
	if err := cmd.Start(); err != nil {
		return nil, &Error{Argv: c.Argv, ExitCode: -1, Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	timedOut := false
	select {
	case err = <-done:
	case <-ctx.Done():
		timedOut = true
		err = stopGroup(cmd.Process.Pid, grace, done)
		// Whatever it exited with, the cause is the context.
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &Error{Argv: c.Argv, ExitCode: -1, Err: err, Stderr: tail(stderr.Bytes()), Stdout: stdout.Bytes()}
	if c.Redact != nil {
		e.Stderr = c.Redact(e.Stderr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && !timedOut {
		e.ExitCode = ee.ExitCode()
	}
	// What was printed still goes back: a zfs listing of several names
	// prints those that exist even when another does not.
	return stdout.Bytes(), e
}

// stopGroup sends SIGTERM to the process group led by pgid and SIGKILL to
// whatever is left of the group after grace: the leader may exit at once
// while a child that ignores SIGTERM, and no longer shares its output
// pipes, lives on. done delivers the leader's Wait result.
func stopGroup(pgid int, grace time.Duration, done <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.After(grace)
	var err error
	select {
	case err = <-done:
	case <-deadline:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return <-done
	}
	// The group id stays reserved while any member lives, so this signals
	// no stranger.
	for syscall.Kill(-pgid, 0) == nil {
		select {
		case <-deadline:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	return err
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > stderrKeep {
		s = "…" + s[len(s)-stderrKeep:]
	}
	return s
}
