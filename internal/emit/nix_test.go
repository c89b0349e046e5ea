package emit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
)

// nixInstantiate returns the nix-instantiate binary, skipping the test when
// it is missing unless NIXGEN_E2E=1 demands it.
func nixInstantiate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("NIXGEN_E2E") == "1" {
			t.Fatal("nix-instantiate not found and NIXGEN_E2E=1")
		}
		t.Skip("nix-instantiate not found")
	}
	return p
}

// writeTree writes a rendered tree under dir, renaming each host directory
// to its index so the Nix driver needs no quoting of its own.
func writeTree(t testing.TB, dir string, spec *model.Spec, out map[string][]byte) {
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

func TestRenderedNixParses(t *testing.T) {
	nix := nixInstantiate(t)
	for name, spec := range map[string]*model.Spec{
		"rich":    richSpec(4),
		"plain":   plainSpec(),
		"hostile": hostileSpec(),
		"mixed":   mixedSpec(),
	} {
		out, err := Render(spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dir := t.TempDir()
		writeTree(t, dir, spec, out)
		var files []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".nix") {
				files = append(files, p)
			}
			return err
		})
		if len(files) < 4 {
			t.Fatalf("%s: only %d .nix files rendered", name, len(files))
		}
		// One nix-instantiate call parses them all; it stops at the first error.
		cmd := exec.Command(nix, append([]string{"--parse"}, files...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: nix-instantiate --parse: %v\n%s", name, err, stderr.String())
		}
	}
}

// The parse test must be able to fail.
func TestNixParseRejectsBrokenNix(t *testing.T) {
	nix := nixInstantiate(t)
	p := filepath.Join(t.TempDir(), "bad.nix")
	os.WriteFile(p, []byte(`{ x = "unterminated; }`), 0o644)
	if err := exec.Command(nix, "--parse", p).Run(); err == nil {
		t.Fatal("nix-instantiate --parse accepted broken Nix")
	}
}

