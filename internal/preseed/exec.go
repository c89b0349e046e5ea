package preseed

import (
	"context"
	"io"
	"time"

	"github.com/nixgen/nixgen/internal/proc"
)

// ExecError is a failed restic or syncoid call (the helper's one error type).
type ExecError = proc.Error

// command is one restic/syncoid invocation, run by internal/proc like every
// program the helper starts: in its own process group, which gets SIGTERM on
// the method's timeout and SIGKILL after the grace period.
type command struct {
	argv   []string
	env    []string // full environment; nil inherits
	stdout io.Writer
	grace  time.Duration
}

// run starts the command and waits; ctx carries the method's timeout.
func (c command) run(ctx context.Context) ([]byte, error) {
	return proc.Cmd{Argv: c.argv, Env: c.env, Stdout: c.stdout, Grace: c.grace}.Run(ctx)
}
