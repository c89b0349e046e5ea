package emit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/moduleeval"
	"github.com/nixgen/nixgen/internal/schema"
)

// renderHCL validates and renders one spec file.
func renderHCL(t *testing.T, src string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, _, diags := schema.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	out := Render(spec)
	return out
}

const phantomSpec = `
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

service "sonarr" {
  backup { repository = "nas" }
  preseed {}
}

service "radarr" {
  container = "radarr"
  user      = "568"
  backup { repository = "nas" }
  preseed {}
}

service "plex" {}

service "media" {
  unit = "media.target"
  preseed { methods = ["local"] }
}
`

// The rest of a host that defines every unit the spec names.
const realUnits = `{
  systemd.services.sonarr.serviceConfig.ExecStart = "/bin/sonarr";
  systemd.services.plex.script = "exec plex";
  systemd.targets.media = { description = "Media"; wantedBy = [ "multi-user.target" ]; };
  virtualisation.oci-containers.containers.radarr.image = "lscr.io/linuxserver/radarr";
}`

// TestPhantomUnitFailsEvaluation evaluates the generated module with the
// rest of a host: with every unit defined it evaluates, and the
// container's unit follows the backend; with one unit missing, NixOS's
// assertion stops the evaluation with a message naming the service.
func TestPhantomUnitFailsEvaluation(t *testing.T) {
	out := renderHCL(t, phantomSpec)

	for _, backend := range []string{"podman", "docker"} {
		v, stderr, ok := moduleeval.Eval(t, "box", out, "systemd.services",
			realUnits, `{ virtualisation.oci-containers.backend = "`+backend+`"; }`)
		if !ok {
			t.Fatalf("%s: evaluation failed:\n%s", backend, stderr)
		}
		units := v.(map[string]any)
		unit := backend + "-radarr"
		c, found := units[unit].(map[string]any)
		if !found {
			t.Fatalf("%s: no unit %s", backend, unit)
		}
		expect(t, unit+" requires", c["requires"], []string{"nixgen-preseed-radarr.service"})
		expect(t, unit+" after", c["after"], []string{"nixgen-preseed-radarr.service"})
		expect(t, "preseed before", units["nixgen-preseed-radarr"].(map[string]any)["before"], []string{unit + ".service"})
		expect(t, "plex requires", units["plex"].(map[string]any)["requires"], []string{"nixgen-datasets.service"})
		expect(t, "plex mount", units["plex"].(map[string]any)["unitConfig"], map[string]any{"RequiresMountsFor": []string{"/srv/plex"}})
		other := map[string]string{"podman": "docker", "docker": "podman"}[backend]
		if _, wrong := units[other+"-radarr"]; wrong {
			t.Errorf("%s: a unit %s-radarr was defined", backend, other)
		}
	}

	for _, c := range []struct {
		name, host, want string
	}{
		{"service without ExecStart", strings.Replace(realUnits, `systemd.services.sonarr.serviceConfig.ExecStart = "/bin/sonarr";`, "", 1),
			`nixgen: service "sonarr" protects the data of unit sonarr.service, which nothing else defines (no ExecStart and no script)`},
		{"service without preseed", strings.Replace(realUnits, `systemd.services.plex.script = "exec plex";`, "", 1),
			`nixgen: service "plex" protects the data of unit plex.service, which nothing else defines`},
		{"undeclared container", strings.Replace(realUnits, `virtualisation.oci-containers.containers.radarr.image = "lscr.io/linuxserver/radarr";`, "", 1),
			`nixgen: service "radarr" runs as container "radarr", which virtualisation.oci-containers.containers does not declare`},
		{"target nothing wants", strings.Replace(realUnits, `systemd.targets.media = { description = "Media"; wantedBy = [ "multi-user.target" ]; };`, "", 1),
			`nixgen: service "media" protects the data of unit media.target, which nothing else defines (no description and no dependencies but nixgen's)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, ok := moduleeval.Eval(t, "box", out, "systemd.services", c.host)
			if ok {
				t.Fatal("evaluation succeeded with a phantom unit")
			}
			if !strings.Contains(stderr, "Failed assertions:") || !strings.Contains(stderr, c.want) {
				t.Errorf("error does not name the service:\n%s", stderr)
			}
		})
	}

	// A unit from a package's unit file is accepted when listed.
	host := strings.Replace(realUnits, `systemd.services.plex.script = "exec plex";`, `nixgen.externalUnits = [ "plex.service" ];`, 1)
	if _, stderr, ok := moduleeval.Eval(t, "box", out, "systemd.services", host); !ok {
		t.Errorf("nixgen.externalUnits is not honoured:\n%s", stderr)
	}
}