// hostile holds strings that break naive quoting in Nix, systemd or a shell.
var hostile = []string{
	`dq"uote`, `back\slash`, `interp${x}`, `dollar$${x}`, `$`, `end$`, `$\`,
	`two''single`, `''${x}`, `'''`, `\${`, "new\nline", "carriage\rreturn", "crlf\r\n",
	"tab\there", "ünïcödé ✓ 🚀", `pct%i%%`, `sp ace`, `semi;colon`, `hash#x`,
	`{braces}`, `in`, `or`, `a.b`, `1digit`, `-dash`, `x'`, "ctl\x01", `$HOME`, `"`,
}

// noCtl drops control characters, for fields that systemd cannot hold them in.
func noCtl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// hostileSpec puts hostile string i into every string-bearing field of
// service i, repository i and policy i.
func hostileSpec() *model.Spec {
	spec := &model.Spec{}
	h := &model.Host{Name: "ho\"st ${x}", ParentDataset: "tank/svc", ParentMount: "/srv"}
	for i, s := range hostile {
		repo := "repo" + s
		policy := "pol" + s
		spec.Repositories = append(spec.Repositories, &model.Repository{
			Name: repo, URL: "s3:" + s, PasswordFile: "/pw" + s, EnvironmentFile: "/env" + s,
			Retention:     &model.Retention{Last: i + 1, Daily: 7},
			PruneSchedule: "prune" + s, CheckSchedule: "check" + s, CheckSubset: s,
		})
		spec.Policies = append(spec.Policies, &model.SnapshotPolicy{Name: policy, Frequently: i % 2, Hourly: i, Autosnap: true})
		spec.Notifiers = append(spec.Notifiers, &model.Notifier{Name: "n" + s, Type: "webhook", URL: "https://x/" + s, TokenFile: "/tok" + s})
		name := "svc" + s
		h.Services = append(h.Services, &model.Service{
			Name: name, Unit: name + ".service", User: "u" + s, Group: "g" + s, Mode: "0750",
			Dataset: "tank/svc/" + s, Mountpoint: "/srv/m" + noCtl(s),
			Properties: []model.Property{{Name: "user:prop", Value: s}, {Name: "utf8only", Value: "on", CreateOnly: true}},
			Backup: &model.Backup{Repository: repo, Paths: []string{"/srv/p" + s, "/var/q" + s},
				Exclude: []string{s, "**/" + s}, Tags: []string{s, "t" + s}, Schedule: "sched" + s},
			Snapshots:   &model.Snapshots{Policy: policy},
			Replication: &model.Replication{Target: "u@h:" + s, TargetUser: "u", TargetHost: "h", TargetDataset: "b/" + s, SSHKey: "/key" + s, Schedule: "rep" + s},
			Preseed:     &model.Preseed{Methods: []string{"syncoid", "local", "restic"}, Timeout: time.Duration(i+1) * time.Minute, OnFailure: []string{"block", "start-empty"}[i%2]},
			Notify:      []string{"n" + s},
		})
	}
	sort.Slice(h.Services, func(i, j int) bool { return h.Services[i].Name < h.Services[j].Name })
	spec.Hosts = []*model.Host{h}
	return spec
}

// mixedSpec has two hosts and services that use only some features.
func mixedSpec() *model.Spec {
	spec := richSpec(4)
	s := spec.Hosts[0].Services
	s[0].Backup, s[0].Preseed = nil, nil
	s[1].Replication, s[1].Snapshots = nil, nil
	s[1].Preseed.Methods = []string{"local", "restic"}
	s[2].Unit = "svc00002@main.socket"
	s[3].Unit = "srv-svc00003.mount"
	spec.Hosts = append(spec.Hosts, plainSpec().Hosts[0])
	return spec
}

// driver evaluates every generated file of host h0 with a minimal stand-in
// for the NixOS module arguments and returns the values as JSON.
const driver = `
let
  lib = {
    mkOption = attrs: attrs;
    mkForce = value: value;
    types.package = "package";
  };
  args = {
    inherit lib;
    pkgs = { restic = "restic"; sanoid = "sanoid"; openssh = "openssh"; rclone = "rclone"; };
    config = { nixgen.helper = "/helper"; boot.zfs.package = "zfs"; };
  };
  dir = ./h0;
in {
  # toString keeps import paths as paths on disk: copying them to the store
  # (as JSON output would) rejects the characters hostile names contain.
  default = let d = import (dir + "/default.nix") args; in d // { imports = map toString d.imports; };
  datasets = import (dir + "/datasets.nix") args;
  protection = import (dir + "/protection.nix") args;
  services = builtins.mapAttrs (file: _: import (dir + "/services/${file}") args)
    (builtins.readDir (dir + "/services"));
}
`

func evalTree(t *testing.T, spec *model.Spec, out map[string][]byte) map[string]any {
	t.Helper()
	nix := nixInstantiate(t)
	dir := t.TempDir()
	writeTree(t, dir, spec, out)
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

// get walks nested JSON objects.
func get(t *testing.T, v any, path ...string) any {
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

// jsonValue converts a Go value to what encoding/json decodes, for comparison.
func jsonValue(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

func expect(t *testing.T, what string, got, want any) {
	t.Helper()
	if w := jsonValue(t, want); !reflect.DeepEqual(got, w) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, w)
	}
}

func expectGo(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func mustSd(t *testing.T, f func(string) (string, error), s string) string {
	q, err := f(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestHostileRoundTrip renders hostile strings, evaluates the modules with
// real Nix and checks that every value arrives unchanged (or, where systemd
// parses it, exactly systemd-quoted).
func TestHostileRoundTrip(t *testing.T) {
	spec := hostileSpec()
	out, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	v := evalTree(t, spec, out)
	h := spec.Hosts[0]

	var imports []string
	for _, p := range get(t, v, "default", "imports").([]any) {
		rel := p.(string)[strings.Index(p.(string), "/h0/")+4:]
		imports = append(imports, rel)
	}
	wantImports := []string{"datasets.nix", "protection.nix"}
	for _, s := range h.Services {
		wantImports = append(wantImports, "services/"+s.Name+".nix")
	}
	expectGo(t, "default.nix imports", imports, wantImports)
	storePath := regexp.MustCompile(`^/nix/store/[0-9a-z]{32}-manifest\.json$`)
	for _, s := range h.Services {
		file := s.Name + ".nix"
		mod := get(t, v, "services", file)
		pre := get(t, mod, "systemd", "services", "nixgen-preseed-"+s.Name)
		expect(t, s.Name+" before", get(t, pre, "before"), []string{s.Unit})
		expect(t, s.Name+" RequiresMountsFor", get(t, pre, "unitConfig", "RequiresMountsFor"),
			[]string{mustSd(t, sdPathArg, s.Mountpoint)})
		expect(t, s.Name+" TimeoutStartSec", get(t, pre, "serviceConfig", "TimeoutStartSec"),
			int64(3*s.Preseed.Timeout/time.Second)+int64(preseedMargin/time.Second))
		exe := get(t, pre, "serviceConfig", "ExecStart").(string)
		head, tail, ok := strings.Cut(exe, " --service ")
		mp, _ := strings.CutPrefix(head, "/helper/bin/nixgen-helper preseed --manifest ")
		if !ok || !storePath.MatchString(mp) {
			t.Errorf("%s ExecStart = %q", s.Name, exe)
		}
		if back, err := sdExecUnquote(tail); err != nil || back != s.Name {
			t.Errorf("%s ExecStart service argument %q reads back as %q, %v", s.Name, tail, back, err)
		}
		dep := map[string]string{"block": "requires", "start-empty": "wants"}[s.Preseed.OnFailure]
		main := get(t, mod, "systemd", "services", strings.TrimSuffix(s.Unit, ".service"))
		expect(t, s.Name+" main "+dep, get(t, main, dep), []string{"nixgen-preseed-" + s.Name + ".service"})

		r := spec.Repository(s.Backup.Repository)
		job := get(t, mod, "services", "restic", "backups", s.Name)
		var args []string
		for _, tag := range s.Backup.Tags {
			args = append(args, "--tag", mustSd(t, sdExecArg, tag))
		}
		wantJob := map[string]any{
			"repository": r.URL, "passwordFile": r.PasswordFile, "environmentFile": r.EnvironmentFile,
			"initialize": true, "paths": s.Backup.Paths, "exclude": s.Backup.Exclude,
			"extraBackupArgs": args,
			"timerConfig":     map[string]any{"OnCalendar": s.Backup.Schedule, "RandomizedDelaySec": "15m", "Persistent": true},
		}
		if shellUnsafe(r) {
			wantJob["createWrapper"] = false
		}
		expect(t, s.Name+" restic job", job, wantJob)
		expect(t, s.Name+" restic after preseed", get(t, mod, "systemd", "services", "restic-backups-"+s.Name, "after"),
			[]string{"nixgen-preseed-" + s.Name + ".service"})
		expect(t, s.Name+" sanoid", get(t, mod, "services", "sanoid", "datasets", s.Dataset),
			map[string]any{"useTemplate": []string{s.Snapshots.Policy}, "recursive": false})
		cmd := get(t, mod, "services", "syncoid", "commands", s.Dataset)
		for k, want := range map[string]any{"source": s.Dataset, "target": s.Replication.Target, "sshKey": s.Replication.SSHKey} {
			expect(t, s.Name+" syncoid "+k, get(t, cmd, k), want)
		}
		if s.Replication.Schedule != get(t, v, "protection", "services", "syncoid", "interval") {
			expect(t, s.Name+" syncoid startAt", get(t, cmd, "service", "startAt"), s.Replication.Schedule)
		}
	}
	for _, r := range spec.Repositories {
		prune := get(t, v, "protection", "services", "restic", "backups", "nixgen-prune-"+r.Name)
		wantPrune := map[string]any{
			"repository": r.URL, "passwordFile": r.PasswordFile, "environmentFile": r.EnvironmentFile,
			"pruneOpts":   pruneOpts(r.Retention),
			"timerConfig": map[string]any{"OnCalendar": r.PruneSchedule, "RandomizedDelaySec": "1h", "Persistent": true},
		}
		if shellUnsafe(r) {
			wantPrune["createWrapper"] = false
		}
		expect(t, r.Name+" prune", prune, wantPrune)
		check := get(t, v, "protection", "services", "restic", "backups", "nixgen-check-"+r.Name)
		opts := get(t, check, "checkOpts").([]any)
		if back, err := sdExecUnquote(opts[0].(string)); len(opts) != 1 || err != nil || back != "--read-data-subset="+r.CheckSubset {
			t.Errorf("%s checkOpts %q read back as %q, %v", r.Name, opts, back, err)
		}
		expect(t, r.Name+" check schedule", get(t, check, "timerConfig", "OnCalendar"), r.CheckSchedule)
	}
	for _, p := range spec.Policies {
		expect(t, p.Name+" template", get(t, v, "protection", "services", "sanoid", "templates", p.Name),
			map[string]any{"frequently": p.Frequently, "hourly": p.Hourly, "daily": 0, "weekly": 0, "monthly": 0, "yearly": 0, "autosnap": true, "autoprune": false})
	}
	expect(t, "sanoid interval", get(t, v, "protection", "services", "sanoid", "interval"), "*:0/15")

	// manifest.json carries the same strings to the helper, which decodes it strictly.
	var key string
	for k := range out {
		if strings.HasSuffix(k, "/manifest.json") {
			key = k
		}
	}
	m, err := manifest.Decode(bytes.NewReader(out[key]))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range h.Services {
		ms := m.Services[i]
		expectGo(t, s.Name+" manifest", ms, manifest.Service{
			Name: s.Name, Unit: s.Unit, Dataset: s.Dataset, Mountpoint: s.Mountpoint, User: s.User, Group: s.Group, Mode: s.Mode,
			Properties: map[string]string{"user:prop": s.Properties[0].Value, "utf8only": "on"}, CreateOnly: []string{"utf8only"},
			Preseed: &manifest.Preseed{Methods: s.Preseed.Methods, TimeoutSeconds: int64(s.Preseed.Timeout / time.Second), OnFailure: s.Preseed.OnFailure},
			Backup:  &manifest.Backup{Repository: s.Backup.Repository, Paths: s.Backup.Paths, Tags: s.Backup.Tags},
			Replication: &manifest.Replication{Target: s.Replication.Target, User: s.Replication.TargetUser, Host: s.Replication.TargetHost,
				Dataset: s.Replication.TargetDataset, SSHKey: s.Replication.SSHKey},
			Notify: s.Notify,
		})
	}
	for _, n := range spec.Notifiers {
		expectGo(t, n.Name+" manifest notifier", m.Notifiers[n.Name], manifest.Notifier{Type: n.Type, URL: n.URL, TokenFile: n.TokenFile})
	}
	for _, r := range spec.Repositories {
		expectGo(t, r.Name+" manifest repository", m.Repositories[r.Name], manifest.Repository{URL: r.URL, PasswordFile: r.PasswordFile, EnvironmentFile: r.EnvironmentFile})
	}
}
