package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/backupsnap"
	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// jobManifest has one service "app" backing up to repository "main" and
// the jobs the generated units report; notifiers point at url.
func jobManifest(url, repoURL, passwordFile, mountpoint string) *manifest.Manifest {
	return &manifest.Manifest{
		Version: manifest.Version, Host: "nas",
		Parent:       manifest.Parent{Dataset: "tank/services", Pool: "tank"},
		Repositories: map[string]manifest.Repository{"main": {URL: repoURL, PasswordFile: passwordFile}},
		Notifiers:    map[string]manifest.Notifier{"hook": {Type: "webhook", URL: url}},
		Services: []manifest.Service{{Name: "app", Unit: "app.service", Dataset: "tank/services/app",
			Mountpoint: mountpoint, User: "root", Group: "root", Mode: "0750", Notify: []string{"hook"},
			Backup: &manifest.Backup{Repository: "main", Paths: []string{mountpoint}}}},
		Jobs: []manifest.Job{
			{Unit: "restic-backups-app.service", Kind: manifest.JobBackup, Service: "app", Repository: "main", Notify: []string{"hook"}},
			{Unit: "nixgen-drill-main.service", Kind: manifest.JobDrill, Repository: "main", Notify: []string{"hook"}},
		},
	}
}

func TestNotifyCommand(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	mf := writeManifest(t, jobManifest(srv.URL, "/srv/restic", "/run/keys/restic", "/srv/app"))
	dir := t.TempDir()
	noJournal := filepath.Join(t.TempDir(), "journalctl")

	code, stdout, stderr := runHelper(t, "notify", "--manifest", mf, "--unit", "restic-backups-app.service",
		"--result", "failure", "--textfile-dir", dir, "--journalctl", noJournal)
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	mu.Lock()
	got := append([]string{}, bodies...)
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d webhook calls", len(got))
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(got[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["event"] != "failure" || ev["host"] != "nas" || ev["unit"] != "restic-backups-app.service" ||
		!strings.Contains(ev["message"].(string), "journal not available") {
		t.Errorf("event %v", ev)
	}
	v, ok, err := metrics.ReadGauge(metrics.JobFile(dir, "restic-backups-app.service"), "nixgen_backup_status")
	if err != nil || !ok || v != 0 {
		t.Errorf("nixgen_backup_status = %v %v %v", v, ok, err)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--unit", "sshd.service", "--result", "failure"}, exitManifest},
		{[]string{"--unit", "restic-backups-app.service", "--result", "maybe"}, exitUsage},
		{[]string{"--result", "failure"}, exitUsage},
	} {
		args := append([]string{"notify", "--manifest", mf, "--textfile-dir", dir}, c.args...)
		if code, _, stderr := runHelper(t, args...); code != c.code {
			t.Errorf("%q: exit %d (%s), want %d", c.args, code, stderr, c.code)
		}
	}
}

func TestNotifyUnreachableNotifierExitsZero(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	mf := writeManifest(t, jobManifest(url, "/srv/restic", "/run/keys/restic", "/srv/app"))
	dir := t.TempDir()
	code, _, stderr := runHelper(t, "notify", "--manifest", mf, "--unit", "nixgen-drill-main.service",
		"--result", "failure", "--textfile-dir", dir, "--systemctl", "false")
	if code != exitOK || !strings.Contains(stderr, "warning: notifying") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if v, ok, _ := metrics.ReadGauge(metrics.JobFile(dir, "nixgen-drill-main.service"), "nixgen_restore_drill_status"); !ok || v != 0 {
		t.Errorf("drill status %v %v", v, ok)
	}
}

// backupSnapshotEnv makes service app's dataset with a file f ("snap") and
// returns the pool, the dataset, the manifest file and a run directory.
func backupSnapshotEnv(t *testing.T) (p *zfstest.Pool, ds, mf, runDir string) {
	t.Helper()
	p = zfstest.NewPool(t)
	m := poolManifest(p, "app")
	ds = m.Services[0].Dataset
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+m.Services[0].Mountpoint, ds)
	if err := os.WriteFile(filepath.Join(m.Services[0].Mountpoint, "f"), []byte("snap"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, ds, writeManifest(t, m), p.Path("run")
}

func TestBackupSnapshotCommand(t *testing.T) {
	p, ds, mf, runDir := backupSnapshotEnv(t)

	code, stdout, stderr := runHelper(t, "backup-snapshot", "create", "--manifest", mf, "--service", "app", "--run-dir", runDir)
	if code != exitOK {
		t.Fatalf("create: exit %d: %s%s", code, stdout, stderr)
	}
	if src, _ := zfs.MountSource(filepath.Join(runDir, "app")); src != ds+backupsnap.CloneSuffix {
		t.Fatalf("mounted at the run dir: %q", src)
	}
	if b, _ := os.ReadFile(filepath.Join(runDir, "app", "f")); string(b) != "snap" {
		t.Fatalf("clone content %q", b)
	}
	for i := 0; i < 2; i++ { // idempotent
		if code, _, stderr := runHelper(t, "backup-snapshot", "release", "--manifest", mf, "--service", "app", "--run-dir", runDir); code != exitOK {
			t.Fatalf("release %d: exit %d: %s", i, code, stderr)
		}
	}
	if p.Exists(ds+backupsnap.CloneSuffix) || p.Exists(ds+"@"+backupsnap.SnapshotName) {
		t.Fatal("clone or snapshot left after release")
	}

	if code, _, _ := runHelper(t, "backup-snapshot", "create", "--manifest", mf, "--service", "nope", "--run-dir", runDir); code != exitManifest {
		t.Errorf("unknown service: exit %d", code)
	}
	for _, args := range [][]string{
		{"backup-snapshot", "create", "--manifest", mf, "--run-dir", runDir},
		{"backup-snapshot"},
		{"backup-snapshot", "take", "--manifest", mf},
	} {
		if code, _, _ := runHelper(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	p.ZFS(t, "create", "-o", "mountpoint=none", ds+backupsnap.CloneSuffix)
	if code, _, stderr := runHelper(t, "backup-snapshot", "create", "--manifest", mf, "--service", "app", "--run-dir", runDir); code != exitRefused {
		t.Errorf("foreign dataset under the clone name: exit %d (%s), want %d", code, stderr, exitRefused)
	}
}

func TestRestoreTestCommand(t *testing.T) {
	e2e.Tool(t, "restic")
	dir := zfstest.TrustedDir(t) // the service's data, at a mountpoint a manifest may name
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "srv", "app")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "f"), []byte(strings.Repeat("data ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(dir, "repo")
	m := jobManifest("http://127.0.0.1:9/", repoDir, pw, data)
	mf := writeManifest(t, m)
	r, err := restic.New(m.Repositories["main"])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Run(ctx, nil, "init"); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, nil, "backup", "--host", "nas", data); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	base := []string{"restore-test", "--manifest", mf, "--hostname", "nas", "--scratch-dir", scratch}

	code, stdout, stderr := runHelper(t, append(base, "--repository", "main")...)
	if code != exitOK || !strings.HasPrefix(stdout, "ok    app (repository main)") {
		t.Fatalf("good repository: exit %d\n%s%s", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
		t.Errorf("scratch left: %v", ents)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"--service", "app", "--repository", "main"}, exitUsage},
		{[]string{"--repository", "nope"}, exitManifest},
		{[]string{"--service", "nope"}, exitManifest},
	} {
		if code, _, stderr := runHelper(t, append(base, c.args...)...); code != c.code {
			t.Errorf("%q: exit %d (%s), want %d", c.args, code, stderr, c.code)
		}
	}

	// Damage every pack: the drill must fail.
	filepath.WalkDir(filepath.Join(repoDir, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			for i := len(b) / 3; i < len(b)/2; i++ {
				b[i] ^= 0x55
			}
			os.Chmod(p, 0o600)
			os.WriteFile(p, b, 0o600)
		}
		return nil
	})
	code, stdout, _ = runHelper(t, append(base, "--service", "app")...)
	if code != exitFailed || !strings.HasPrefix(stdout, "FAIL  app") {
		t.Fatalf("damaged repository: exit %d\n%s", code, stdout)
	}
}

// The generated notify units split a report: the notifiers are told by a
// dynamic user (--only notifiers, token from $CREDENTIALS_DIRECTORY), the
// metrics written by root (--only metrics).
func TestNotifySplitReport(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer srv.Close()
	m := jobManifest(srv.URL, "/srv/restic", "/run/keys/restic", "/srv/app")
	m.Notifiers["hook"] = manifest.Notifier{Type: "webhook", URL: srv.URL, TokenFile: "/nonexistent/token"}
	mf := writeManifest(t, m)
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, manifest.CredentialToken("hook")), []byte("from-credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	dir := t.TempDir()
	noJournal := filepath.Join(t.TempDir(), "journalctl")
	base := []string{"notify", "--manifest", mf, "--unit", "restic-backups-app.service", "--result", "failure", "--textfile-dir", dir, "--journalctl", noJournal}

	code, _, stderr := runHelper(t, append(base, "--only", "notifiers")...)
	if ents, _ := os.ReadDir(dir); code != exitOK || len(ents) != 0 {
		t.Fatalf("--only notifiers: exit %d (%s), metrics %v", code, stderr, ents)
	}
	mu.Lock()
	if len(auth) != 1 || auth[0] != "Bearer from-credential" {
		t.Errorf("--only notifiers: Authorization %q", auth)
	}
	mu.Unlock()

	code, _, stderr = runHelper(t, append(base, "--only", "metrics")...)
	if v, ok, _ := metrics.ReadGauge(metrics.JobFile(dir, "restic-backups-app.service"), "nixgen_backup_status"); code != exitOK || !ok || v != 0 {
		t.Errorf("--only metrics: exit %d (%s), status %v %v", code, stderr, v, ok)
	}
	mu.Lock()
	if len(auth) != 1 {
		t.Errorf("--only metrics told a notifier: %q", auth)
	}
	mu.Unlock()

	if code, _, _ := runHelper(t, append(base, "--only", "both")...); code != exitUsage {
		t.Errorf("--only both: exit %d, want %d", code, exitUsage)
	}
}

// restore-test stops itself at --timeout: restic is stopped, the scratch
// directory removed, and the drill fails saying why.
func TestRestoreTestTimeout(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "restic")
	script := "#!/bin/sh\ncase \"$1\" in\ncat) exit 0;;\n" +
		"snapshots) echo '[{\"id\":\"0123456789abcdef\",\"time\":\"2024-01-01T00:00:00Z\",\"paths\":[\"/srv/app\"]}]';;\n" +
		"restore) exec sleep 60;;\n*) exit 1;;\nesac\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	mf := writeManifest(t, jobManifest("http://127.0.0.1:9/", "/srv/restic", "/run/keys/restic", "/srv/app"))
	scratch := t.TempDir()
	start := time.Now()
	code, stdout, stderr := runHelper(t, "restore-test", "--manifest", mf, "--repository", "main", "--hostname", "nas",
		"--scratch-dir", scratch, "--restic", fake, "--timeout", "1s", "--grace", "1s")
	if code != exitFailed || !strings.HasPrefix(stdout, "FAIL  app") || !strings.Contains(stderr, "--timeout 1s reached") {
		t.Fatalf("exit %d after %v\n%s%s", code, time.Since(start), stdout, stderr)
	}
	if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
		t.Errorf("scratch left: %v", ents)
	}
}
