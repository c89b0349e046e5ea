package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/preseed"
)

func preseedCommand() *cli.Command {
	hostname, _ := os.Hostname()
	return &cli.Command{
		Name:  "preseed",
		Usage: "restore a service's data before it first starts, unless it is already there",
		Description: "Exit codes: 0 data in place (restored, skipped, adopted, or start-empty);\n" +
			"1 no method restored and on_failure is block; 2 usage; 3 bad manifest;\n" +
			"4 refused: a mountpoint ancestor another user could change (a symlink, or\n" +
			"owned or writable by a non-root user), pool not ONLINE, dataset missing or not\n" +
			"mounted, lock held.",
		Flags: []cli.Flag{
			manifestFlag(),
			&cli.StringFlag{Name: "service", Usage: "the service to preseed"},
			&cli.StringFlag{Name: "hostname", Value: hostname, Usage: "host name of the restic snapshots to restore (restic --host)"},
			&cli.StringFlag{Name: "lock-dir", Value: preseed.DefaultLockDir, EnvVars: []string{"NIXGEN_LOCK_DIR"}, Usage: "directory of the per-service lock files"},
			&cli.DurationFlag{Name: "lock-timeout", Value: defaultLockTimeout, Usage: "how long to wait for a concurrent preseed of the same service (0: refuse at once)"},
			&cli.StringFlag{Name: "textfile-dir", Value: metrics.DefaultTextfileDir, EnvVars: []string{"NIXGEN_TEXTFILE_DIR"}, Usage: "node-exporter textfile directory for nixgen_preseed_* metrics (\"\" for none)"},
			&cli.StringFlag{Name: "restic", Value: "restic", EnvVars: []string{"NIXGEN_RESTIC"}, Usage: "restic program to run"},
			&cli.StringFlag{Name: "pgbackrest", Value: "pgbackrest", EnvVars: []string{"NIXGEN_PGBACKREST"}, Usage: "pgbackrest program to run"},
			&cli.StringFlag{Name: "syncoid", Value: "syncoid", EnvVars: []string{"NIXGEN_SYNCOID"}, Usage: "syncoid program to run"},
			&cli.StringFlag{Name: "ssh", Value: "ssh", EnvVars: []string{"NIXGEN_SSH"}, Usage: "ssh program (checks a remote replica)"},
			&cli.StringSliceFlag{Name: "ssh-option", Usage: "`Name=value` passed as ssh -o and syncoid --sshoption when reaching a remote replica, before nixgen's ConnectTimeout/ServerAlive defaults (repeatable)"},
			&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "after a method's timeout, time between SIGTERM and SIGKILL"},
		},
		Action: preseedRun,
		Subcommands: []*cli.Command{{
			Name:  "status",
			Usage: "show, per service, its dataset, whether it is mounted and complete, and the last outcome",
			Flags: []cli.Flag{
				manifestFlag(),
				&cli.BoolFlag{Name: "json", Usage: "print JSON for tools instead of a table"},
			},
			Action: preseedStatus,
		}},
	}
}

func preseedRun(c *cli.Context) error {
	if c.Args().Present() {
		return withCode(exitUsage, fmt.Errorf("unknown command %q (see %s --help)", c.Args().First(), helpName(c)))
	}
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	svc, err := requireFlag(c, "service")
	if err != nil {
		return err
	}
	if s := m.Service(svc); s == nil {
		return withCode(exitManifest, fmt.Errorf("service %q is not in the manifest", svc))
	} else if s.Preseed == nil {
		return withCode(exitManifest, fmt.Errorf("preseed: service %q declares no preseed block", svc))
	}
	sshOpts := c.StringSlice("ssh-option")
	for _, o := range sshOpts {
		if err := preseed.CheckSSHOption(o); err != nil {
			return withCode(exitUsage, err)
		}
	}
	z := runner(c)
	z.Grace = c.Duration("grace")
	_, err = preseed.Run(c.Context, preseed.Options{
		Manifest:    m,
		Service:     svc,
		Hostname:    c.String("hostname"),
		LockDir:     c.String("lock-dir"),
		LockWait:    c.Duration("lock-timeout"),
		TextfileDir: c.String("textfile-dir"),
		ZFS:         z,
		Restic:      c.String("restic"),
		PgBackRest:  c.String("pgbackrest"),
		Syncoid:     c.String("syncoid"),
		SSH:         c.String("ssh"),
		SSHOptions:  sshOpts,
		Grace:       c.Duration("grace"),
		Log:         slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil)),
	})
	var re *preseed.RefusedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return withCode(exitRefused, err)
	default:
		return withCode(exitFailed, err)
	}
}

func preseedStatus(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	sts, err := preseed.ReadStatus(c.Context, runner(c), m)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if c.Bool("json") {
		return writeJSON(c, sts)
	}
	return preseed.WriteStatusTable(c.App.Writer, sts)
}
