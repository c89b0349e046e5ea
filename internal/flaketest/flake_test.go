package flaketest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/vendorhash"
)

const root = "../.."

func abs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

type lockNode struct {
	Inputs   map[string]json.RawMessage `json:"inputs"`
	Locked   map[string]any             `json:"locked"`
	Original map[string]any             `json:"original"`
	Flake    *bool                      `json:"flake"`
}

type lockFile struct {
	Nodes   map[string]lockNode `json:"nodes"`
	Root    string              `json:"root"`
	Version int                 `json:"version"`
}

func readLock(t *testing.T) lockFile {
	t.Helper()
	b, err := os.ReadFile(abs(t, "flake.lock"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l lockFile
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("flake.lock: %v", err)
	}
	return l
}

// flakeInputs evaluates the inputs of flake.nix with Nix itself: the inputs
// attribute of a flake must be a literal, so no nixpkgs is needed.
func flakeInputs(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := run(t, e2e.Tool(t, "nix-instantiate"), "--eval", "--strict", "--json",
		"--argstr", "flake", abs(t, "flake.nix"),
		"-E", "{ flake }: (import (/. + flake)).inputs")
	var in map[string]map[string]any
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("inputs of flake.nix: %v\n%s", err, out)
	}
	return in
}

func TestFlakeParses(t *testing.T) {
	run(t, e2e.Tool(t, "nix-instantiate"), "--parse", abs(t, "flake.nix"))
}

