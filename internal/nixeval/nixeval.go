// Package nixeval evaluates a rendered nixgen tree with real Nix
// (nix-instantiate --eval --strict --json), calling each generated module with
// a minimal stand-in for the NixOS module arguments. Tests use it to check
// that the values Nix sees are exactly the values in the specs.
package nixeval

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/model"
)

// driver evaluates every generated file of host h0 with a minimal stand-in
// for the NixOS module arguments and returns the values as JSON.
const driver = `
let
  lib = {
    mkOption = attrs: attrs;
    mkForce = value: { _force = value; };
    mkBefore = value: { _before = value; };
    mkAfter = value: { _after = value; };
    mkDefault = value: { _default = value; };
    mkIf = cond: value: { _if = cond; _then = value; };
    getExe = p: "/${p}/bin/${p}";
    escapeShellArg = s: "'${s}'";
    types = { package = "package"; str = "str"; listOf = t: "list"; };
  };
  args = {
    inherit lib;
    pkgs = {
      restic = "restic"; sanoid = "sanoid"; openssh = "openssh"; rclone = "rclone"; bashInteractive = "bash";
      util-linux = "/util-linux";
      writeText = name: text: { _writeText = name; inherit text; };
      pgbackrest = "pgbackrest";
      writeShellScript = name: text: { outPath = "/script/${name}"; _writeShellScript = name; inherit text; };
    };
    config = {
      nixgen = { helper = "/helper"; externalUnits = [ ]; };
      boot.zfs.package = "zfs"; systemd.package = "/systemd";
      services.postgresql.package = "postgresql"; services.prometheus.enable = true;
      virtualisation.oci-containers = { backend = "podman"; containers = { }; };
    };
  };
  dir = ./h0;
in {
  # toString keeps import paths as paths on disk: copying them to the store
  # (as JSON output would) rejects the characters hostile names contain.
  default = let d = import (dir + "/default.nix") args; in d // { imports = map toString d.imports; };
  datasets = import (dir + "/datasets.nix") args;
  protection = import (dir + "/protection.nix") args;
  monitoring = let m = import (dir + "/monitoring.nix") args; in m // {
    services.prometheus.ruleFiles = m.services.prometheus.ruleFiles // { _then = map toString m.services.prometheus.ruleFiles._then; };
  };
  # The modules; services/ also holds the preseed units' manifests.
  services = builtins.listToAttrs (map (file: { name = file; value = import (dir + "/services/${file}") args; })
    (builtins.filter (file: builtins.match ".*[.]nix" file != null) (builtins.attrNames (builtins.readDir (dir + "/services")))));
}
`

// WriteTree writes a rendered tree under dir, renaming each host directory
// to its index so the Nix driver needs no quoting of its own.
func WriteTree(t testing.TB, dir string, spec *model.Spec, out map[string][]byte) {
	t.Helper()
	for k, v := range out {
		host, rest, _ := strings.Cut(k, "/")
		idx := -1
		for i, h := range spec.Hosts {
			if h.Name == host {
				idx = i
			}
		}
		if idx < 0 {
			t.Fatalf("output %q belongs to no host", k)
		}
		p := filepath.Join(dir, "h"+string(rune('0'+idx)), filepath.FromSlash(rest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Host evaluates the generated files of spec.Hosts[0]: the result has
// "default", "datasets", "protection", "monitoring" and "services" (by file name).
func Host(t testing.TB, spec *model.Spec, out map[string][]byte) map[string]any {
	t.Helper()
	nix := e2e.Tool(t, "nix-instantiate")
	dir := t.TempDir()
	WriteTree(t, dir, spec, out)
	drv := filepath.Join(dir, "driver.nix")
	if err := os.WriteFile(drv, []byte(driver), 0o644); err != nil {
		t.Fatal(err)
	}
	// --readonly-mode computes store paths for ./manifest.json without copying.
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "--readonly-mode", drv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nix-instantiate --eval: %v\n%s", err, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Get walks nested JSON objects.
func Get(t testing.TB, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %T is not an attribute set", p, v)
		}
		v, ok = m[p]
		if !ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Fatalf("attribute %q missing; have %q", p, keys)
		}
	}
	return v
}
