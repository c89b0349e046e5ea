package main

import (
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/pitr"
)

func pitrCommand() *cli.Command {
	return &cli.Command{
		Name:  "pitr",
		Usage: "point-in-time recovery of a PostgreSQL service from its pgBackRest stanza",
		Subcommands: []*cli.Command{{
			Name:  "restore",
			Usage: "restore the service's data directory to --target-time (PostgreSQL must be stopped)",
			Description: "Without --yes it prints the plan and changes nothing. With --yes it takes the ZFS snapshot\n" +
				"<dataset>@nixgen-pitr-<UTC time> (never destroyed by nixgen), then runs pgbackrest restore --delta\n" +
				"--type=time --target-action=promote as the service's user. Exit codes: 0 done (or planned);\n" +
				"1 the snapshot or the restore failed; 2 usage; 3 bad manifest or a service without pitr;\n" +
				"4 refused: PostgreSQL is running.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "manifest", Usage: "manifest.json written by nixgen render"},
				&cli.StringFlag{Name: "service", Usage: "the PostgreSQL service"},
				&cli.StringFlag{Name: "target-time", Usage: "restore to this moment: \"YYYY-MM-DD HH:MM:SS+HH\""},
				&cli.BoolFlag{Name: "yes", Usage: "do it (without: print the plan only)"},
				&cli.StringFlag{Name: "pgbackrest", Value: "pgbackrest", EnvVars: []string{"NIXGEN_PGBACKREST"}, Usage: "pgbackrest program to run"},
				&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "after SIGTERM, time before pgbackrest is killed"},
			},
			Action: pitrRestore,
		}},
	}
}

func pitrRestore(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	svc, err := requireFlag(c, "service")
	if err != nil {
		return err
	}
	target, err := requireFlag(c, "target-time")
	if err != nil {
		return err
	}
	if s := m.Service(svc); s == nil || s.PostgreSQL == nil || s.PostgreSQL.PITR == nil {
		return withCode(exitManifest, errors.New("service "+svc+" is not in the manifest or has no postgresql.pitr block"))
	}
	err = pitr.Restore(c.Context, pitr.Options{
		Manifest: m, Service: svc, TargetTime: target, Yes: c.Bool("yes"),
		PgBackRest: c.String("pgbackrest"), ZFS: runner(c), Grace: c.Duration("grace"), Out: c.App.Writer,
	})
	var refused *pitr.RefusedError
	if errors.As(err, &refused) {
		return withCode(exitRefused, err)
	}
	return withCode(exitFailed, err)
}
