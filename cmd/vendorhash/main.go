// Command vendorhash prints (or, with -write, updates) the vendorHash of
// flake.nix for the Go module in the current directory.
//
//	go run ./cmd/vendorhash          # print the hash go.mod needs
//	go run ./cmd/vendorhash -write   # rewrite flake.nix when it differs
//	go run ./cmd/vendorhash -check   # exit 1 when flake.nix is stale
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nixgen/nixgen/internal/vendorhash"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vendorhash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("C", ".", "module `directory` (holds go.mod and flake.nix)")
	flake := fs.String("flake", "flake.nix", "flake `file` to read or rewrite, relative to -C")
	write := fs.Bool("write", false, "rewrite the vendorHash in the flake file")
	check := fs.Bool("check", false, "exit 1 when the flake's vendorHash is stale")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "vendorhash: unexpected arguments %q\n", fs.Args())
		return 2
	}
	hash, err := vendorhash.Compute(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, "vendorhash:", err)
		return 1
	}
	show := hash
	if show == "" {
		show = "null"
	}
	if !*write && !*check {
		fmt.Fprintln(stdout, show)
		return 0
	}
	path := *flake
	if !filepath.IsAbs(path) {
		path = filepath.Join(*dir, path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "vendorhash:", err)
		return 1
	}
	old, err := vendorhash.Find(src)
	if err != nil {
		fmt.Fprintf(stderr, "vendorhash: %s: %v\n", path, err)
		return 1
	}
	if old == hash {
		fmt.Fprintf(stdout, "%s: vendorHash up to date (%s)\n", path, show)
		return 0
	}
	if *check {
		fmt.Fprintf(stderr, "%s: vendorHash is stale; want %s; run: go run ./cmd/vendorhash -write\n", path, show)
		return 1
	}
	out, err := vendorhash.Replace(src, hash)
	if err != nil {
		fmt.Fprintf(stderr, "vendorhash: %s: %v\n", path, err)
		return 1
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fmt.Fprintln(stderr, "vendorhash:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: vendorHash set to %s\n", path, show)
	return 0
}
