package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
)

// fullManifest has everything every subcommand needs for service "a":
// backup, replication, preseed, notifier and jobs.
func fullManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Version: manifest.Version, Host: "h",
		Parent:       manifest.Parent{Dataset: "tank/s", Pool: "tank"},
		Repositories: map[string]manifest.Repository{"r": {URL: "/mnt/restic", PasswordFile: "/run/pw"}},
		Notifiers:    map[string]manifest.Notifier{"n": {Type: "webhook", URL: "https://hook.example/x"}},
		Services: []manifest.Service{{
			Name: "a", Unit: "a.service", Dataset: "tank/s/a", Mountpoint: "/srv/a",
			User: "root", Group: "root", Mode: "0750", Properties: map[string]string{},
			Backup:      &manifest.Backup{Repository: "r", Paths: []string{"/srv/a"}},
			Replication: &manifest.Replication{Target: "recv@nas:backup/a", User: "recv", Host: "nas", Dataset: "backup/a", SSHKey: "/run/keys/nas"},
			Preseed:     &manifest.Preseed{Methods: []string{"syncoid", "local", "restic"}, TimeoutSeconds: 60, OnFailure: "block"},
			Notify:      []string{"n"},
		}},
		Jobs: []manifest.Job{
			{Unit: "restic-backups-a.service", Kind: manifest.JobBackup, Service: "a", Repository: "r", Notify: []string{"n"}},
			{Unit: "nixgen-drill-r.service", Kind: manifest.JobDrill, Repository: "r", Notify: []string{"n"}},
		},
	}
}

// TestEveryCommandRefusesAnUnsafeManifest: a manifest that breaks one of the
// spec's rules (names that are not one path component, datasets outside the
// parent or overlapping, mountpoints on / or /etc or in /var/tmp, a shell
// metacharacter in the ssh key, a password in a URL) makes every subcommand
// exit 3 before it runs zfs, zpool, restic, syncoid, ssh, journalctl or
// systemctl (spies that record any call) and before it writes a file (its
// lock, run, scratch and metrics directories stay empty).
func TestEveryCommandRefusesAnUnsafeManifest(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	spy := filepath.Join(dir, "spy")
	if err := os.WriteFile(spy, []byte("#!/bin/sh\necho \"$0 $*\" >> '"+calls+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		edit func(m *manifest.Manifest)
		want string
	}{
		"mountpoint /": {func(m *manifest.Manifest) { m.Services[0].Mountpoint, m.Services[0].Backup.Paths = "/", []string{"/"} }, `mountpoint "/"`},
		"mountpoint /etc": {func(m *manifest.Manifest) {
			m.Services[0].Mountpoint, m.Services[0].Backup.Paths = "/etc", []string{"/etc"}
		}, `mountpoint "/etc" that is a system directory`},
		"mountpoint in var/tmp": {func(m *manifest.Manifest) { m.Services[0].Mountpoint = "/var/tmp/srv" }, "inside /var/tmp"},
		"dataset with dotdot":   {func(m *manifest.Manifest) { m.Services[0].Dataset = "tank/s/../s/x" }, `component ".." is not allowed`},
		"duplicate dataset": {func(m *manifest.Manifest) {
			b := m.Services[0]
			b.Name, b.Unit, b.Mountpoint, b.Backup, b.Replication, b.Preseed = "b", "b.service", "/srv/b", nil, nil, nil
			m.Services = append(m.Services, b)
		}, `"tank/s/a" overlaps "tank/s/a"`},
		"service name escapes": {func(m *manifest.Manifest) {
			m.Services[0].Name = "../../../../var/tmp/x"
			m.Jobs[0].Service = m.Services[0].Name
		}, `name "../../../../var/tmp/x"`},
		"ssh key injection": {func(m *manifest.Manifest) { m.Services[0].Replication.SSHKey = "/var/tmp/k;touch /var/tmp/PWNED;#" }, "which a shell would interpret"},
		"password in the url": {func(m *manifest.Manifest) {
			m.Repositories["r"] = manifest.Repository{URL: "rest:https://u:hunter2@h/", PasswordFile: "/run/pw"}
		}, "holds a password"},
		"job unit escapes": {func(m *manifest.Manifest) { m.Jobs[1].Unit = "../../x.service" }, "not a valid systemd unit name"},
	}
	if err := fullManifest().Validate(); err != nil {
		t.Fatalf("the base manifest is invalid: %v", err)
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := fullManifest()
			c.edit(m)
			b, err := json.Marshal(m) // Marshal itself does not validate
			if err != nil {
				t.Fatal(err)
			}
			mf := filepath.Join(t.TempDir(), "manifest.json")
			if err := os.WriteFile(mf, b, 0o644); err != nil {
				t.Fatal(err)
			}
			svc := m.Services[0].Name
			work := t.TempDir() // every directory a command may write into lives here
			w := func(sub string) string { return filepath.Join(work, sub) }
			global := []string{"--zfs", spy, "--zpool", spy}
			for _, args := range [][]string{
				{"datasets", "plan", "--manifest", mf},
				{"datasets", "apply", "--manifest", mf, "--lock-dir", w("locks")},
				{"preseed", "--manifest", mf, "--service", svc, "--lock-dir", w("locks"), "--textfile-dir", w("metrics"),
					"--restic", spy, "--syncoid", spy, "--ssh", spy, "--hostname", "h"},
				{"preseed", "status", "--manifest", mf},
				{"backup-snapshot", "create", "--manifest", mf, "--service", svc, "--run-dir", w("run")},
				{"backup-snapshot", "release", "--manifest", mf, "--service", svc, "--run-dir", w("run")},
				{"restore-test", "--manifest", mf, "--repository", "r", "--restic", spy, "--scratch-dir", w("scratch"), "--hostname", "h"},
				{"restore-test", "--manifest", mf, "--service", svc, "--restic", spy, "--scratch-dir", w("scratch"), "--hostname", "h"},
				{"notify", "--manifest", mf, "--unit", "restic-backups-a.service", "--result", "failure",
					"--textfile-dir", w("metrics"), "--journalctl", spy, "--systemctl", spy},
				{"metrics", "--manifest", mf, "--textfile-dir", w("metrics")},
			} {
				code, stdout, stderr := runHelper(t, append(global, args...)...)
				if code != exitManifest || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "hunter2") {
					t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(args[:2], " "), code, stderr, exitManifest, c.want)
				}
				if stdout != "" {
					t.Errorf("%s printed %q", strings.Join(args[:2], " "), stdout)
				}
			}
			if b, err := os.ReadFile(calls); err == nil {
				t.Errorf("a program ran despite the bad manifest:\n%s", b)
			}
			if ents, _ := os.ReadDir(work); len(ents) != 0 {
				t.Errorf("files were written despite the bad manifest: %v", ents)
			}
		})
	}
	// The spy does record: the valid manifest gets as far as zpool.
	mf := writeManifest(t, fullManifest())
	runHelper(t, "--zfs", spy, "--zpool", spy, "datasets", "plan", "--manifest", mf)
	if b, err := os.ReadFile(calls); err != nil || !strings.Contains(string(b), "list") {
		t.Errorf("the spy recorded nothing for a valid manifest: %q, %v", b, err)
	}
}
