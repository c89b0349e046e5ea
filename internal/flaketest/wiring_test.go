package flaketest

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

// wiringStub evaluates the per-system outputs of flake.nix against a stand-in
// nixpkgs whose builders return their arguments, so the wiring (which hosts
// get a NixOS check, what the package builds, which tests the sandbox skips)
// is checked by Nix itself without a nixpkgs checkout.
const wiringStub = `{ dir }:
let
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  lib = {
    inherit genAttrs;
    inherit (builtins) attrNames listToAttrs;
    optionalAttrs = c: s: if c then s else { };
    optionals = c: l: if c then l else [ ];
    filterAttrs = pred: set: builtins.listToAttrs (builtins.concatMap
      (n: if pred n set.${n} then [ { name = n; value = set.${n}; } ] else [ ]) (builtins.attrNames set));
    nameValuePair = name: value: { inherit name value; };
    getExe = p: p.name + "/bin/" + p.meta.mainProgram;
    platforms.linux = [ ];
    fileset = { maybeMissing = p: p; unions = l: l; toSource = a: "src"; };
    nixosSystem = args: { config.system.build.toplevel.drvPath = builtins.length args.modules; };
  };
  pkgs = system: {
    buildGoModule = a: a // { name = a.pname; };
    runCommand = name: env: script: { inherit name script; };
    writeText = name: text: { inherit name text; };
    mkShell = a: a;
    go = "go"; gopls = "gopls"; gotools = "gotools"; nix = "nix"; nixfmt = "nixfmt";
    restic = "restic"; sanoid = "sanoid"; nixfmt-tree = "nixfmt-tree";
  };
  self = (import (/. + dir + "/flake.nix")).outputs {
    inherit self;
    nixpkgs = { inherit lib; legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" ] pkgs; };
  };
in
builtins.mapAttrs (system: checks: {
  checks = builtins.mapAttrs (_: c: c.name) checks;
  generated = checks.generated-up-to-date.script or null;
  package = { inherit (self.packages.${system}.default) subPackages doCheck vendorHash; };
  tests = { inherit (checks.go-tests) subPackages doCheck checkFlags; };
  app = self.apps.${system}.default.program;
}) self.checks`

type wiring struct {
	Checks    map[string]string
	Generated *string
	Package   struct {
		SubPackages []string
		DoCheck     bool
		VendorHash  *string
	}
	Tests struct {
		SubPackages []string
		DoCheck     bool
		CheckFlags  []string
	}
	App string
}

func evalWiring(t *testing.T, withExamples bool) map[string]wiring {
	t.Helper()
	nixInst := e2e.Tool(t, "nix-instantiate")
	dir := t.TempDir()
	src, err := os.ReadFile(abs(t, "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flake.nix"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if withExamples {
		for _, d := range []string{"specs", "generated/forge", "generated/luna"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// A stray file is not a host.
		os.WriteFile(filepath.Join(dir, "generated", "README"), nil, 0o644)
	}
	out := run(t, nixInst, "--eval", "--strict", "--json", "--argstr", "dir", dir, "-E", wiringStub)
	var w map[string]wiring
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return w
}

func TestOutputsWiring(t *testing.T) {
	w := evalWiring(t, true)
	for _, system := range []string{"x86_64-linux", "aarch64-linux"} {
		s, ok := w[system]
		if !ok {
			t.Fatalf("no checks for %s", system)
		}
		for _, c := range []string{"go-tests", "package", "generated-up-to-date", "nixos-forge", "nixos-luna"} {
			if _, ok := s.Checks[c]; !ok {
				t.Errorf("%s: no check %s (have %v)", system, c, s.Checks)
			}
		}
		if len(s.Checks) != 5 {
			t.Errorf("%s: checks %v, want exactly go-tests, package, generated-up-to-date and one per host", system, s.Checks)
		}
		if s.Generated == nil || !regexp.MustCompile(`^nixgen check --specs /nix/store/[a-z0-9]{32}-specs --out /nix/store/[a-z0-9]{32}-generated `).MatchString(*s.Generated) {
			t.Errorf("%s: generated-up-to-date runs %v", system, s.Generated)
		}
		if strings.Join(s.Package.SubPackages, " ") != "cmd/nixgen cmd/nixgen-helper" {
			t.Errorf("%s: package builds %v", system, s.Package.SubPackages)
		}
		if s.Package.VendorHash == nil {
			t.Errorf("%s: vendorHash is null but go.mod has requirements", system)
		}
		if !s.Tests.DoCheck || len(s.Tests.SubPackages) != 0 {
			t.Errorf("%s: go-tests must test every package (doCheck %v, subPackages %v)", system, s.Tests.DoCheck, s.Tests.SubPackages)
		}
		if s.App != "nixgen/bin/nixgen" {
			t.Errorf("%s: apps.default runs %q", system, s.App)
		}
		checkSkippedTestsExist(t, s.Tests.CheckFlags)
	}

	// Without specs and a generated tree (a fork that only uses lib.render)
	// the flake still evaluates, with no per-host checks.
	bare := evalWiring(t, false)["x86_64-linux"]
	if len(bare.Checks) != 2 || bare.Generated != nil {
		t.Errorf("without examples: checks %v, generated %v; want only go-tests and package", bare.Checks, bare.Generated)
	}
}

// checkSkippedTestsExist fails when the sandbox skip list names a test that
// no longer exists, which would silently stop matching after a rename.
func checkSkippedTestsExist(t *testing.T, flags []string) {
	t.Helper()
	var names []string
	for _, f := range flags {
		if m := regexp.MustCompile(`^-skip=\^\(([A-Za-z0-9_|]+)\)\$$`).FindStringSubmatch(f); m != nil {
			names = append(names, strings.Split(m[1], "|")...)
		}
	}
	if len(names) == 0 {
		t.Fatalf("checkFlags %v: no -skip=^(A|B)$ list found", flags)
	}
	var all strings.Builder
	filepath.WalkDir(abs(t, "."), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	for _, n := range names {
		if !strings.Contains(all.String(), "func "+n+"(t *testing.T)") {
			t.Errorf("checkFlags skips %s, but no test has that name", n)
		}
	}
}
