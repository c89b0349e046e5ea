package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// docs/spec-reference.md is committed; it must be what `nixgen docs` prints
// for the current schema.
func TestSpecReferenceUpToDate(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "spec-reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"nixgen", "docs"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("nixgen docs exited %d: %s", code, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), committed) {
		t.Errorf("docs/spec-reference.md is stale; regenerate it with\n\tgo run ./cmd/nixgen docs --out docs/spec-reference.md")
	}
}
