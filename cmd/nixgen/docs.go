package main

import (
	"bytes"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/specref"
)

// exitCodes documents the exit* constants in the generated reference.
var exitCodes = []specref.ExitCode{
	{Code: exitOK, Meaning: "success"},
	{Code: exitInvalid, Meaning: "the specs are invalid (for `fmt`: an HCL file has a syntax error); nothing was written"},
	{Code: exitUsage, Meaning: "usage error: unknown command or flag, bad flag value, missing spec directory"},
	{Code: exitStale, Meaning: "`check`: the generated tree is stale; `fmt --check`: files are not formatted"},
	{Code: exitIO, Meaning: "reading or writing files failed"},
}

func docsCommand() *cli.Command {
	return &cli.Command{
		Name:      "docs",
		Usage:     "print the spec language reference (Markdown), generated from the schema",
		ArgsUsage: " ",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of standard output"}},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return exitf(exitUsage, "docs takes no arguments")
			}
			doc := specref.Markdown(exitCodes)
			out := c.String("out")
			if out == "" {
				if _, err := c.App.Writer.Write(doc); err != nil {
					return exitf(exitIO, "%v", err)
				}
				return nil
			}
			// Like render: leave an unchanged file (and its mtime) alone.
			if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, doc) {
				return nil
			}
			if err := os.WriteFile(out, doc, 0o644); err != nil {
				return exitf(exitIO, "%v", err)
			}
			return nil
		},
	}
}
