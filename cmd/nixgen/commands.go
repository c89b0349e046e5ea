package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/urfave/cli/v2"

	"github.com/nixgen/nixgen/internal/atomicfile"
	"github.com/nixgen/nixgen/internal/diag"
	"github.com/nixgen/nixgen/internal/emit"
	"github.com/nixgen/nixgen/internal/gentree"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/schema"
)

var (
	specsFlag = &cli.StringFlag{Name: "specs", Value: "specs", Usage: "directory of `DIR/*.hcl` spec files"}
	outFlag   = &cli.StringFlag{Name: "out", Value: "generated", Usage: "generated tree `DIR`"}
	errFlag   = &cli.StringFlag{Name: "error-format", Value: "text", Usage: "diagnostics as `text|gcc|json`"}
)

func renderCommand() *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "validate the specs and write the generated tree",
		ArgsUsage: " ",
		Flags:     []cli.Flag{specsFlag, outFlag, errFlag},
		Action: func(c *cli.Context) error {
			files, err := renderSpecs(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			changes, err := gentree.Write(out, files)
			if err != nil {
				return exitf(exitIO, "writing %s: %v", out, err)
			}
			w := c.App.Writer
			for _, p := range changes.Create {
				fmt.Fprintf(w, "create %s\n", filepath.Join(out, p))
			}
			for _, p := range changes.Update {
				fmt.Fprintf(w, "update %s\n", filepath.Join(out, p))
			}
			for _, p := range changes.Remove {
				fmt.Fprintf(w, "remove %s\n", filepath.Join(out, p))
			}
			if changes.Empty() {
				fmt.Fprintf(w, "%s is up to date (%d files)\n", out, len(files))
			}
			return nil
		},
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "list generated files that differ from what render would write (exit 3)",
		ArgsUsage: " ",
		Flags: []cli.Flag{specsFlag, outFlag, errFlag,
			&cli.BoolFlag{Name: "diff", Usage: "print a unified diff of each stale file"}},
		Action: func(c *cli.Context) error {
			files, err := renderSpecs(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			changes, err := gentree.Compare(out, files)
			if err != nil {
				return exitf(exitIO, "reading %s: %v", out, err)
			}
			if changes.Empty() {
				return nil
			}
			stale := changes.Stale()
			for _, p := range stale {
				fmt.Fprintln(c.App.Writer, filepath.Join(out, p))
			}
			if c.Bool("diff") {
				for _, p := range stale {
					onDisk, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
					name := filepath.Join(out, p)
					c.App.Writer.Write(diff.Diff(name+" (on disk)", onDisk, name+" (rendered)", files[p]))
				}
			}
			return exitf(exitStale, "%d generated file(s) differ from the specs; run nixgen render", len(stale))
		},
	}
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check the specs and print diagnostics",
		ArgsUsage: " ",
		Flags:     []cli.Flag{specsFlag, errFlag},
		Action: func(c *cli.Context) error {
			spec, err := loadSpecs(c)
			if err != nil {
				return err
			}
			if c.String("error-format") != "json" {
				n := 0
				for _, h := range spec.Hosts {
					n += len(h.Services)
				}
				fmt.Fprintf(c.App.Writer, "%s: valid (%d hosts, %d host services)\n", c.String("specs"), len(spec.Hosts), n)
			}
			return nil
		},
	}
}

func fmtCommand() *cli.Command {
	return &cli.Command{
		Name:      "fmt",
		Usage:     "rewrite HCL files in canonical format (--check: only list them, exit 3)",
		ArgsUsage: "[FILES]",
		Flags: []cli.Flag{specsFlag, errFlag,
			&cli.BoolFlag{Name: "check", Usage: "list files that are not formatted, change nothing"}},
		Action: func(c *cli.Context) error {
			if err := checkErrorFormat(c); err != nil {
				return err
			}
			paths := c.Args().Slice()
			if len(paths) == 0 {
				var err error
				if paths, err = schema.Files(c.String("specs")); err != nil {
					return exitf(exitIO, "%v", err)
				}
			}
			// Parse everything first: a syntax error anywhere means nothing is rewritten.
			srcs := map[string][]byte{}
			parsed := map[string]*hcl.File{}
			var diags hcl.Diagnostics
			for _, p := range paths {
				src, err := os.ReadFile(p)
				if err != nil {
					return exitf(exitIO, "%v", err)
				}
				srcs[p] = src
				f, d := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
				parsed[p] = f
				diags = append(diags, d...)
			}
			if diags.HasErrors() {
				printDiags(c, diags, parsed)
				return exitf(exitInvalid, "")
			}
			var unformatted []string
			for _, p := range paths {
				if formatted := hclwrite.Format(srcs[p]); !bytes.Equal(formatted, srcs[p]) {
					unformatted = append(unformatted, p)
					if !c.Bool("check") {
						if err := replaceFile(p, formatted); err != nil {
							return exitf(exitIO, "%v", err)
						}
					}
				}
			}
			for _, p := range unformatted {
				fmt.Fprintln(c.App.Writer, p)
			}
			if c.Bool("check") && len(unformatted) > 0 {
				return exitf(exitStale, "%d file(s) are not formatted; run nixgen fmt", len(unformatted))
			}
			return nil
		},
	}
}

// renderSpecs loads and validates the specs and renders them in memory.
func renderSpecs(c *cli.Context) (map[string][]byte, error) {
	spec, err := loadSpecs(c)
	if err != nil {
		return nil, err
	}
	return emit.Render(spec), nil
}

func loadSpecs(c *cli.Context) (*model.Spec, error) {
	if err := checkErrorFormat(c); err != nil {
		return nil, err
	}
	dir := c.String("specs")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, exitf(exitUsage, "spec directory %s: not a readable directory", dir)
	}
	spec, files, diags := schema.Load(dir)
	if len(diags) > 0 || c.String("error-format") == "json" {
		printDiags(c, diags, files)
	}
	if diags.HasErrors() {
		return nil, exitf(exitInvalid, "")
	}
	return spec, nil
}

func checkErrorFormat(c *cli.Context) error {
	switch f := c.String("error-format"); f {
	case "text", "gcc", "json":
		return nil
	default:
		return exitf(exitUsage, "--error-format %q: want text, gcc or json", f)
	}
}

func printDiags(c *cli.Context, diags hcl.Diagnostics, files map[string]*hcl.File) {
	w := c.App.ErrWriter
	if err := diag.Write(w, c.String("error-format"), diags, files, isTerminal(w)); err != nil {
		fmt.Fprintln(w, "nixgen: printing diagnostics:", err)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// replaceFile swaps in new content with a rename, so an interrupted fmt never
// leaves a truncated spec behind. A symlinked spec keeps its link: the file
// it points to is replaced.
func replaceFile(path string, content []byte) error {
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, ".nixgen-fmt-*", content, st.Mode().Perm()); err != nil {
		return errors.Join(fmt.Errorf("formatting %s", path), err)
	}
	return nil
}