var (
	revRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sriRE = regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`)
)

func TestLockIsPinned(t *testing.T) {
	l := readLock(t)
	if l.Version != 7 {
		t.Errorf("flake.lock version = %d, want 7", l.Version)
	}
	if l.Root != "root" {
		t.Errorf("flake.lock root = %q, want \"root\"", l.Root)
	}
	if _, ok := l.Nodes[l.Root]; !ok {
		t.Fatalf("flake.lock has no node %q", l.Root)
	}
	for name, n := range l.Nodes {
		if name == l.Root {
			continue
		}
		for _, key := range []string{"type", "rev", "narHash", "lastModified"} {
			if _, ok := n.Locked[key]; !ok {
				t.Errorf("node %s: locked has no %s", name, key)
			}
		}
		if rev, _ := n.Locked["rev"].(string); !revRE.MatchString(rev) {
			t.Errorf("node %s: locked rev %q is not a full commit hash", name, rev)
		}
		if h, _ := n.Locked["narHash"].(string); !sriRE.MatchString(h) {
			t.Errorf("node %s: narHash %q is not a sha256 SRI hash", name, h)
		}
		if n.Original == nil {
			t.Errorf("node %s: no original", name)
		}
	}
	np, ok := l.Nodes["nixpkgs"]
	if !ok {
		t.Fatal("flake.lock has no nixpkgs node")
	}
	if ref, _ := np.Original["ref"].(string); !regexp.MustCompile(`^nixos-\d\d\.(05|11)$`).MatchString(ref) {
		t.Errorf("nixpkgs follows %q, want a NixOS release branch (nixos-YY.05 / nixos-YY.11)", ref)
	}
}

// githubRef splits "github:owner/repo/ref" as Nix does for flake inputs.
func githubRef(url string) (owner, repo, ref string, ok bool) {
	rest, found := strings.CutPrefix(url, "github:")
	if !found || strings.ContainsAny(rest, "?#") {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func TestLockMatchesInputs(t *testing.T) {
	inputs := flakeInputs(t)
	l := readLock(t)

	var declared, locked []string
	for name := range inputs {
		declared = append(declared, name)
	}
	rootInputs := map[string]string{}
	for name, raw := range l.Nodes[l.Root].Inputs {
		locked = append(locked, name)
		var node string
		if err := json.Unmarshal(raw, &node); err != nil {
			t.Errorf("root input %s is a follows path (%s); this flake declares no follows", name, raw)
		}
		rootInputs[name] = node
	}
	sort.Strings(declared)
	sort.Strings(locked)
	if strings.Join(declared, ",") != strings.Join(locked, ",") {
		t.Fatalf("flake.nix declares inputs %v, flake.lock's root has %v", declared, locked)
	}

	for name, in := range inputs {
		url, _ := in["url"].(string)
		owner, repo, ref, ok := githubRef(url)
		if !ok {
			t.Errorf("input %s: url %q is not github:OWNER/REPO/REF; extend this test for other kinds", name, url)
			continue
		}
		node, ok := l.Nodes[rootInputs[name]]
		if !ok {
			t.Errorf("input %s points at missing node %q", name, rootInputs[name])
			continue
		}
		want := map[string]any{"type": "github", "owner": owner, "repo": repo, "ref": ref}
		for k, v := range want {
			if node.Original[k] != v {
				t.Errorf("input %s: lock original %s = %v, flake.nix says %v", name, k, node.Original[k], v)
			}
		}
		if len(node.Original) != len(want) {
			t.Errorf("input %s: lock original %v has keys flake.nix does not set", name, node.Original)
		}
		for _, k := range []string{"owner", "repo"} {
			if node.Locked[k] != node.Original[k] {
				t.Errorf("input %s: locked %s %v differs from original %v", name, k, node.Locked[k], node.Original[k])
			}
		}
	}
}

// TestNixAcceptsLockOffline lets Nix itself decide whether flake.lock is up
// to date: with --no-update-lock-file and --offline a lock that does not
// match flake.nix makes it try to re-resolve the input, which fails. It does
// not fetch nixpkgs (the lock already has every node).
func TestNixAcceptsLockOffline(t *testing.T) {
	nix := e2e.Tool(t, "nix")
	dir := t.TempDir()
	for _, f := range []string{"flake.nix", "flake.lock"} {
		b, err := os.ReadFile(abs(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, nix, "--extra-experimental-features", "nix-command flakes",
		"flake", "metadata", "--offline", "--no-update-lock-file", "--no-write-lock-file", "--json", "path:"+dir)
	var meta struct {
		Locks lockFile `json:"locks"`
	}
	if err := json.Unmarshal(out, &meta); err != nil {
		t.Fatalf("nix flake metadata: %v\n%s", err, out)
	}
	want := readLock(t)
	for name, n := range want.Nodes {
		if name == want.Root {
			continue
		}
		got := meta.Locks.Nodes[name]
		if got.Locked["rev"] != n.Locked["rev"] || got.Locked["narHash"] != n.Locked["narHash"] {
			t.Errorf("Nix locked %s at %v %v, flake.lock says %v %v", name,
				got.Locked["rev"], got.Locked["narHash"], n.Locked["rev"], n.Locked["narHash"])
		}
	}
}

func TestVendorHashMatchesGoMod(t *testing.T) {
	e2e.Tool(t, "go")
	src, err := os.ReadFile(abs(t, "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := vendorhash.Find(src)
	if err != nil {
		t.Fatalf("flake.nix: %v", err)
	}
	want, err := vendorhash.Compute(context.Background(), abs(t, "."))
	if err != nil {
		t.Fatal(err)
	}
	if have != want {
		t.Errorf("flake.nix vendorHash = %q, go.mod needs %q (\"\" is null); run: go run ./cmd/vendorhash -write", have, want)
	}
}

// TestGoDirectiveIsALanguageVersion keeps go.mod buildable by any Go 1.N.x
// that the pinned nixpkgs ships: buildGoModule runs with GOTOOLCHAIN=local,
// so "go 1.26.8" would refuse a nixpkgs that has Go 1.26.4.
func TestGoDirectiveIsALanguageVersion(t *testing.T) {
	b, err := os.ReadFile(abs(t, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !regexp.MustCompile(`^1\.\d+(\.0)?$`).Match(m[1]) {
		t.Errorf("go.mod says go %s; write go 1.N.0 so nixpkgs' Go 1.N.x builds it", m[1])
	}
}

// stubEval evaluates the flake's outputs with a stand-in nixpkgs that has
// just the few functions the tested outputs call, so the module and
// lib.render logic is checked by Nix without a nixpkgs checkout.
const stubEval = `{ flake }:
let
  stubLib = {
    optionalAttrs = cond: set: if cond then set else { };
    mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  };
  pkgsFor = system: {
    runCommand = name: env: script: { inherit name script system; inputs = env.nativeBuildInputs; };
  };
  self = {
    packages = builtins.listToAttrs (map (system: { name = system; value.nixgen = "nixgen-for-" + system; })
      [ "x86_64-linux" "aarch64-linux" ]);
  };
  nixpkgs = {
    lib = stubLib;
    legacyPackages = builtins.mapAttrs (system: _: pkgsFor system) self.packages;
  };
  out = (import (/. + flake)).outputs { inherit self nixpkgs; };
  module = options: out.nixosModules.default {
    inherit options;
    lib = stubLib;
    pkgs.stdenv.hostPlatform.system = "aarch64-linux";
    config = { };
  };
in {
  withGeneratedHost = (module { nixgen.helper = { }; }).config;
  withoutGeneratedHost = (module { }).config;
  render = out.lib.render { specs = "/example/specs"; system = "aarch64-linux"; };
  renderDefault = out.lib.render { specs = "/example/specs"; };
}`

func TestModuleAndRenderOutputs(t *testing.T) {
	out := run(t, e2e.Tool(t, "nix-instantiate"), "--eval", "--strict", "--json",
		"--argstr", "flake", abs(t, "flake.nix"), "-E", stubEval)
	type render struct {
		Name, Script, System string
		Inputs               []string
	}
	var got struct {
		WithGeneratedHost     map[string]map[string]map[string]any
		WithoutGeneratedHost  map[string]any
		Render, RenderDefault render
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	helper := got.WithGeneratedHost["nixgen"]["helper"]
	if helper["_type"] != "override" || helper["content"] != "nixgen-for-aarch64-linux" {
		t.Errorf("with a generated host, nixgen.helper = %v; want mkDefault of this flake's package for the host's system", helper)
	}
	if len(got.WithoutGeneratedHost) != 0 {
		t.Errorf("without a generated host the module must set nothing (the option would not exist), got %v", got.WithoutGeneratedHost)
	}

	r := got.Render
	if !strings.Contains(r.Script, `nixgen render --specs /example/specs --out "$out"`) {
		t.Errorf("lib.render script = %q, want it to run nixgen render into $out", r.Script)
	}
	if r.System != "aarch64-linux" || len(r.Inputs) != 1 || r.Inputs[0] != "nixgen-for-aarch64-linux" {
		t.Errorf("lib.render for aarch64-linux uses system %q with inputs %v", r.System, r.Inputs)
	}
	if got.RenderDefault.System != "x86_64-linux" {
		t.Errorf("lib.render default system = %q, want x86_64-linux", got.RenderDefault.System)
	}
}
