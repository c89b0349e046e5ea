package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/drill"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/pgbackrest"
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
				manifestFlag(),
				&cli.StringFlag{Name: "service", Usage: "the PostgreSQL service"},
				&cli.StringFlag{Name: "target-time", Usage: "restore to this moment: \"YYYY-MM-DD HH:MM:SS+HH\""},
				&cli.BoolFlag{Name: "yes", Usage: "do it (without: print the plan only)"},
				&cli.StringFlag{Name: "pgbackrest", Value: "pgbackrest", EnvVars: []string{"NIXGEN_PGBACKREST"}, Usage: "pgbackrest program to run"},
				&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "after SIGTERM, time before pgbackrest is killed"},
			},
			Action: pitrRestore,
		}, {
			Name:  "drill",
			Usage: "restore drill: restore the stanza's newest backup and its WAL archive into a scratch directory, start PostgreSQL there (unix socket only), query it, remove everything",
			Description: "Exit codes: 0 the drill passed; 1 it failed (no backup, a pgbackrest error, recovery or the\n" +
				"query failed, --timeout reached); 2 usage; 3 bad manifest or a service without pitr.",
			Flags: []cli.Flag{
				manifestFlag(),
				&cli.StringFlag{Name: "service", Usage: "the PostgreSQL service"},
				&cli.StringFlag{Name: "scratch-dir", Value: drill.DefaultScratchDir, Usage: "directory for the temporary cluster (removed afterwards; a killed drill's is removed by the next one)"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON for tools instead of text"},
				&cli.StringFlag{Name: "pgbackrest", Value: "pgbackrest", EnvVars: []string{"NIXGEN_PGBACKREST"}, Usage: "pgbackrest program to run"},
				&cli.StringFlag{Name: "pg-ctl", Value: "pg_ctl", Usage: "pg_ctl of the cluster's major version"},
				&cli.StringFlag{Name: "psql", Value: "psql", Usage: "psql program to run"},
				&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "after SIGTERM, time before a program is killed"},
				&cli.DurationFlag{Name: "timeout", Value: drill.DefaultTimeout, Usage: "limit of the whole drill (0: none)"},
			},
			Action: pitrDrill,
		}, {
			Name:  "metrics",
			Usage: "write the stanza's metrics (newest full/diff/incr backup: time and size; pg_stat_archiver) as a Prometheus textfile",
			Description: "Exit codes: 0 written (without the archive metrics when the server does not answer, with a\n" +
				"warning); 1 the repository did not answer or the file could not be written; 2 usage; 3 bad manifest.",
			Flags: []cli.Flag{
				manifestFlag(),
				&cli.StringFlag{Name: "service", Usage: "the PostgreSQL service"},
				&cli.StringFlag{Name: "textfile-dir", Value: metrics.DefaultTextfileDir, Usage: "node exporter textfile directory"},
				&cli.StringFlag{Name: "pg-socket", Value: "/run/postgresql", Usage: "unix socket directory of the running server"},
				&cli.IntFlag{Name: "pg-port", Value: 5432, Usage: "port of the running server (names its socket)"},
				&cli.StringFlag{Name: "pgbackrest", Value: "pgbackrest", EnvVars: []string{"NIXGEN_PGBACKREST"}, Usage: "pgbackrest program to run"},
				&cli.StringFlag{Name: "psql", Value: "psql", Usage: "psql program to run"},
				&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "limit of the whole run"},
			},
			Action: pitrMetrics,
		}},
	}
}

func pitrDrill(c *cli.Context) error {
	m, st, err := stanzaFor(c)
	if err != nil {
		return err
	}
	ctx, cancel := contextWithTimeout(c, c.Duration("timeout"))
	defer cancel()
	res, err := drill.RunPg(ctx, drill.PgOptions{
		Stanza: st, ScratchDir: c.String("scratch-dir"), PgBackRest: c.String("pgbackrest"),
		PgCtl: c.String("pg-ctl"), Psql: c.String("psql"), Grace: c.Duration("grace"),
		Warn: func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) },
	}, m.Service(st.Name).PostgreSQL.PITR.Repository)
	if c.Bool("json") {
		if jerr := writeJSON(c, res); jerr != nil {
			return jerr
		}
	} else if res.OK() {
		fmt.Fprintf(c.App.Writer, "ok    %s (repository %s): backup %s of %s restored and recovered, %d relations, %s\n",
			res.Service, res.Repository, res.Backup, res.Taken.UTC().Format(time.RFC3339), res.Relations, res.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(c.App.Writer, "FAIL  %s (repository %s): %s\n", res.Service, res.Repository, res.Error)
	}
	return withCode(exitFailed, err)
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
	if _, err := pgbackrest.TargetTime(target); err != nil {
		return withCode(exitUsage, err)
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

func pitrMetrics(c *cli.Context) error {
	_, st, err := stanzaFor(c)
	if err != nil {
		return err
	}
	ctx, cancel := contextWithTimeout(c, c.Duration("timeout"))
	defer cancel()
	p, warn, err := pitr.Collect(ctx, st, pitr.MetricsOptions{PgBackRest: c.String("pgbackrest"), Psql: c.String("psql"),
		Socket: c.String("pg-socket"), Port: c.Int("pg-port")})
	if err != nil {
		return withCode(exitFailed, err)
	}
	if warn != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: %v (archive metrics left out)\n", warn)
	}
	return withCode(exitFailed, metrics.WritePgBackRest(c.String("textfile-dir"), p))
}

// stanzaFor reads --manifest and returns the stanza of --service.
func stanzaFor(c *cli.Context) (*manifest.Manifest, *pgbackrest.Stanza, error) {
	m, err := readManifest(c)
	if err != nil {
		return nil, nil, err
	}
	svc, err := requireFlag(c, "service")
	if err != nil {
		return nil, nil, err
	}
	st, err := pgbackrest.ForService(m, svc)
	if err != nil {
		return nil, nil, withCode(exitManifest, err)
	}
	return m, st, nil
}
