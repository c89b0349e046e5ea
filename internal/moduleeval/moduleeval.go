// Package moduleeval evaluates a rendered host module the way a NixOS
// configuration would use it: merged with other modules through a small
// stand-in for NixOS's module system (modules.nix), so that settings which
// depend on the rest of the host (a container's unit name from
// virtualisation.oci-containers.backend, the assertions that refuse a
// phantom unit) are checked by Nix itself. nixpkgs is not needed.
package moduleeval

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

//go:embed modules.nix
var modulesNix []byte

// OCIContainers stands in for nixos/modules/virtualisation/oci-containers.nix:
// the backend option (default "podman") and, for every declared container,
// the unit "${backend}-${name}" with a script (mkService there).
const OCIContainers = `{ config, lib, ... }: {
  options.virtualisation.oci-containers = {
    backend = lib.mkOption { default = "podman"; };
    containers = lib.mkOption { default = { }; };
  };
  config.systemd.services = builtins.listToAttrs (map (name: {
    name = "${config.virtualisation.oci-containers.backend}-${name}";
    value.script = "exec ${config.virtualisation.oci-containers.backend} run --name=${name}";
  }) (builtins.attrNames config.virtualisation.oci-containers.containers));
}`

// base sets what the generated modules read from the host and from
// nixgen's flake module.
const base = `{
  nixgen.helper = "/helper";
  boot.zfs.package = "zfs";
  systemd.package = "/systemd";
}`

const pkgs = `{
  restic = "restic"; sanoid = "sanoid"; openssh = "openssh"; rclone = "rclone";
  util-linux = "/util-linux";
  writeText = name: text: "/store/${name}";
}`

// Eval writes the rendered files of one host (keys "<host>/...") to a
// temporary directory and evaluates the attribute path `result` (e.g.
// "systemd.services") of the configuration made of the host's
// default.nix, OCIContainers, a base module and the given host modules
// (Nix expressions). It returns the value as JSON, or the evaluation's
// error output (which holds NixOS's "Failed assertions:" message).
func Eval(t testing.TB, host string, out map[string][]byte, result string, hostModules ...string) (value any, stderr string, ok bool) {
	t.Helper()
	nix := e2e.Tool(t, "nix-instantiate")
	dir := t.TempDir()
	for k, v := range out {
		rest, found := strings.CutPrefix(k, host+"/")
		if !found {
			continue
		}
		p := filepath.Join(dir, "host", filepath.FromSlash(rest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mods strings.Builder
	mods.WriteString("./host/default.nix\n(" + OCIContainers + ")\n" + base + "\n")
	for _, m := range hostModules {
		mods.WriteString("(" + m + ")\n")
	}
	driver := "let config = import ./modules.nix { pkgs = " + pkgs + "; modules = [\n" + mods.String() + "]; };\nin config." + result + "\n"
	for name, b := range map[string][]byte{"modules.nix": modulesNix, "driver.nix": []byte(driver)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// --readonly-mode computes store paths for ./manifest.json without copying.
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "--readonly-mode", filepath.Join(dir, "driver.nix"))
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		return nil, se.String(), false
	}
	if err := json.Unmarshal(so.Bytes(), &value); err != nil {
		t.Fatal(err)
	}
	return value, se.String(), true
}
