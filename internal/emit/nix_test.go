package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/nixeval"
)

func TestRenderedNixParses(t *testing.T) {
	nix := nixInstantiate(t)
	for name, spec := range map[string]*model.Spec{
		"rich":    richSpec(4),
		"plain":   plainSpec(),
		"hostile": hostileSpec(),
		"mixed":   mixedSpec(),
	} {
		out := Render(spec)
		dir := t.TempDir()
		nixeval.WriteTree(t, dir, spec, out)
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

// hostileSpec puts hostile string i into every free-text field of
// service i, repository i and policy i. Names, datasets, users, mountpoints
// and the values that reach syncoid's shell must pass internal/rules
// (Render validates the manifest, as the helper does), so they get names
// that pass and still need quoting in Nix.
func hostileSpec() *model.Spec {
	spec := &model.Spec{}
	h := &model.Host{Name: "ho.st-1", ParentDataset: "tank/svc", ParentMount: "/srv", Jobs: model.JobLimits{RandomizedDelay: 90 * time.Minute}}
	syncoidUnits := map[string]bool{}
	for i, s := range hostile {
		name := hostileName(i)
		repo := "repo." + name
		policy := "pol." + name
		// Secret file paths with "%" are rejected (systemd would expand them).
		noPct := strings.ReplaceAll(s, "%", "")
		spec.Repositories = append(spec.Repositories, &model.Repository{
			Name: repo, URL: "s3:" + s, PasswordFile: "/pw" + noPct, EnvironmentFile: "/env" + noPct,
			Retention:     &model.Retention{Last: i + 1, Daily: 7},
			PruneSchedule: "prune" + s, CheckSchedule: "check" + s, CheckSubset: s, DrillSchedule: "drill" + s,
			PruneTimeout: time.Duration(i+1) * time.Hour, CheckTimeout: time.Duration(i+2) * time.Hour, DrillTimeout: time.Duration(i+3) * time.Minute,
		})
		spec.Policies = append(spec.Policies, &model.SnapshotPolicy{Name: policy, Frequently: i % 2, Hourly: i, Autosnap: true})
		spec.Notifiers = append(spec.Notifiers, &model.Notifier{Name: "n." + name, Type: "webhook", URL: "https://x/?q=" + noCtl(s), TokenFile: "/tok" + noPct})
		// Mountpoints reach systemd paths (the backup bind mount), which cannot hold control characters.
		mp := "/srv/m" + noCtl(s)
		user := fmt.Sprintf("u%d", i)
		if i%2 == 1 {
			user += "$"
		}
		h.Services = append(h.Services, &model.Service{
			Name: name, Unit: name + ".service", User: user, Group: "_g" + user, Mode: "0750",
			Dataset: "tank/svc/" + name, Mountpoint: mp,
			Properties: []model.Property{{Name: "user:prop", Value: s}, {Name: "utf8only", Value: "on", CreateOnly: true}},
			Backup: &model.Backup{Repositories: []string{repo}, Paths: []string{mp + "/p" + s, mp + "/q" + s},
				Exclude: []string{s, "**/" + s}, Tags: []string{s, "t" + s}, Schedule: "sched" + s, Timeout: time.Duration(i+1) * time.Minute},
			Snapshots: &model.Snapshots{Policy: policy},
			// Targets and keys reach a shell through syncoid: only the
			// shell-safe characters that rules.ShellWord allows.
			Replication: &model.Replication{Target: fmt.Sprintf("u_1@h%d.lan:b/%s", i, name), TargetUser: "u_1", TargetHost: fmt.Sprintf("h%d.lan", i), TargetDataset: "b/" + name,
				SSHKey: "/key/" + name + "+=,:@", Schedule: "rep" + s, Timeout: 12 * time.Hour, SendOptions: "wp"},
			Preseed: &model.Preseed{Methods: []string{"syncoid", "local", "restic"}, Timeout: time.Duration(i+1) * time.Minute, OnFailure: []string{"block", "start-empty"}[i%2]},
			Notify:  []string{"n." + name},
		})
		// NixOS names syncoid units after an escaped command name; replicate
		// only the services whose units stay distinct.
		if u := hostfacts.SyncoidUnit(name); syncoidUnits[u] {
			last := h.Services[len(h.Services)-1]
			last.Replication, last.Preseed.Methods = nil, []string{"local", "restic"}
		} else {
			syncoidUnits[u] = true
		}
	}
	sort.Slice(h.Services, func(i, j int) bool { return h.Services[i].Name < h.Services[j].Name })
	spec.Hosts = []*model.Host{h}
	return spec
}

// hostileNames are names that pass the name rules (rules.Name) but are Nix
// keywords or need quoting as attribute names.
var hostileNames = []string{"in", "or", "a.b", "1digit", "let", "rec", "inherit", "then", "x-y_z", "with", "assert", "else", "if", "0", "a..b"}

// hostileName is service name i: a hostile one first, then plain ones.
func hostileName(i int) string {
	if i < len(hostileNames) {
		return hostileNames[i]
	}
	return fmt.Sprintf("svc%d.x", i)
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
	out := Render(spec)
	v := nixeval.Host(t, spec, out)
	h := spec.Hosts[0]

	var imports []string
	for _, p := range nixeval.Get(t, v, "default", "imports").([]any) {
		rel := p.(string)[strings.Index(p.(string), "/h0/")+4:]
		imports = append(imports, rel)
	}
	wantImports := []string{"datasets.nix", "protection.nix", "monitoring.nix"}
	for _, s := range h.Services {
		wantImports = append(wantImports, "services/"+s.Name+".nix")
	}
	expectGo(t, "default.nix imports", imports, wantImports)
	storePath := regexp.MustCompile(`^/nix/store/[0-9a-z]{32}-manifest\.json$`)

	// nixgen-metrics: every 5 minutes and after each datasets apply; the
	// rules only where Prometheus runs.
	mon := nixeval.Get(t, v, "monitoring")
	exe, _ := strings.CutPrefix(nixeval.Get(t, mon, "systemd", "services", "nixgen-metrics", "serviceConfig", "ExecStart").(string), "/helper/bin/nixgen-helper metrics --manifest ")
	if !storePath.MatchString(exe) {
		t.Errorf("nixgen-metrics ExecStart manifest %q", exe)
	}
	expect(t, "metrics timer", nixeval.Get(t, mon, "systemd", "timers", "nixgen-metrics", "timerConfig", "OnCalendar"), "*:0/5")
	expect(t, "ruleFiles condition", nixeval.Get(t, mon, "services", "prometheus", "ruleFiles", "_if"), true)
	if rf := nixeval.Get(t, mon, "services", "prometheus", "ruleFiles", "_then").([]any); len(rf) != 1 || !strings.HasSuffix(rf[0].(string), "/alerts.rules.yml") {
		t.Errorf("ruleFiles = %v", rf)
	}
	// The manifest is also at /etc/nixgen/manifest.json, the helper's default.
	if src, _ := nixeval.Get(t, v, "datasets", "environment", "etc", hostfacts.ManifestEtc, "source").(string); !storePath.MatchString(src) {
		t.Errorf("environment.etc.%q.source = %q", hostfacts.ManifestEtc, src)
	}
	startMetrics := "-/systemd/bin/systemctl start --no-block nixgen-metrics.service"
	expect(t, "datasets ExecStartPost", nixeval.Get(t, v, "datasets", "systemd", "services", "nixgen-datasets", "serviceConfig", "ExecStartPost"), startMetrics)
	if r := nixeval.Get(t, v, "datasets", "systemd", "services", "nixgen-datasets", "serviceConfig", "ExecReload").([]any); len(r) != 2 || r[1] != startMetrics {
		t.Errorf("datasets ExecReload = %v", r)
	}
	for _, s := range h.Services {
		file := s.Name + ".nix"
		mod := nixeval.Get(t, v, "services", file)
		pre := nixeval.Get(t, mod, "systemd", "services", "nixgen-preseed-"+s.Name)
		expect(t, s.Name+" before", nixeval.Get(t, pre, "before"), []string{s.Unit})
		expect(t, s.Name+" RequiresMountsFor", nixeval.Get(t, pre, "unitConfig", "RequiresMountsFor"),
			[]string{mustSd(t, sdPathArg, s.Mountpoint)})
		expect(t, s.Name+" TimeoutStartSec", nixeval.Get(t, pre, "serviceConfig", "TimeoutStartSec"),
			int64(len(s.Preseed.Methods))*int64(s.Preseed.Timeout/time.Second)+int64(preseedMargin/time.Second))
		exe := nixeval.Get(t, pre, "serviceConfig", "ExecStart").(string)
		head, tail, ok := strings.Cut(exe, " --service ")
		mp, _ := strings.CutPrefix(head, "/helper/bin/nixgen-helper preseed --manifest ")
		// The preseed unit reads its own manifest: this service alone.
		if !ok || !regexp.MustCompile(`^/nix/store/[0-9a-z]{32}-`+regexp.QuoteMeta(s.Name)+`\.preseed\.json$`).MatchString(mp) {
			t.Errorf("%s ExecStart = %q", s.Name, exe)
		}
		b := out[h.Name+"/"+PreseedManifest(s.Name)]
		if pm, err := manifest.Decode(bytes.NewReader(b)); err != nil || len(pm.Services) != 1 || pm.Services[0].Name != s.Name {
			t.Errorf("%s: its preseed manifest does not hold this service alone: %v\n%s", s.Name, err, b)
		}
		if back, err := sdExecUnquote(tail); err != nil || back != s.Name {
			t.Errorf("%s ExecStart service argument %q reads back as %q, %v", s.Name, tail, back, err)
		}
		dep := map[string]string{"block": "requires", "start-empty": "wants"}[s.Preseed.OnFailure]
		main := nixeval.Get(t, mod, "systemd", "services", strings.TrimSuffix(s.Unit, ".service"))
		expect(t, s.Name+" main "+dep, nixeval.Get(t, main, dep), []string{"nixgen-preseed-" + s.Name + ".service"})

		r := spec.Repository(s.Backup.Repositories[0])
		job := nixeval.Get(t, mod, "services", "restic", "backups", s.Name)
		args := []string{"--retry-lock=2h"}
		for _, tag := range s.Backup.Tags {
			args = append(args, "--tag", mustSd(t, sdExecArg, tag))
		}
		wantJob := map[string]any{
			"passwordFile": r.PasswordFile, "environmentFile": r.EnvironmentFile,
			"initialize": r.Initialize, "paths": globEscaped(s.Backup.Paths), "exclude": s.Backup.Exclude,
			"extraBackupArgs": args, "timerConfig": nil,
		}
		setRepository(wantJob, r)
		if shellUnsafe(r) {
			wantJob["createWrapper"] = false
		}
		expect(t, s.Name+" restic job", job, wantJob)
		unit := nixeval.Get(t, mod, "systemd", "services", "restic-backups-"+s.Name)
		expect(t, s.Name+" restic after preseed", nixeval.Get(t, unit, "after"), []string{"nixgen-preseed-" + s.Name + ".service"})
		expect(t, s.Name+" restic notify", hooks(unit), notifyHooks)
		sc := nixeval.Get(t, unit, "serviceConfig")
		for k, verb := range map[string]string{"ExecStartPre": "create", "ExecStopPost": "release"} {
			order := map[string]string{"ExecStartPre": "_before", "ExecStopPost": "_after"}[k]
			cmds := nixeval.Get(t, sc, k, order).([]any)
			head, tail, ok := strings.Cut(cmds[0].(string), " --service ")
			mp, _ := strings.CutPrefix(head, "+/helper/bin/nixgen-helper backup-snapshot "+verb+" --manifest ")
			if len(cmds) != 1 || !ok || !storePath.MatchString(mp) {
				t.Errorf("%s %s = %q", s.Name, k, cmds)
			}
			if back, err := sdExecUnquote(tail); err != nil || back != s.Name {
				t.Errorf("%s %s service argument %q reads back as %q, %v", s.Name, k, tail, back, err)
			}
		}
		bind := nixeval.Get(t, sc, "BindReadOnlyPaths").([]any)
		if src, dst, err := sdBindUnquote(bind[0].(string)); len(bind) != 1 || err != nil || src != "/run/nixgen/backup/"+s.Name || dst != s.Mountpoint {
			t.Errorf("%s BindReadOnlyPaths %q reads back as %q:%q, %v", s.Name, bind, src, dst, err)
		}
		expect(t, s.Name+" restic TimeoutStartSec", nixeval.Get(t, sc, "TimeoutStartSec"), seconds(s.Backup.Timeout))
		expect(t, s.Name+" restic sandbox", nixeval.Get(t, sc, "ProtectSystem"), map[string]any{"_default": "full"})
		var replTimeout time.Duration
		if s.Replication != nil {
			replTimeout = s.Replication.Timeout
		}
		checkWrapper(t, s.Name, nixeval.Get(t, mod, "systemd", "services", "nixgen-backup-"+s.Name), "restic-backups-"+s.Name+".service",
			seconds(replTimeout+lockMargin), seconds(replTimeout+lockMargin)+seconds(s.Backup.Timeout+lockMargin))
		expect(t, s.Name+" backup timer", nixeval.Get(t, mod, "systemd", "timers", "nixgen-backup-"+s.Name, "timerConfig"),
			map[string]any{"OnCalendar": s.Backup.Schedule, "RandomizedDelaySec": map[string]any{"_default": 5400}, "Persistent": true})

		expect(t, s.Name+" sanoid", nixeval.Get(t, mod, "services", "sanoid", "datasets", s.Dataset),
			map[string]any{"useTemplate": []string{s.Snapshots.Policy}, "recursive": false})
		if s.Replication == nil {
			continue
		}
		cmd := nixeval.Get(t, mod, "services", "syncoid", "commands", s.Name)
		for k, want := range map[string]any{"source": s.Dataset, "target": s.Replication.Target, "sshKey": s.Replication.SSHKey} {
			expect(t, s.Name+" syncoid "+k, nixeval.Get(t, cmd, k), want)
		}
		expect(t, s.Name+" syncoid startAt", nixeval.Get(t, cmd, "service", "startAt"), map[string]any{"_force": []string{}})
		expect(t, s.Name+" syncoid notify", hooks(nixeval.Get(t, cmd, "service")), notifyHooks)
		checkWrapper(t, s.Name, nixeval.Get(t, mod, "systemd", "services", "nixgen-replicate-"+s.Name), hostfacts.SyncoidUnit(s.Name)+".service",
			seconds(s.Backup.Timeout+lockMargin), seconds(s.Backup.Timeout+lockMargin)+seconds(s.Replication.Timeout+lockMargin))
		expect(t, s.Name+" replication timer", nixeval.Get(t, mod, "systemd", "timers", "nixgen-replicate-"+s.Name, "timerConfig"),
			map[string]any{"OnCalendar": s.Replication.Schedule, "RandomizedDelaySec": map[string]any{"_default": "5m"}, "Persistent": true})
	}
	for _, r := range []string{"failure", "success"} {
		exe := nixeval.Get(t, v, "protection", "systemd", "services", "nixgen-notify-"+r+"@", "serviceConfig", "ExecStart").([]any)
		for i, part := range []string{"notifiers", "metrics"} {
			prefix := []string{"", "!"}[i] + "/helper/bin/nixgen-helper notify --manifest "
			mp, rest, _ := strings.Cut(strings.TrimPrefix(exe[i].(string), prefix), " ")
			if len(exe) != 2 || !storePath.MatchString(mp) || rest != "--unit %i --result "+r+" --only "+part {
				t.Errorf("notify %s ExecStart = %q", r, exe)
			}
		}
	}
	expect(t, "sanoid notify", hooks(nixeval.Get(t, v, "protection", "systemd", "services", "sanoid")), notifyHooks)
	for _, r := range spec.Repositories {
		prune := nixeval.Get(t, v, "protection", "services", "restic", "backups", "nixgen-prune-"+r.Name)
		wantPrune := map[string]any{
			"passwordFile": r.PasswordFile, "environmentFile": r.EnvironmentFile,
			"pruneOpts":   append([]string{"--retry-lock=2h"}, pruneOpts(r.Retention)...),
			"timerConfig": map[string]any{"OnCalendar": r.PruneSchedule, "RandomizedDelaySec": map[string]any{"_default": "1h"}, "Persistent": true},
		}
		setRepository(wantPrune, r)
		for _, job := range []string{"nixgen-prune-", "nixgen-check-"} {
			h := hooks(nixeval.Get(t, v, "protection", "systemd", "services", "restic-backups-"+job+r.Name))
			delete(h, "serviceConfig")
			expect(t, r.Name+" "+job+" notify", h, notifyHooks)
		}
		drill := nixeval.Get(t, v, "protection", "systemd", "services", "nixgen-drill-"+r.Name)
		expect(t, r.Name+" drill notify", hooks(drill), notifyHooks)
		exe := nixeval.Get(t, drill, "serviceConfig", "ExecStart").(string)
		head, tail, ok := strings.Cut(exe, " --repository ")
		mp, _ := strings.CutPrefix(head, "/helper/bin/nixgen-helper restore-test --manifest ")
		tail, limit, ok2 := strings.Cut(tail, " --timeout ")
		if back, err := sdExecUnquote(tail); !ok || !ok2 || !storePath.MatchString(mp) || err != nil || back != r.Name || limit != fmt.Sprintf("%ds", seconds(r.DrillTimeout)) {
			t.Errorf("%s drill ExecStart %q: repository reads back as %q, %v", r.Name, exe, back, err)
		}
		expect(t, r.Name+" drill TimeoutStartSec", nixeval.Get(t, drill, "serviceConfig", "TimeoutStartSec"), seconds(r.DrillTimeout+drillMargin))
		for job, limit := range map[string]time.Duration{"nixgen-prune-": r.PruneTimeout, "nixgen-check-": r.CheckTimeout} {
			expect(t, r.Name+" "+job+" TimeoutStartSec", nixeval.Get(t, v, "protection", "systemd", "services", "restic-backups-"+job+r.Name, "serviceConfig", "TimeoutStartSec"), seconds(limit))
		}
		expect(t, r.Name+" drill timer", nixeval.Get(t, v, "protection", "systemd", "timers", "nixgen-drill-"+r.Name, "timerConfig"),
			map[string]any{"OnCalendar": r.DrillSchedule, "RandomizedDelaySec": map[string]any{"_default": "1h"}, "Persistent": true})
		if shellUnsafe(r) {
			wantPrune["createWrapper"] = false
		}
		expect(t, r.Name+" prune", prune, wantPrune)
		check := nixeval.Get(t, v, "protection", "services", "restic", "backups", "nixgen-check-"+r.Name)
		opts := nixeval.Get(t, check, "checkOpts").([]any)
		if len(opts) != 2 || opts[0] != "--retry-lock=2h" {
			t.Errorf("%s checkOpts %q: want --retry-lock=2h and --read-data-subset", r.Name, opts)
		} else if back, err := sdExecUnquote(opts[1].(string)); err != nil || back != "--read-data-subset="+r.CheckSubset {
			t.Errorf("%s checkOpts %q read back as %q, %v", r.Name, opts, back, err)
		}
		expect(t, r.Name+" check schedule", nixeval.Get(t, check, "timerConfig", "OnCalendar"), r.CheckSchedule)
	}
	for _, p := range spec.Policies {
		expect(t, p.Name+" template", nixeval.Get(t, v, "protection", "services", "sanoid", "templates", p.Name),
			map[string]any{"frequently": p.Frequently, "hourly": p.Hourly, "daily": 0, "weekly": 0, "monthly": 0, "yearly": 0, "autosnap": true, "autoprune": false})
	}
	expect(t, "sanoid interval", nixeval.Get(t, v, "protection", "services", "sanoid", "interval"), map[string]any{"_default": "*:0/15"})

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
			Snapshots:   s.Snapshots != nil && spec.Policy(s.Snapshots.Policy).Autosnap,
			Preseed:     &manifest.Preseed{Methods: s.Preseed.Methods, TimeoutSeconds: int64(s.Preseed.Timeout / time.Second), OnFailure: s.Preseed.OnFailure},
			Backup:      &manifest.Backup{Repository: s.Backup.Repositories[0], Paths: s.Backup.Paths, Tags: s.Backup.Tags},
			Replication: manifestReplication(s.Replication),
			Notify:      s.Notify,
		})
	}
	jobs := map[string]manifest.Job{}
	for _, j := range m.Jobs {
		jobs[j.Unit] = j
	}
	for _, s := range h.Services {
		expectGo(t, s.Name+" backup job", jobs["restic-backups-"+s.Name+".service"], manifest.Job{
			Unit: "restic-backups-" + s.Name + ".service", Kind: manifest.JobBackup, Service: s.Name,
			Repository: s.Backup.Repositories[0], Notify: s.Notify})
		if s.Replication != nil {
			u := hostfacts.SyncoidUnit(s.Name) + ".service"
			expectGo(t, s.Name+" replication job", jobs[u], manifest.Job{Unit: u, Kind: manifest.JobReplication, Service: s.Name, Notify: s.Notify})
		}
	}
	for _, r := range spec.Repositories {
		notify := model.NotifiersOf(h.Services, func(s *model.Service) bool { return s.Backup.Uses(r.Name) })
		for unit, kind := range map[string]string{
			"restic-backups-nixgen-prune-" + r.Name + ".service": manifest.JobPrune,
			"restic-backups-nixgen-check-" + r.Name + ".service": manifest.JobCheck,
			"nixgen-drill-" + r.Name + ".service":                manifest.JobDrill,
		} {
			expectGo(t, unit+" job", jobs[unit], manifest.Job{Unit: unit, Kind: kind, Repository: r.Name, Notify: notify})
		}
	}
	if len(m.Jobs) != len(jobs) || len(jobs) < 4*len(h.Services) {
		t.Errorf("%d jobs (%d distinct units) for %d services", len(m.Jobs), len(jobs), len(h.Services))
	}
	for _, n := range spec.Notifiers {
		expectGo(t, n.Name+" manifest notifier", m.Notifiers[n.Name], manifest.Notifier{Type: n.Type, URL: n.URL, TokenFile: n.TokenFile})
	}
	// Their token files reach the notify units as credentials.
	var creds []any
	for _, n := range spec.Notifiers {
		creds = append(creds, manifest.CredentialToken(n.Name)+":"+n.TokenFile)
	}
	sort.Slice(creds, func(i, j int) bool { return creds[i].(string) < creds[j].(string) })
	expect(t, "notify credentials", nixeval.Get(t, v, "protection", "systemd", "services", "nixgen-notify-failure@", "serviceConfig", "LoadCredential"), creds)
	for _, r := range spec.Repositories {
		expectGo(t, r.Name+" manifest repository", m.Repositories[r.Name], manifest.Repository{URL: r.URL, PasswordFile: r.PasswordFile, EnvironmentFile: r.EnvironmentFile})
	}
}

