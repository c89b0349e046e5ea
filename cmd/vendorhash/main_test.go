package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A module without requirements needs vendorHash = null; -check must see the
// stale hash, -write must fix it, and a second -check must pass.
func TestCheckThenWrite(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":    "module example.com/nodeps\n\ngo 1.21\n",
		"main.go":   "package main\n\nfunc main() {}\n",
		"flake.nix": "{\n  vendorHash = \"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\";\n}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-C", dir}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, msg := invoke("-check"); code != 1 || !strings.Contains(msg, "go run ./cmd/vendorhash -write") {
		t.Fatalf("-check on a stale flake: exit %d, %q", code, msg)
	}
	if code, msg := invoke("-write"); code != 0 {
		t.Fatalf("-write: exit %d, %q", code, msg)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "flake.nix"))
	if string(b) != "{\n  vendorHash = null;\n}\n" {
		t.Errorf("-write left\n%s", b)
	}
	if code, msg := invoke("-check"); code != 0 {
		t.Errorf("-check after -write: exit %d, %q", code, msg)
	}
	if code, _ := invoke("extra"); code != 2 {
		t.Errorf("stray argument: exit %d, want 2", code)
	}
}
