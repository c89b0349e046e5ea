// Command nixgen validates HCL service specs and renders the NixOS modules
// that give every service its dataset, backups, snapshots and preseed unit.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Exit codes are part of the contract (docs/cli.md).
const (
	exitOK      = 0
	exitInvalid = 1 // the specs (or an HCL file given to fmt) have errors
	exitUsage   = 2 // unknown command or flag, bad flag value
	exitStale   = 3 // check or fmt --check found files that differ
	exitIO      = 4 // reading or writing files failed
)

func main() {
	// nixgen is a short batch run whose heap is mostly the parsed specs,
	// alive until it exits: at the default GOGC=100 the collector re-marked
	// them over and over, about a fifth of `validate` and `render` at
	// 10,000 services. 400 trades memory for that time (peak RSS at 10,000
	// services at most 280 -> 550 MB, at 1,000 43 -> 88 MB;
	// docs/benchmarks.md); a GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit code out of a command; its message, if any, has
// not been printed yet.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitf(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "nixgen:", ee.msg)
		}
		return ee.code
	}
	// Anything else comes from flag parsing inside urfave/cli.
	fmt.Fprintln(stderr, "nixgen:", err)
	return exitUsage
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "nixgen",
		Usage: "render NixOS modules for ZFS-backed, backed-up, preseeded services from HCL specs",
		Description: "Exit codes: 0 success, 1 invalid specs, 2 usage error, " +
			"3 stale generated tree or unformatted files, 4 I/O error.",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// urfave/cli would call os.Exit itself; run decides the code instead.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return exitf(exitUsage, "%v", err)
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return exitf(exitUsage, "unknown command %q (see nixgen --help)", c.Args().First())
			}
			cli.ShowAppHelp(c)
			return exitf(exitUsage, "")
		},
		Commands: []*cli.Command{renderCommand(), checkCommand(), validateCommand(), fmtCommand(), docsCommand()},
	}
}
