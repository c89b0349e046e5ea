package emit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

// TestDryActivatePlanFindsZFS runs the activation snippet of datasets.nix the
// way NixOS does: nixos/modules/system/activation/activation-script.nix starts
// every snippet with PATH=/empty plus coreutils, grep, findutils, getent,
// libc, shadow, nettools and util-linux — no zfs. nixgen-helper finds zfs on
// PATH, so the snippet must bring boot.zfs.package itself, or every
// `nixos-rebuild dry-activate` prints "datasets plan failed".
func TestDryActivatePlanFindsZFS(t *testing.T) {
	nix := e2e.Tool(t, "nix-instantiate")
	bash := e2e.Tool(t, "bash")
	out := Render(richSpec(1))
	dir := t.TempDir()
	for _, f := range []string{"datasets.nix", "manifest.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), out["forge/"+f], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Stand-ins: a zfs package whose zfs leaves a mark, and a helper that,
	// like nixgen-helper, runs "zfs" from PATH.
	zfsPkg := filepath.Join(dir, "zfs-pkg")
	helperPkg := filepath.Join(dir, "helper-pkg")
	mark := filepath.Join(dir, "zfs-ran")
	for p, body := range map[string]string{
		filepath.Join(zfsPkg, "bin", "zfs"):              "#!" + bash + "\necho ok > " + mark + "\n",
		filepath.Join(helperPkg, "bin", "nixgen-helper"): "#!" + bash + "\nexec zfs list\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	expr := `{ helper, zfs }: (import ./datasets.nix {
	  config = { nixgen.helper = helper; boot.zfs.package = zfs; systemd.package = "/systemd"; };
	}).system.activationScripts.nixgen-datasets-plan.text`
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "--readonly-mode", "-E", expr,
		"--argstr", "helper", helperPkg, "--argstr", "zfs", zfsPkg)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	var text string
	if err := json.Unmarshal(stdout.Bytes(), &text); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bash, "-c", text)
	run.Env = []string{"PATH=/empty", "NIXOS_ACTION=dry-activate"}
	got, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("activation snippet: %v\n%s", err, got)
	}
	if strings.Contains(string(got), "plan failed") {
		t.Errorf("dry-activate plan failed under NixOS's activation PATH:\n%s\nsnippet:\n%s", got, text)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the helper never reached boot.zfs.package's zfs: %v", err)
	}
}
