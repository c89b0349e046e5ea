package preseed

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

// ExecError is a failed restic or syncoid call.
type ExecError struct {
	Argv     []string
	ExitCode int // -1 when the process did not exit normally
	Stderr   string
	Err      error
}

func (e *ExecError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	if e.Stderr != "" {
		msg += fmt.Sprintf(": %q", e.Stderr)
	}
	return msg
}

func (e *ExecError) Unwrap() error { return e.Err }

// command is one restic/syncoid invocation. zfs and zpool go through
// internal/zfs; these differ in needing an environment (restic secrets) and
// in spawning children of their own (syncoid pipes zfs send into zfs
// receive), so they run in their own process group and the whole group gets
// SIGTERM, then SIGKILL after the grace period.
type command struct {
	argv   []string
	env    []string // full environment; nil inherits
	stdout io.Writer
	grace  time.Duration
}

const stderrKeep = 4096

// run starts the command and waits; ctx carries the method's timeout.
func (c command) run(ctx context.Context) ([]byte, error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = c.env
	// Setpgid so the timeout reaches syncoid's pipeline; Pdeathsig so a
	// killed helper does not leave restic writing into a staging directory
	// that the next run is about to remove.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, &ExecError{Argv: c.argv, ExitCode: -1, Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		grace := c.grace
		if grace <= 0 {
			grace = 10 * time.Second
		}
		err = stopGroup(cmd.Process.Pid, grace, done)
		// Whatever it exited with, the cause is the timeout.
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &ExecError{Argv: c.argv, ExitCode: -1, Err: err, Stderr: tail(stderr.Bytes())}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e.ExitCode = ee.ExitCode()
	}
	return nil, e
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
