package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/preseed"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func preseedManifest(t *testing.T, p *zfstest.Pool, onFailure string) *manifest.Manifest {
	m := poolManifest(p, "app")
	m.Services[0].Preseed = &manifest.Preseed{Methods: []string{"local"}, TimeoutSeconds: 60, OnFailure: onFailure}
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+m.Services[0].Mountpoint, m.Services[0].Dataset)
	return m
}

func TestPreseedCLI(t *testing.T) {
	p := zfstest.NewPool(t)
	m := preseedManifest(t, p, "block")
	mf := writeManifest(t, m)
	textDir := t.TempDir()
	common := []string{"--manifest", mf, "--service", "app", "--lock-dir", t.TempDir(), "--textfile-dir", textDir}

	// Empty, no snapshot, block: exit 1, no mark.
	code, _, stderr := runHelper(t, append([]string{"preseed"}, common...)...)
	if code != exitFailed || !strings.Contains(stderr, `"outcome":"failed"`) {
		t.Fatalf("block: code %d, stderr:\n%s", code, stderr)
	}
	if v := p.Prop(t, m.Services[0].Dataset, preseed.PropComplete); v == "complete" {
		t.Fatal("block left the mark")
	}
	if _, err := os.Stat(metrics.PreseedFile(textDir, "app")); err != nil {
		t.Errorf("no metrics file: %v", err)
	}

	// Data present: adopted, exit 0; status shows it.
	if err := os.WriteFile(filepath.Join(m.Services[0].Mountpoint, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runHelper(t, append([]string{"preseed"}, common...)...); code != exitOK || !strings.Contains(stderr, `"outcome":"adopted"`) {
		t.Fatalf("adopt: code %d, stderr:\n%s", code, stderr)
	}
	code, stdout, stderr := runHelper(t, "preseed", "status", "--manifest", mf)
	if code != exitOK || !strings.Contains(stdout, "app") || !strings.Contains(stdout, "complete") || !strings.Contains(stdout, "adopted") {
		t.Fatalf("status: code %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runHelper(t, "preseed", "status", "--manifest", mf, "--json")
	var sts []preseed.Status
	if err := json.Unmarshal([]byte(stdout), &sts); code != exitOK || err != nil || len(sts) != 1 || !sts[0].Complete || sts[0].Last != "adopted" {
		t.Fatalf("status --json: code %d, %v, %+v", code, err, sts)
	}

	// Not mounted: refused, exit 4.
	p.ZFS(t, "unmount", m.Services[0].Dataset)
	if code, _, stderr := runHelper(t, append([]string{"preseed"}, common...)...); code != exitRefused || !strings.Contains(stderr, "not mounted") {
		t.Fatalf("unmounted: code %d, stderr:\n%s", code, stderr)
	}
}

func TestPreseedCLIStartEmptyAndUsage(t *testing.T) {
	p := zfstest.NewPool(t)
	m := preseedManifest(t, p, "start-empty")
	mf := writeManifest(t, m)
	code, _, stderr := runHelper(t, "preseed", "--manifest", mf, "--service", "app", "--lock-dir", t.TempDir(), "--textfile-dir", "")
	if code != exitOK || !strings.Contains(stderr, `"outcome":"start-empty"`) {
		t.Fatalf("start-empty: code %d, stderr:\n%s", code, stderr)
	}
	if v := p.Prop(t, m.Services[0].Dataset, preseed.PropComplete); v != "complete" {
		t.Fatalf("start-empty did not mark: %q", v)
	}
	if code, _, _ := runHelper(t, "preseed", "--manifest", mf); code != exitUsage {
		t.Errorf("missing --service: code %d", code)
	}
	if code, _, _ := runHelper(t, "preseed", "--manifest", mf, "--service", "nope"); code != exitManifest {
		t.Errorf("unknown service: code %d", code)
	}
	// A service the manifest knows but without a preseed block: exit 3 as
	// documented (the manifest does not allow it), before any zfs call.
	m.Services[0].Preseed = nil
	noPreseed := writeManifest(t, m)
	if code, _, stderr := runHelper(t, "--zfs", "false", "--zpool", "false", "preseed", "--manifest", noPreseed, "--service", "app", "--lock-dir", t.TempDir(), "--textfile-dir", ""); code != exitManifest || !strings.Contains(stderr, "no preseed block") {
		t.Errorf("service without preseed: code %d, stderr:\n%s", code, stderr)
	}
}

// --ssh-option reaches ssh as one -o argument per flag (a comma inside a
// value does not split it), before nixgen's defaults; a value a shell
// would interpret is a usage error.
func TestPreseedCLISSHOption(t *testing.T) {
	p := zfstest.NewPool(t)
	m := preseedManifest(t, p, "block")
	svc := &m.Services[0]
	svc.Preseed.Methods = []string{"syncoid"}
	rep := p.Name + "/replica/app"
	svc.Replication = &manifest.Replication{Target: "root@backuphost:" + rep, User: "root", Host: "backuphost", Dataset: rep}
	mf := writeManifest(t, m)
	dir := t.TempDir()
	// A stand-in ssh that records its arguments and answers "no such dataset".
	fake := filepath.Join(dir, "ssh")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + filepath.Join(dir, "args") + "'\necho 'dataset does not exist' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	common := []string{"preseed", "--manifest", mf, "--service", "app", "--lock-dir", t.TempDir(), "--textfile-dir", "", "--ssh", fake}
	code, _, stderr := runHelper(t, append(common, "--ssh-option", "Port=2222", "--ssh-option", "Ciphers=aes128-ctr,aes256-ctr")...)
	if code != exitFailed || !strings.Contains(stderr, `"attempt_syncoid":"unavailable"`) {
		t.Fatalf("code %d, stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	want := "-o\nBatchMode=yes\n-o\nPort=2222\n-o\nCiphers=aes128-ctr,aes256-ctr\n-o\nConnectTimeout=10\n"
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("ssh argv:\n%s\nwant it to start with:\n%s", b, want)
	}
	if code, _, stderr := runHelper(t, append(common, "--ssh-option", "ProxyCommand=nc;reboot")...); code != exitUsage || !strings.Contains(stderr, "ssh option") {
		t.Errorf("bad --ssh-option: code %d, stderr:\n%s", code, stderr)
	}
}
