package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/datasets"
	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/lockfile"
	"github.com/nixgen/nixgen/internal/manifest"
)

func datasetsCommand() *cli.Command {
	common := []cli.Flag{
		manifestFlag(),
		&cli.BoolFlag{Name: "json", Usage: "print JSON for tools instead of text"},
	}
	return &cli.Command{
		Name:  "datasets",
		Usage: "create the manifest's datasets and fix their properties, owner and mode",
		Subcommands: []*cli.Command{
			{
				Name:   "plan",
				Usage:  "print what apply would do; changes nothing",
				Flags:  common,
				Action: datasetsPlan,
			},
			{
				Name:  "apply",
				Usage: "make the datasets match the manifest, then verify them",
				Flags: append(common,
					&cli.StringFlag{Name: "lock-dir", Value: hostfacts.RunDir, EnvVars: []string{"NIXGEN_LOCK_DIR"}, Usage: "directory of the lock file that serialises applies"},
					&cli.DurationFlag{Name: "lock-timeout", Value: defaultLockTimeout, Usage: "how long to wait for another apply"},
				),
				Action: datasetsApply,
			},
		},
	}
}

// readManifest decodes and validates the manifest before anything else runs.
func readManifest(c *cli.Context) (*manifest.Manifest, error) {
	path, err := requireFlag(c, "manifest")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, withCode(exitManifest, err)
	}
	defer f.Close()
	m, err := manifest.Decode(f)
	if err != nil {
		return nil, withCode(exitManifest, fmt.Errorf("%s: %w", path, err))
	}
	return m, nil
}

func planError(err error) error {
	var pe *datasets.PreconditionError
	if errors.As(err, &pe) {
		return withCode(exitRefused, err)
	}
	return withCode(exitFailed, err)
}

func datasetsPlan(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	p, err := datasets.Make(c.Context, runner(c), m)
	if err != nil {
		return planError(err)
	}
	if c.Bool("json") {
		return writeJSON(c, p)
	}
	datasets.WriteText(c.App.Writer, p)
	return nil
}

func datasetsApply(c *cli.Context) error {
	m, err := readManifest(c)
	if err != nil {
		return err
	}
	lockCtx, cancel := contextWithTimeout(c, c.Duration("lock-timeout"))
	defer cancel()
	lock, err := lockfile.Acquire(lockCtx, filepath.Join(c.String("lock-dir"), "datasets.lock"), func(holder string) {
		fmt.Fprintf(c.App.ErrWriter, "waiting for another datasets apply (pid %s) to finish\n", holder)
	})
	if err != nil {
		return withCode(exitRefused, err)
	}
	defer lock.Release()

	progress := c.App.Writer
	if c.Bool("json") {
		progress = nil
	}
	res, err := datasets.Apply(c.Context, runner(c), m, progress)
	if res != nil {
		for _, r := range res.Plan.Refused {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", datasets.DescribeRefusal(r))
		}
	}
	if err != nil {
		if res != nil && c.Bool("json") {
			writeJSON(c, res) // what was done before the failure, for tools
		}
		if res != nil && len(res.Done) > 0 {
			fmt.Fprintf(c.App.ErrWriter, "%d change(s) made before the failure; run apply again once the cause is fixed\n", len(res.Done))
		}
		return planError(err)
	}
	if c.Bool("json") {
		return writeJSON(c, res)
	}
	if len(res.Done) == 0 {
		fmt.Fprintln(c.App.Writer, "no changes")
	} else {
		fmt.Fprintf(c.App.Writer, "%d change(s) made; all %d dataset(s) verified\n", len(res.Done), len(m.Managed().Services))
	}
	return nil
}

func writeJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
