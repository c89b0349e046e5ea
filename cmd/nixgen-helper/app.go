package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Exit codes (documented in docs/helper-datasets.md).
const (
	exitOK       = 0
	exitFailed   = 1 // a zfs call or a check after the change failed
	exitUsage    = 2 // bad command line
	exitManifest = 3 // manifest unreadable or invalid; nothing was run
	exitRefused  = 4 // a precondition failed; nothing was changed
)

// commands lists the subcommands; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		datasetsCommand(),
		preseedCommand(),
		backupSnapshotCommand(),
		notifyCommand(),
		restoreTestCommand(),
		pitrCommand(),
		metricsCommand(),
		replicationCommand(),
	}
}

// run is main without the os.Exit, so tests can call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:      "nixgen-helper",
		Usage:     "host-side work for nixgen: datasets, preseed restores, backup snapshots, restore drills and job reports",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "zfs", Value: "zfs", EnvVars: []string{"NIXGEN_ZFS"}, Usage: "zfs program to run"},
			&cli.StringFlag{Name: "zpool", Value: "zpool", EnvVars: []string{"NIXGEN_ZPOOL"}, Usage: "zpool program to run"},
			&cli.DurationFlag{Name: "zfs-timeout", Value: zfs.DefaultTimeout, Usage: "limit for each zfs/zpool call"},
		},
		Commands:    commands(),
		HideVersion: true,
		// A value of a repeatable flag is one value: --ssh-option Ciphers=a,b
		// must not become two options.
		DisableSliceFlagSeparator: true,
		OnUsageError:              usageError,
		ExitErrHandler:            func(*cli.Context, error) {}, // run reports errors itself
		Action:                    noCommand,
	}
	for _, c := range app.Commands {
		setUsageError(c)
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "nixgen-helper: %v\n", err)
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitFailed
}

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageError(c *cli.Context, err error, _ bool) error {
	return withCode(exitUsage, fmt.Errorf("%w (see %s --help)", err, helpName(c)))
}

func helpName(c *cli.Context) string {
	if c.Command != nil && c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return c.App.Name
}

// noCommand is the action of the app and of command groups: without a
// known subcommand it is a usage error, never a silent success.
func noCommand(c *cli.Context) error {
	if c.Args().Present() {
		return withCode(exitUsage, fmt.Errorf("unknown command %q (see %s --help)", c.Args().First(), helpName(c)))
	}
	_ = cli.ShowSubcommandHelp(c)
	return withCode(exitUsage, fmt.Errorf("%s: a command is required", helpName(c)))
}

func setUsageError(c *cli.Command) {
	c.OnUsageError = usageError
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = noCommand
	}
	for _, s := range c.Subcommands {
		setUsageError(s)
	}
}

// runner is the zfs runner configured by the global flags.
func runner(c *cli.Context) *zfs.Runner {
	return &zfs.Runner{ZFS: c.String("zfs"), ZPool: c.String("zpool"), Timeout: c.Duration("zfs-timeout")}
}

// requireFlag returns a usage error when a string flag is empty.
// manifestFlag is every command's --manifest: the host's manifest.json,
// by default where the generated datasets.nix installs it.
func manifestFlag() cli.Flag {
	return &cli.StringFlag{Name: "manifest", Value: hostfacts.ManifestPath, Usage: "manifest.json written by nixgen render"}
}

func requireFlag(c *cli.Context, name string) (string, error) {
	v := c.String(name)
	if v == "" {
		return "", withCode(exitUsage, fmt.Errorf("%s: --%s is required", helpName(c), name))
	}
	return v, nil
}

// defaultLockTimeout bounds the wait for another run's lock; the generated
// units' time limits leave room for it.
const defaultLockTimeout = hostfacts.LockWait

func contextWithTimeout(c *cli.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(c.Context)
	}
	return context.WithTimeout(c.Context, d)
}
