package replication

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/emit"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/schema"
	"github.com/nixgen/nixgen/internal/sshtest"
	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// TestReplicationEndToEnd: a sender and a pure receiver from one spec, the
// receiver reached by an address (127.0.0.1) and a real sshd. Everything
// the test feeds to ssh, syncoid and sanoid comes from what nixgen
// rendered: the pinned host key, the receive user's authorized_keys line,
// syncoid's options, the prune-only sanoid template, the manifest that the
// probe and the lag command read. See docs/replication.md for what zfs-fuse
// cannot show (zfs allow).
func TestReplicationEndToEnd(t *testing.T) {
	syncoid := e2e.Tool(t, "syncoid")
	sanoid := e2e.Tool(t, "sanoid")
	usermod := e2e.Tool(t, "usermod")
	ctx := context.Background()

	src := zfstest.NewPool(t)
	dst := zfstest.NewPool(t)
	recv := usertest.New(t)
	// The receive user logs in: a shell, as the generated user has; a
	// password field that is not "!" (without PAM, as this sshd runs,
	// OpenSSH refuses locked accounts; NixOS's sshd uses PAM, which does
	// not); and a home that exists (NixOS gives system users /var/empty):
	// sshd's "Could not chdir to home directory" on stderr would make
	// syncoid 2.1 read an existing target as missing.
	if out, err := exec.Command(usermod, "--shell", "/bin/sh", "--password", "*", "--home", "/", recv.Name).CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v: %s", err, out)
	}

	// zfs-fuse lets no one but root talk to it, and has no `zfs allow`:
	// the receive user's zfs is a setuid-root copy (docs/replication.md).
	bin := zfstest.TrustedDir(t)
	realZFS, err := exec.LookPath("zfs")
	if err != nil {
		t.Fatal(err)
	}
	copyExec(t, realZFS, filepath.Join(bin, "zfs"), os.ModeSetuid|0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	shared := zfstest.TrustedDir(t)
	drop := !zfstest.Supports("send", "w") || !zfstest.Supports("receive", "u")
	pathEnv, logFile := zfstest.SyncoidShimAt(t, shared, drop)

	// The sender's key pair, in a directory only root reads.
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "syncoid@src", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}

	// The server comes first (the spec needs its host key); the receive
	// user's authorized_keys are written once rendered, below, and sshd
	// reads them at each login.
	srvDir := zfstest.TrustedDir(t)
	srv := sshtest.Start(t, sshtest.Options{RemotePath: shared, AuthorizedKeys: map[string]string{recv.Name: ""}, Dir: srvDir})

	specDir := t.TempDir()
	target := fmt.Sprintf("%s@127.0.0.1:%s/replicas/app", recv.Name, dst.Name)
	spec := fmt.Sprintf(`
host "src" {
  parent_dataset = %q
  parent_mount   = %q
  services       = ["app"]
}

host "nas" {
  parent_dataset = %q
  parent_mount   = %q
  services       = []
  addresses      = ["127.0.0.1"]
  ssh_host_key   = %q
}

snapshot_policy "keep" {
  hourly = 0
  daily  = 2
}

service "app" {
  snapshots { policy = "keep" }
  replication {
    target         = %q
    ssh_key        = %q
    ssh_public_key = %q
  }
}
`, src.Name+"/services", src.Path("srv"), dst.Name+"/nixgen", dst.Path("srv"), srv.HostPublicKey+" root@nas", target, key, strings.TrimSpace(string(pub)))
	if err := os.WriteFile(filepath.Join(specDir, "main.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, _, diags := schema.Load(specDir)
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("spec: %v", diags)
	}
	files := emit.Render(loaded)
	sender, receiver := string(files["src/protection.nix"]), string(files["nas/protection.nix"])
	command := string(files["src/services/app.nix"])

	// The sender's known_hosts: the generated programs.ssh.knownHosts
	// entry, each host name with the test's port.
	hostNames := submatch(t, sender, `hostNames = \[ ([^\]]*) \];`)
	publicKey := submatch(t, sender, `publicKey = "([^"]*)";`)
	var known strings.Builder
	for _, h := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(hostNames, -1) {
		fmt.Fprintf(&known, "[%s]:%d %s\n", h[1], srv.Port, publicKey)
	}
	if !strings.Contains(known.String(), "[127.0.0.1]:") || publicKey != srv.HostPublicKey {
		t.Fatalf("generated known host %q %q does not pin the server's key %q by its address", hostNames, publicKey, srv.HostPublicKey)
	}
	knownHosts := filepath.Join(keyDir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(known.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The receive user's authorized_keys: the generated lines.
	var authorized strings.Builder
	for _, k := range regexp.MustCompile(`"(restrict [^"]*)"`).FindAllStringSubmatch(receiver, -1) {
		authorized.WriteString(k[1] + "\n")
	}
	if !strings.Contains(receiver, "users.users."+recv.Name+" = {") || authorized.Len() == 0 {
		t.Fatalf("no receive user %s with authorized keys in nas/protection.nix:\n%s", recv.Name, receiver)
	}
	if err := os.WriteFile(filepath.Join(srvDir, "authorized_keys."+recv.Name), []byte(authorized.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// What datasets apply does on nas, minus `zfs allow` (zfs-fuse has
	// none): the receive parent from its manifest, mountpoint=none.
	nasManifest := decode(t, files["nas/manifest.json"])
	if len(nasManifest.Receive) != 1 || nasManifest.Receive[0] != (manifest.Receive{Parent: dst.Name + "/replicas", User: recv.Name}) {
		t.Fatalf("nas receive = %+v", nasManifest.Receive)
	}
	dst.ZFS(t, "create", "-o", "mountpoint=none", nasManifest.Receive[0].Parent)

	srcManifest := decode(t, files["src/manifest.json"])
	svc := srcManifest.Service("app")
	conn := []string{"Port=" + strconv.Itoa(srv.Port), "UserKnownHostsFile=" + knownHosts}

	// The probe, as the syncoid unit runs it: reachable.
	if err := Probe(ctx, svc, ProbeOptions{SSHOptions: conn}); err != nil {
		t.Fatalf("probe: %v\nsshd log:\n%s", err, srv.Log())
	}
	if !strings.Contains(srv.Log(), "Accepted publickey for "+recv.Name+" from 127.0.0.1") {
		t.Errorf("sshd did not log a key login as %s:\n%s", recv.Name, srv.Log())
	}
	// The login is restricted: no pty.
	var stderr bytes.Buffer
	tty := exec.Command("ssh", "-tt", "-i", key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", conn[0], "-o", conn[1], "-o", "StrictHostKeyChecking=yes", recv.Name+"@127.0.0.1", "true")
	tty.Stderr = &stderr
	tty.Run()
	if !strings.Contains(stderr.String(), "PTY allocation request failed") {
		t.Errorf("ssh -tt as the receive user: %q; want a refused pty", stderr.String())
	}

	// No trust on first use: another server (another host key) under a
	// pinned name is refused, and nothing is added to known_hosts.
	other := sshtest.Start(t, sshtest.Options{})
	spoof := filepath.Join(keyDir, "known_hosts.spoof")
	if err := os.WriteFile(spoof, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", other.Port, publicKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Probe(ctx, svc, ProbeOptions{SSHOptions: []string{"Port=" + strconv.Itoa(other.Port), "UserKnownHostsFile=" + spoof}})
	if err == nil || !strings.Contains(err.Error(), "host key is not the pinned one") {
		t.Errorf("probe against a server with another host key: %v", err)
	}
	// ... and one with no pinned key at all is refused too.
	empty := filepath.Join(keyDir, "known_hosts.empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Probe(ctx, svc, ProbeOptions{SSHOptions: []string{conn[0], "UserKnownHostsFile=" + empty}})
	if err == nil || !strings.Contains(err.Error(), "host key is not the pinned one") {
		t.Errorf("probe with no pinned key: %v", err)
	}
	for _, f := range []string{spoof, empty} {
		if b, _ := os.ReadFile(f); strings.Count(string(b), "\n") > 1 {
			t.Errorf("%s gained entries: %q", f, b)
		}
	}

	// The sender's dataset with sanoid-named snapshots (hourly and daily).
	// It stays unmounted: what arrives is checked by snapshot guids, with
	// no file I/O through zfs-fuse's FUSE mounts.
	srcDS := svc.Dataset
	src.ZFS(t, "create", "-p", "-o", "mountpoint=none", srcDS)
	for _, typ := range []string{"hourly", "daily"} {
		src.ZFS(t, "snapshot", srcDS+"@autosnap_2026-01-01_00:00:00_"+typ)
	}

	// syncoid with the generated options, then an incremental run.
	send := submatch(t, command, `sendOptions = "([^"]*)";`)
	recvOpts := submatch(t, command, `recvOptions = "([^"]*)";`)
	var extra []string
	for _, a := range regexp.MustCompile(`"(--sshoption=[^"]*)"`).FindAllStringSubmatch(command, -1) {
		extra = append(extra, a[1])
	}
	if !contains(extra, "--sshoption=StrictHostKeyChecking=yes") {
		t.Fatalf("generated syncoid options %q lack StrictHostKeyChecking=yes", extra)
	}
	var lastRun int64
	runSyncoid := func() {
		t.Helper()
		for time.Now().Unix() == lastRun { // sync snapshots are named to the second
			time.Sleep(50 * time.Millisecond)
		}
		defer func() { lastRun = time.Now().Unix() }()
		argv := append([]string{syncoid, "--sshkey", key}, extra...)
		argv = append(argv, "--sshport="+strconv.Itoa(srv.Port), "--sshoption=UserKnownHostsFile="+knownHosts, "--sshoption=BatchMode=yes",
			"--sendoptions", send, "--recvoptions", recvOpts, "--no-privilege-elevation", srcDS, svc.Replication.Target)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+pathEnv)
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			calls, _ := os.ReadFile(logFile)
			t.Fatalf("%s: %v\n%s\nzfs calls:\n%s", strings.Join(argv, " "), err, out, calls)
		}
	}
	runSyncoid()
	src.ZFS(t, "snapshot", srcDS+"@between")
	runSyncoid() // incremental
	replica := svc.Replication.Dataset
	names := snapNames(t, replica)
	for _, want := range []string{"autosnap_2026-01-01_00:00:00_hourly", "autosnap_2026-01-01_00:00:00_daily"} {
		if !contains(names, want) {
			t.Fatalf("replica lacks %s after the sends: %v", want, names)
		}
	}
	logb, _ := os.ReadFile(logFile)
	if !strings.Contains(string(logb), "[ssh] receive") && !strings.Contains(string(logb), "[ssh] recv") {
		t.Errorf("no zfs receive ran over ssh:\n%s", logb)
	}

	// Prune on the receiver with the generated prune-only template: hourly
	// = 0 prunes the received hourly snapshot, daily = 2 keeps the daily,
	// syncoid's own are not sanoid's, and no snapshot is taken.
	tmpl := regexp.MustCompile(`(?s)templates\.nixgen-replica-keep = \{(.*?)\};`).FindStringSubmatch(receiver)
	if tmpl == nil || !strings.Contains(receiver, `datasets."`+replica+`"`) {
		t.Fatalf("no prune-only template for %s in nas/protection.nix:\n%s", replica, receiver)
	}
	conf := fmt.Sprintf("[%s]\n\tuse_template = nixgen-replica-keep\n\trecursive = no\n\n[template_nixgen-replica-keep]\n", replica)
	for _, kv := range regexp.MustCompile(`(\w+) = (\w+);`).FindAllStringSubmatch(tmpl[1], -1) {
		v := kv[2]
		switch v {
		case "true":
			v = "yes"
		case "false":
			v = "no"
		}
		conf += fmt.Sprintf("\t%s = %s\n", kv[1], v)
	}
	if !strings.Contains(conf, "autosnap = no") || !strings.Contains(conf, "hourly = 0") {
		t.Fatalf("unexpected template:\n%s", conf)
	}
	confDir := t.TempDir()
	write(t, filepath.Join(confDir, "sanoid.conf"), conf)
	copyExec(t, "/usr/share/sanoid/sanoid.defaults.conf", filepath.Join(confDir, "sanoid.defaults.conf"), 0o644)
	before := snapNames(t, replica)
	sn := exec.Command(sanoid, "--configdir="+confDir, "--cache-dir="+t.TempDir(), "--run-dir="+t.TempDir(), "--cron", "--verbose")
	sn.Env = append(os.Environ(), "PATH="+pathEnv)
	if out, err := sn.CombinedOutput(); err != nil {
		t.Fatalf("sanoid: %v\n%s", err, out)
	}
	after := snapNames(t, replica)
	if contains(after, "autosnap_2026-01-01_00:00:00_hourly") || !contains(after, "autosnap_2026-01-01_00:00:00_daily") {
		t.Errorf("sanoid on the replica: before %v, after %v; want the hourly pruned and the daily kept", before, after)
	}
	if len(after) != len(before)-1 {
		t.Errorf("sanoid took or pruned more than the hourly snapshot: before %v, after %v", before, after)
	}

	// The lag metric, as ExecStopPost writes it after a success ...
	textDir := t.TempDir()
	r := &zfs.Runner{}
	now := time.Now()
	l, err := Lag(ctx, r, srcManifest, svc, true, textDir, now)
	if err != nil {
		t.Fatal(err)
	}
	var newest zfs.Snapshot
	snaps, err := r.Snapshots(ctx, srcDS)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if strings.Contains(s.Name, "@syncoid_") {
			newest = s
		}
	}
	if !contains(snapNames(t, replica), strings.SplitN(newest.Name, "@", 2)[1]) {
		t.Fatalf("the newest syncoid snapshot %s is not on the replica", newest.Name)
	}
	file := metrics.ReplicationFile(textDir, "app")
	ts, ok, err := metrics.ReadGauge(file, "nixgen_replication_last_snapshot_timestamp_seconds")
	if err != nil || !ok || int64(ts) != newest.Creation || l.Newest.Unix() != newest.Creation {
		t.Errorf("last snapshot timestamp = %v (%v, %v), want %d", ts, ok, err, newest.Creation)
	}
	lag, ok, _ := metrics.ReadGauge(file, "nixgen_replication_lag_seconds")
	if want := now.Sub(time.Unix(newest.Creation, 0)).Seconds(); !ok || lag != want {
		t.Errorf("lag = %v, want %v", lag, want)
	}
	// ... and after a failure: the timestamp stays, the lag grows.
	later := now.Add(time.Hour)
	if _, err := Lag(ctx, r, srcManifest, svc, false, textDir, later); err != nil {
		t.Fatal(err)
	}
	ts2, _, _ := metrics.ReadGauge(file, "nixgen_replication_last_snapshot_timestamp_seconds")
	lag2, _, _ := metrics.ReadGauge(file, "nixgen_replication_lag_seconds")
	if ts2 != ts || lag2 != later.Sub(time.Unix(newest.Creation, 0)).Seconds() {
		t.Errorf("after a failure: timestamp %v (was %v), lag %v", ts2, ts, lag2)
	}

	// What arrived is the sender's: the same snapshots, by guid.
	for _, name := range []string{"autosnap_2026-01-01_00:00:00_daily", "between", strings.SplitN(newest.Name, "@", 2)[1]} {
		a := src.ZFS(t, "get", "-H", "-p", "-o", "value", "guid", srcDS+"@"+name)
		b := dst.ZFS(t, "get", "-H", "-p", "-o", "value", "guid", replica+"@"+name)
		if a != b {
			t.Errorf("snapshot %s: guid %s on the sender, %s on the replica", name, a, b)
		}
	}
}

func submatch(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}

func decode(t *testing.T, b []byte) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func snapNames(t *testing.T, dataset string) []string {
	t.Helper()
	snaps, err := (&zfs.Runner{}).Snapshots(context.Background(), dataset)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range snaps {
		out = append(out, strings.SplitN(s.Name, "@", 2)[1])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyExec(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil {
		t.Fatal(err)
	}
}
