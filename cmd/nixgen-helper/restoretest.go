package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/drill"
)

func restoreTestCommand() *cli.Command {
	hostname, _ := os.Hostname()
	return &cli.Command{
		Name:  "restore-test",
		Usage: "restore drill: restore the latest backup of a service (or of every service in a repository) into a scratch directory and read it back",
		Description: "Exit codes: 0 every drill passed; 1 a drill failed (restic error, exit code 3 included,\n" +
			"no snapshot, nothing restored, an unreadable file, --timeout reached); 2 usage; 3 bad\n" +
			"manifest, unknown service or repository, or nothing backs up there.",
		Flags: []cli.Flag{
			manifestFlag(),
			&cli.StringFlag{Name: "service", Usage: "drill this service"},
			&cli.StringFlag{Name: "repository", Usage: "drill every service that backs up to this repository"},
			&cli.StringFlag{Name: "hostname", Value: hostname, Usage: "host name of the restic snapshots (restic --host)"},
			&cli.StringFlag{Name: "scratch-dir", Value: drill.DefaultScratchDir, Usage: "directory for the temporary restore (removed afterwards; a killed drill's is removed by the next one)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for tools instead of text"},
			&cli.StringFlag{Name: "restic", Value: "restic", EnvVars: []string{"NIXGEN_RESTIC"}, Usage: "restic program to run"},
			&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "after SIGTERM, time before restic is killed"},
			&cli.DurationFlag{Name: "timeout", Value: drill.DefaultTimeout, Usage: "limit of the whole drill: then restic is stopped, the scratch directory removed and the drill fails (0: none)"},
		},
		Action: restoreTest,
	}
}

func restoreTest(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	svc, repo := c.String("service"), c.String("repository")
	if (svc == "") == (repo == "") {
		return withCode(exitUsage, fmt.Errorf("%s: give exactly one of --service and --repository", helpName(c)))
	}
	var services []string
	if svc != "" {
		services, err = drill.ForService(m, svc)
	} else {
		services, err = drill.ForRepository(m, repo)
	}
	if err != nil {
		return withCode(exitManifest, err)
	}
	ctx, cancel := contextWithTimeout(c, c.Duration("timeout"))
	defer cancel()
	res, err := drill.Run(ctx, drill.Options{
		Manifest: m, Services: services, Repository: repo, Hostname: c.String("hostname"),
		ScratchDir: c.String("scratch-dir"), Restic: []string{c.String("restic")}, Grace: c.Duration("grace"),
		Warn: c.App.ErrWriter,
	})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: --timeout %s reached", err, c.Duration("timeout"))
	}
	if c.Bool("json") {
		if jerr := writeJSON(c, res); jerr != nil {
			return jerr
		}
	} else {
		drill.WriteReport(c.App.Writer, res)
	}
	return withCode(exitFailed, err)
}
