// Package vendorhash computes the vendorHash that nixpkgs' buildGoModule expects
// for a Go module, and keeps the literal in flake.nix in step with go.mod.
//
// buildGoModule runs `go mod vendor` in a fixed-output derivation and hashes the
// resulting vendor directory as a NAR (sha256, SRI form). We do the same: run
// `go mod vendor -o DIR` into a scratch directory and serialise DIR with
// go-nix's NAR writer. A module without dependencies produces no vendor
// directory; buildGoModule then wants `vendorHash = null`, which Compute
// reports as an empty hash.
package vendorhash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixhash"
)

// NARHash returns the sha256 of the NAR serialisation of path in SRI form
// ("sha256-<base64>"), the value `nix-hash --type sha256 --sri PATH` prints.
func NARHash(path string) (string, error) {
	h := sha256.New()
	if err := nar.DumpPath(h, path); err != nil {
		return "", fmt.Errorf("nar-serialising %s: %w", path, err)
	}
	sum, err := nixhash.NewHash(nixhash.SHA256, h.Sum(nil))
	if err != nil {
		return "", err
	}
	return sum.Format(nixhash.SRI, true), nil
}

// Vendor runs `go mod vendor -o out` for the module in moduleDir. It reports
// false when the module has no dependencies (go creates no directory then).
// The go command is taken from PATH; its module cache or proxy must hold
// every dependency.
func Vendor(ctx context.Context, moduleDir, out string) (bool, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "vendor", "-o", out)
	cmd.Dir = moduleDir
	// -mod=vendor from the caller's GOFLAGS would stop go from reading
	// go.mod's requirements; the vendor tree must be built from go.mod.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("go mod vendor in %s: %w: %s", moduleDir, err, strings.TrimSpace(stderr.String()))
	}
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Compute vendors the module in moduleDir into a scratch directory and
// returns its NAR hash, or "" when the module has no dependencies (Nix:
// vendorHash = null).
func Compute(ctx context.Context, moduleDir string) (string, error) {
	tmp, err := os.MkdirTemp("", "vendorhash-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "vendor")
	ok, err := Vendor(ctx, moduleDir, out)
	if err != nil || !ok {
		return "", err
	}
	return NARHash(out)
}

// vendorHashRE matches the one `vendorHash = ...;` binding in flake.nix: a
// double-quoted string without escapes, or null.
var vendorHashRE = regexp.MustCompile(`(?m)^([ \t]*vendorHash[ \t]*=[ \t]*)("[^"\\$\n]*"|null)([ \t]*;)`)

// Find returns the vendorHash value written in a flake.nix: the hash, or ""
// for null. It fails unless there is exactly one binding.
func Find(flake []byte) (string, error) {
	m, err := match(flake)
	if err != nil {
		return "", err
	}
	v := string(flake[m[4]:m[5]])
	if v == "null" {
		return "", nil
	}
	return strings.Trim(v, `"`), nil
}

var sriRE = regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`)

// Replace returns flake with its vendorHash set to hash ("" writes null).
func Replace(flake []byte, hash string) ([]byte, error) {
	m, err := match(flake)
	if err != nil {
		return nil, err
	}
	lit := "null"
	if hash != "" {
		if !sriRE.MatchString(hash) {
			return nil, fmt.Errorf("refusing to write %q: not a sha256 SRI hash", hash)
		}
		lit = `"` + hash + `"`
	}
	var b bytes.Buffer
	b.Write(flake[:m[4]])
	b.WriteString(lit)
	b.Write(flake[m[5]:])
	return b.Bytes(), nil
}

func match(flake []byte) ([]int, error) {
	all := vendorHashRE.FindAllSubmatchIndex(flake, -1)
	switch len(all) {
	case 1:
		return all[0], nil
	case 0:
		return nil, errors.New(`no line of the form 'vendorHash = "sha256-...";' or 'vendorHash = null;'`)
	default:
		line := bytes.Count(flake[:all[1][0]], []byte("\n")) + 1
		return nil, fmt.Errorf("more than one vendorHash binding (second on line %d); keep exactly one", line)
	}
}
