package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/hostmetrics"
	"github.com/nixgen/nixgen/internal/metrics"
)

func metricsCommand() *cli.Command {
	return &cli.Command{
		Name:  "metrics",
		Usage: "write pool, dataset and expected-job metrics (nixgen_host.prom) and delete the textfiles of jobs the manifest no longer has",
		Description: "Reads every pool with one zpool list and one zpool status, and the datasets below the\n" +
			"parent with one zfs get -r, whatever their number. Exit codes: 0 written; 1 a zfs or zpool\n" +
			"call failed or a file could not be written or removed; 2 usage; 3 bad manifest.",
		Flags: []cli.Flag{
			manifestFlag(),
			&cli.StringFlag{Name: "textfile-dir", Value: metrics.DefaultTextfileDir, EnvVars: []string{"NIXGEN_TEXTFILE_DIR"}, Usage: "node-exporter textfile directory"},
		},
		Action: metricsRun,
	}
}

func metricsRun(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	dir, err := requireFlag(c, "textfile-dir")
	if err != nil {
		return err
	}
	st, err := hostmetrics.Collect(c.Context, runner(c), m)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitFailed, fmt.Errorf("writing host metrics: %w", err))
	}
	if err := hostmetrics.Write(dir, m, st); err != nil {
		return withCode(exitFailed, err)
	}
	removed, err := metrics.RemoveStale(dir, m)
	for _, name := range removed {
		fmt.Fprintf(c.App.Writer, "removed %s: no job or preseed of the manifest writes it\n", name)
	}
	if err != nil {
		return withCode(exitFailed, err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d pool(s), %d dataset(s), %d job(s)\n", metrics.HostFile(dir), len(st.Pools), len(st.Datasets), len(m.Jobs))
	return nil
}
