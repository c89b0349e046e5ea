package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/jobreport"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/notify"
)

func notifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "notify",
		Usage: "report a job unit's result to its notifiers and its metrics textfile (OnFailure=/OnSuccess= hooks)",
		Description: "Each notifier hears of the events it chose (default: failure, recovery; recovery is the\n" +
			"first success after a failure, as the job's metrics textfile recorded it, which --only notifiers\n" +
			"reads without writing); a job stopped by SIGTERM (a switch, a shutdown) is neither sent nor\n" +
			"recorded. A notifier\n" +
			"that cannot be reached is logged and does not change the exit code. Token and URL files are\n" +
			"read from $CREDENTIALS_DIRECTORY when systemd passed them there (LoadCredential=).\n" +
			"Exit codes: 0 reported; 1 metrics file not written; 2 usage; 3 bad manifest or unit not a job.",
		Flags: []cli.Flag{
			manifestFlag(),
			&cli.StringFlag{Name: "unit", Usage: "the job's full unit name (%i of the hook unit)"},
			&cli.StringFlag{Name: "result", Usage: "success or failure"},
			&cli.StringFlag{Name: "hostname", Usage: "host name in messages and labels (default: the manifest's host)"},
			&cli.StringFlag{Name: "textfile-dir", Value: metrics.DefaultTextfileDir, EnvVars: []string{"NIXGEN_TEXTFILE_DIR"}, Usage: "node-exporter textfile directory (\"\" for none)"},
			&cli.StringFlag{Name: "journalctl", Value: "journalctl", Usage: "journalctl program (journal excerpt)"},
			&cli.StringFlag{Name: "systemctl", Value: "systemctl", Usage: "systemctl program (run duration)"},
			&cli.StringFlag{Name: "only", Usage: "do one half: \"notifiers\" (tell the notifiers, write no metrics) or \"metrics\" (write the metrics, tell no one)"},
		},
		Action: notifyRun,
	}
}

func notifyRun(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	unit, err := requireFlag(c, "unit")
	if err != nil {
		return err
	}
	var success bool
	switch r := c.String("result"); r {
	case "success":
		success = true
	case "failure":
	default:
		return withCode(exitUsage, fmt.Errorf("%s: --result must be success or failure, not %q", helpName(c), r))
	}
	stateDir := c.String("textfile-dir")
	textfileDir, noNotify := stateDir, false
	switch only := c.String("only"); only {
	case "":
	case "notifiers":
		textfileDir = ""
	case "metrics":
		noNotify = true
	default:
		return withCode(exitUsage, fmt.Errorf("%s: --only must be notifiers or metrics, not %q", helpName(c), only))
	}
	rep, err := jobreport.Run(c.Context, jobreport.Options{
		Manifest: m, Unit: unit, Success: success, Host: c.String("hostname"),
		TextfileDir: textfileDir, StateDir: stateDir, NoNotify: noNotify,
		Journalctl: c.String("journalctl"), Systemctl: c.String("systemctl"),
		// Under the generated units, the token and URL files arrive as
		// systemd credentials (LoadCredential=).
		Notify: &notify.Sender{Credentials: os.Getenv("CREDENTIALS_DIRECTORY")},
	})
	if errors.Is(err, jobreport.ErrUnknownUnit) {
		return withCode(exitManifest, err)
	}
	if rep != nil && rep.NotifyErr != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: notifying about %s: %v\n", unit, rep.NotifyErr)
	}
	if err != nil {
		return withCode(exitFailed, err)
	}
	if rep.Stopped {
		fmt.Fprintf(c.App.Writer, "%s was stopped (SIGTERM), not failed: nothing reported\n", unit)
		return nil
	}
	if rep.Notified {
		fmt.Fprintf(c.App.Writer, "%s %s reported to %d notifier(s)\n", unit, c.String("result"), len(rep.Job.Notify))
	} else {
		fmt.Fprintf(c.App.Writer, "%s %s recorded\n", unit, c.String("result"))
	}
	return nil
}
