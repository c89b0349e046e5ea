package vendorhash

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

// nixHash is the reference: Nix's own NAR hash of path, as SRI. nix-hash
// (Nix 2.8) prints base16 only, so the digest is converted here.
func nixHash(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(e2e.Tool(t, "nix-hash"), "--type", "sha256", path).Output()
	if err != nil {
		t.Fatalf("nix-hash %s: %v", path, err)
	}
	digest, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil || len(digest) != 32 {
		t.Fatalf("nix-hash printed %q, want 64 hex digits", out)
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(digest)
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// synthetic builds a tree with every kind of node NAR distinguishes.
func synthetic(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	write(t, filepath.Join(root, "a.txt"), "hello\n", 0o644)
	write(t, filepath.Join(root, "empty"), "", 0o644)
	write(t, filepath.Join(root, "bin", "run"), "#!/bin/sh\nexit 0\n", 0o755)
	write(t, filepath.Join(root, "bin", "owner-x-only"), "x", 0o700)
	write(t, filepath.Join(root, "deep", "er", "still", "leaf.go"), "package leaf\n", 0o444)
	write(t, filepath.Join(root, "Zupper"), "sorts before lower case", 0o644)
	write(t, filepath.Join(root, "big"), strings.Repeat("0123456789abcdef", 4099), 0o644)
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"link-rel":      "a.txt",
		"bin/link-up":   "../deep/er",
		"dangling":      "does/not/exist",
		"link-absolute": "/etc/hostname",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestNARHashMatchesNixHash(t *testing.T) {
	root := synthetic(t)
	cases := []string{
		root,                              // directory with everything
		filepath.Join(root, "a.txt"),      // a lone regular file
		filepath.Join(root, "bin", "run"), // a lone executable
		filepath.Join(root, "empty"),      // an empty file
		filepath.Join(root, "link-rel"),   // a lone symlink
		filepath.Join(root, "emptydir"),   // an empty directory
		filepath.Join(root, "deep"),       // nested directories
	}
	for _, p := range cases {
		got, err := NARHash(p)
		if err != nil {
			t.Fatalf("NARHash(%s): %v", p, err)
		}
		if want := nixHash(t, p); got != want {
			t.Errorf("NARHash(%s) = %s, nix-hash says %s", p, got, want)
		}
	}
}

// The hash must change with everything NAR records, or it would let a stale
// vendorHash pass.
func TestNARHashSeesModesAndLinks(t *testing.T) {
	root := synthetic(t)
	base, err := NARHash(root)
	if err != nil {
		t.Fatal(err)
	}
	mutations := map[string]func(){
		"exec bit": func() { os.Chmod(filepath.Join(root, "a.txt"), 0o744) },
		"link target": func() {
			os.Remove(filepath.Join(root, "link-rel"))
			os.Symlink("empty", filepath.Join(root, "link-rel"))
		},
		"empty file content": func() { os.WriteFile(filepath.Join(root, "empty"), []byte{0}, 0o644) },
		"new empty dir":      func() { os.Mkdir(filepath.Join(root, "deep", "new"), 0o755) },
	}
	for name, mutate := range mutations {
		mutate()
		got, err := NARHash(root)
		if err != nil {
			t.Fatal(err)
		}
		if got == base {
			t.Errorf("%s: hash unchanged (%s)", name, got)
		}
		if want := nixHash(t, root); got != want {
			t.Errorf("%s: NARHash = %s, nix-hash says %s", name, got, want)
		}
		base = got
	}
}

// repoRoot is the directory of this repository's go.mod. Vendoring it needs
// the module cache (CI runs `go mod download` first) or the module proxy.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside a Go module")
	}
	return filepath.Dir(gomod)
}

func TestRealVendorTreeMatchesNixHash(t *testing.T) {
	e2e.Tool(t, "go")
	out := filepath.Join(t.TempDir(), "vendor")
	ok, err := Vendor(context.Background(), repoRoot(t), out)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("this module has no dependencies; nothing to vendor")
	}
	got, err := NARHash(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := nixHash(t, out); got != want {
		t.Errorf("NARHash(vendor) = %s, nix-hash says %s", got, want)
	}
	// Compute must agree with the two steps done by hand.
	again, err := Compute(context.Background(), repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if again != got {
		t.Errorf("Compute = %s, Vendor+NARHash = %s", again, got)
	}
}

func TestComputeWithoutDependenciesIsNull(t *testing.T) {
	e2e.Tool(t, "go")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/nodeps\n\ngo 1.21\n", 0o644)
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() {}\n", 0o644)
	got, err := Compute(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != "" {
		t.Errorf("Compute on a module without dependencies = %q, want \"\" (vendorHash = null)", got)
	}
}

func TestComputeReportsGoErrors(t *testing.T) {
	e2e.Tool(t, "go")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/broken\n\ngo 1.21\n\nrequire (\n", 0o644)
	_, err := Compute(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Fatalf("Compute on a broken go.mod: err = %v, want one naming go.mod", err)
	}
}

const flakeSnippet = `{
  outputs = { self }: {
    pkg = buildGoModule {
      pname = "x";
      vendorHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
      # vendorHash = "in a comment on purpose"; is not a binding line
    };
  };
}
`

func TestFindAndReplace(t *testing.T) {
	src := []byte(flakeSnippet)
	got, err := Find(src)
	if err != nil || got != "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" {
		t.Fatalf("Find = %q, %v", got, err)
	}
	const h = "sha256-zUgOCVS/W6TJOji5M1N7XB/+eFqo992Bi167uKhHhHE="
	out, err := Replace(src, h)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(flakeSnippet, "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", h, 1); string(out) != want {
		t.Errorf("Replace wrote\n%s\nwant\n%s", out, want)
	}
	null, err := Replace(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(null, []byte("      vendorHash = null;\n")) {
		t.Errorf("Replace with \"\" did not write null:\n%s", null)
	}
	if v, err := Find(null); err != nil || v != "" {
		t.Errorf("Find after null = %q, %v", v, err)
	}
	back, err := Replace(null, h)
	if err != nil || string(back) != string(out) {
		t.Errorf("null -> hash round trip differs: %v\n%s", err, back)
	}
}

func TestFindRejectsAmbiguousFlakes(t *testing.T) {
	for name, src := range map[string]string{
		"none":        "{ }\n",
		"two":         "vendorHash = null;\n  vendorHash = null;\n",
		"interpolate": "vendorHash = \"${x}\";\n",
	} {
		if _, err := Find([]byte(src)); err == nil {
			t.Errorf("%s: Find accepted %q", name, src)
		}
	}
	if _, err := Replace([]byte(flakeSnippet), `sha256-"; evil = "`); err == nil {
		t.Error("Replace accepted a value that is not an SRI hash")
	}
}
