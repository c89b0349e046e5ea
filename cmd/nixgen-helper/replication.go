package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/replication"
)

func replicationCommand() *cli.Command {
	common := []cli.Flag{
		manifestFlag(),
		&cli.StringFlag{Name: "service", Usage: "the service whose replication it is"},
	}
	return &cli.Command{
		Name:  "replication",
		Usage: "health of a service's syncoid replication (run by its syncoid unit)",
		Subcommands: []*cli.Command{
			{
				Name:  "probe",
				Usage: "check that the remote target answers over ssh as syncoid will reach it (ExecStartPre)",
				Description: "Logs in with the replication's user and key, BatchMode, StrictHostKeyChecking=yes and\n" +
					"the generated time limits, and lists the target's parent dataset there.\n" +
					"Exit codes: 0 reachable; 1 not reachable (the message says why); 2 usage; 3 bad manifest.",
				Flags: append(common,
					&cli.StringSliceFlag{Name: "ssh-option", Usage: "extra ssh -o Name=value, before the defaults (repeatable)"},
					&cli.StringFlag{Name: "ssh", Value: "ssh", Usage: "ssh program"},
					&cli.DurationFlag{Name: "timeout", Value: replication.ProbeTimeout, Usage: "limit of the whole probe"},
				),
				Action: replicationProbe,
			},
			{
				Name:  "lag",
				Usage: "record the replication lag after a syncoid run (ExecStopPost)",
				Description: "After a successful run, the newest syncoid_* snapshot of the service's dataset is the newest\n" +
					"snapshot the target has; after a failed one the last known one is kept. Writes\n" +
					"nixgen_replication_<service>.prom. --result defaults to systemd's $SERVICE_RESULT.\n" +
					"Exit codes: 0 written; 1 failed; 2 usage; 3 bad manifest.",
				Flags: append(common,
					&cli.StringFlag{Name: "result", EnvVars: []string{"SERVICE_RESULT"}, Usage: "the syncoid run's result: \"success\" or anything else (systemd's $SERVICE_RESULT)"},
					&cli.StringFlag{Name: "textfile-dir", Value: metrics.DefaultTextfileDir, EnvVars: []string{"NIXGEN_TEXTFILE_DIR"}, Usage: "node-exporter textfile directory"},
				),
				Action: replicationLag,
			},
		},
	}
}

// replicatedService returns the --service flag's service, which must replicate.
func replicatedService(c *cli.Context) (*manifest.Manifest, *manifest.Service, error) {
	m, err := readManifest(c)
	if err != nil {
		return nil, nil, err
	}
	name, err := requireFlag(c, "service")
	if err != nil {
		return nil, nil, err
	}
	svc := m.Service(name)
	if svc == nil || svc.Replication == nil {
		return nil, nil, withCode(exitManifest, fmt.Errorf("service %q has no replication in the manifest", name))
	}
	return m, svc, nil
}

func replicationProbe(c *cli.Context) error {
	_, svc, err := replicatedService(c)
	if err != nil {
		return err
	}
	if svc.Replication.Host == "" {
		return withCode(exitManifest, fmt.Errorf("service %q replicates to a local target; there is nothing to probe", svc.Name))
	}
	err = replication.Probe(c.Context, svc, replication.ProbeOptions{
		SSH: c.String("ssh"), SSHOptions: c.StringSlice("ssh-option"), Timeout: c.Duration("timeout"),
	})
	if err != nil {
		return withCode(exitFailed, err)
	}
	fmt.Fprintf(c.App.Writer, "replication target %s is reachable\n", svc.Replication.Target)
	return nil
}

func replicationLag(c *cli.Context) error {
	m, svc, err := replicatedService(c)
	if err != nil {
		return err
	}
	result := c.String("result")
	if result == "" {
		return withCode(exitUsage, fmt.Errorf("%s: --result (or $SERVICE_RESULT) is required", helpName(c)))
	}
	ctx, cancel := contextWithTimeout(c, time.Minute)
	defer cancel()
	l, err := replication.Lag(ctx, runner(c), m, svc, result == "success", c.String("textfile-dir"), time.Now())
	if err != nil {
		return withCode(exitFailed, err)
	}
	if l.Newest.IsZero() {
		fmt.Fprintf(c.App.Writer, "replication of %s: %s, and no earlier success is recorded; lag unknown\n", svc.Name, result)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "replication of %s: %s; the target's newest snapshot is from %s (%s ago)\n",
		svc.Name, result, l.Newest.UTC().Format(time.RFC3339), l.Now.Sub(l.Newest).Round(time.Second))
	return nil
}