// notifyHooks is what hooks returns for every job unit: NixOS's own
// onFailure/onSuccess options (commonUnitOptions in
// nixos/lib/systemd-unit-options.nix, type listOf unitNameType), which
// NixOS renders as OnFailure=/OnSuccess=, and no [Unit] settings of ours.
var notifyHooks = map[string]any{
	"onFailure": []string{"nixgen-notify-failure@%n.service"},
	"onSuccess": []string{"nixgen-notify-success@%n.service"},
}

// hooks picks the attributes of an evaluated unit definition that can make
// it report its result: onFailure, onSuccess and unitConfig (but for
// RequiresMountsFor, which reports nothing).
func hooks(unit any) map[string]any {
	out := map[string]any{}
	if m, ok := unit.(map[string]any); ok {
		for _, k := range []string{"onFailure", "onSuccess", "unitConfig"} {
			if v, ok := m[k]; ok {
				if uc, ok := v.(map[string]any); ok && k == "unitConfig" {
					rest := map[string]any{}
					for kk, vv := range uc {
						if kk != "RequiresMountsFor" {
							rest[kk] = vv
						}
					}
					if len(rest) == 0 {
						continue
					}
					v = rest
				}
				out[k] = v
			}
		}
	}
	return out
}

// setRepository adds the repository setting a restic job must have: the URL
// itself, or a file holding it when systemd would expand a "%" in it.
func setRepository(job map[string]any, r *model.Repository) {
	if strings.Contains(r.URL, "%") {
		job["repositoryFile"] = map[string]any{"_writeText": "restic-repository", "text": r.URL}
	} else {
		job["repository"] = r.URL
	}
}

