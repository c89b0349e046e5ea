package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/nixgen/nixgen/internal/specgen"
)

// BenchmarkRenderNoChange runs the whole `nixgen render` command over a
// generated spec tree (internal/specgen) whose output is already current, as
// a user re-running render after an edit elsewhere waits for it: load,
// validate, render, compare with the tree on disk, write nothing.
func BenchmarkRenderNoChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			specs, out := filepath.Join(dir, "specs"), filepath.Join(dir, "out")
			if err := specgen.Write(specs, n, 1); err != nil {
				b.Fatal(err)
			}
			args := []string{"nixgen", "render", "--specs", specs, "--out", out}
			if code := run(context.Background(), args, nil, io.Discard, io.Discard); code != 0 {
				b.Fatalf("first render: exit %d", code)
			}
			b.ReportAllocs()
			for b.Loop() {
				if code := run(context.Background(), args, nil, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