// checkWrapper checks a unit that starts target under the dataset's lock,
// waiting at most wait seconds for it and running at most limit seconds.
func checkWrapper(t *testing.T, svc string, unit any, target string, wait, limit int64) {
	t.Helper()
	sc := nixeval.Get(t, unit, "serviceConfig")
	expect(t, svc+" wrapper lock dir", []any{nixeval.Get(t, sc, "RuntimeDirectory"), nixeval.Get(t, sc, "RuntimeDirectoryPreserve")}, []any{"nixgen/locks", true})
	expect(t, svc+" wrapper TimeoutStartSec", nixeval.Get(t, sc, "TimeoutStartSec"), limit)
	if limit <= wait {
		t.Errorf("%s wrapper: limit %d does not leave time after the lock wait %d", svc, limit, wait)
	}
	words, err := sdExecSplit(nixeval.Get(t, sc, "ExecStart").(string))
	want := []string{"/util-linux/bin/flock", "--verbose", "-w", fmt.Sprint(wait), "-E", "75", "/run/nixgen/locks/" + svc + ".lock", "/systemd/bin/systemctl", "start", "--wait", target}
	if err != nil || !reflect.DeepEqual(words, want) {
		t.Errorf("%s wrapper ExecStart reads back as %q, %v; want %q", svc, words, err, want)
	}
}

func manifestReplication(r *model.Replication) *manifest.Replication {
	if r == nil {
		return nil
	}
	return &manifest.Replication{Target: r.Target, User: r.TargetUser, Host: r.TargetHost, Dataset: r.TargetDataset, SSHKey: r.SSHKey}
}

// nixInstantiate returns the nix-instantiate binary (see package e2e).
func nixInstantiate(t testing.TB) string {
	t.Helper()
	return e2e.Tool(t, "nix-instantiate")
}

// globEscaped is what NixOS's restic module must receive for paths so that
// restic's --files-from globbing reads them back (TestResticReadsBackupPaths).
func globEscaped(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = resticFilesFromPath(p)
	}
	return out
}
