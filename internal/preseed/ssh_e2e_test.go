package preseed

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/sshtest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// remoteEnv is newEnv with the replication target on a real sshd at
// root@127.0.0.1 (this host, reached over ssh): the replica lives in
// <pool>/replica/app, and the helper reaches the server with the manifest's
// ssh_key and the server's port and known_hosts as SSHOptions.
func remoteEnv(t *testing.T, methods ...string) (*env, *sshtest.Server, string) {
	t.Helper()
	e2e.Tool(t, "syncoid")
	e := newEnv(t, methods...)
	// syncoid's remote snapshot listing needs `zfs get -t`, which zfs-fuse
	// lacks; the shim emulates it on the far side of ssh (and logs there).
	pathEnv, shimLog := zfstest.SyncoidShim(t, false)
	shimDir, _, _ := strings.Cut(pathEnv, string(os.PathListSeparator))
	srv := sshtest.Start(t, sshtest.Options{RemotePath: shimDir})
	rep := e.svc.Replication
	rep.Dataset = e.pool.Name + "/replica/app"
	rep.User, rep.Host, rep.SSHKey = "root", "127.0.0.1", srv.Key
	rep.Target = "root@127.0.0.1:" + rep.Dataset
	if err := e.m.Validate(); err != nil {
		t.Fatal(err)
	}
	e.opts.SSHOptions = srv.Options()
	return e, srv, shimLog
}

func TestRestoreSyncoidFromRemoteTarget(t *testing.T) {
	e, srv, shimLog := remoteEnv(t, "syncoid")
	rep := e.svc.Replication.Dataset
	// The replica as a replication left it: received, not mounted.
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	want := writeData(t, e.pool.Path("replica"), 4096)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2026-01-01_00:00:00_daily")
	e.pool.ZFS(t, "unmount", rep)
	e.pool.ZFS(t, "set", "canmount=noauto", rep)

	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s\nsshd log:\n%s", err, e.logBuf, srv.Log())
	}
	e.checkRestored(t, res, "syncoid", want)
	if v := e.prop(t, "mounted"); v != "yes" {
		t.Errorf("mounted = %s", v)
	}
	if e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
		t.Error("the set-aside empty dataset was not destroyed")
	}
	// The stream really came over ssh: zfs send ran in an ssh session,
	// which authenticated with the manifest's key.
	logb, err := os.ReadFile(shimLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logb), "[ssh] send ") {
		t.Errorf("no zfs send over ssh; zfs calls:\n%s", logb)
	}
	if !strings.Contains(srv.Log(), "Accepted publickey for root from 127.0.0.1") {
		t.Errorf("sshd logged no key login:\n%s", srv.Log())
	}
}

// When the remote replica cannot be used, the next method restores: here
// local, from a snapshot of the dataset itself.
func TestRemoteSyncoidUnusableFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name       string
		port       func(t *testing.T, srv *sshtest.Server) int
		extra      []string // SSHOptions before the server's
		status     string
		errHas     string
		replicaSet bool
	}{
		{name: "replica-missing", status: "unavailable", errHas: "does not exist"},
		{name: "replica-without-snapshots", status: "unavailable", errHas: "has no snapshots", replicaSet: true},
		// Nothing listens: ssh fails at once. Reported as failed, not
		// unavailable: whether the host has a replica is unknown.
		{name: "host-down", status: "failed", errHas: "Connection refused",
			port: func(t *testing.T, _ *sshtest.Server) int { return sshtest.ClosedPort(t) }},
		// A host that accepts TCP and never answers: ConnectTimeout (here
		// the operator's 2 s, which wins over the default 10 s) ends the
		// check; without it, only the method's 120 s timeout would.
		{name: "host-silent", status: "failed", errHas: "timed out during banner exchange", extra: []string{"ConnectTimeout=2"},
			port: func(t *testing.T, _ *sshtest.Server) int { return sshtest.SilentListener(t, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, srv, _ := remoteEnv(t, "syncoid", "local")
			if tc.replicaSet {
				e.pool.ZFS(t, "create", "-p", "-o", "mountpoint=none", e.svc.Replication.Dataset)
			}
			if tc.port != nil {
				port := tc.port(t, srv)
				var opts []string
				for _, o := range srv.Options() {
					if strings.HasPrefix(o, "Port=") {
						o = "Port=" + strconv.Itoa(port)
					}
					opts = append(opts, o)
				}
				e.opts.SSHOptions = opts
			}
			e.opts.SSHOptions = append(append([]string(nil), tc.extra...), e.opts.SSHOptions...)
			want := writeData(t, e.svc.Mountpoint, 512)
			e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@autosnap_2026-01-01_00:00:00_daily")
			emptyDir(t, e.svc.Mountpoint)

			res, err := e.run(t)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
			}
			e.checkRestored(t, res, "local", want)
			if len(res.Attempts) != 2 || res.Attempts[0].Method != "syncoid" || res.Attempts[0].Status != tc.status ||
				!strings.Contains(res.Attempts[0].Error, tc.errHas) {
				t.Errorf("attempts %+v, want syncoid %s with %q", res.Attempts, tc.status, tc.errHas)
			}
			// The empty dataset was never set aside: the check decided first.
			if e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
				t.Error("aside dataset left behind")
			}
		})
	}
}

func TestCheckSSHOption(t *testing.T) {
	for _, ok := range []string{"Port=2222", "UserKnownHostsFile=/etc/nixgen/known_hosts", "Ciphers=aes128-ctr,aes256-ctr", "ConnectTimeout=5"} {
		if err := CheckSSHOption(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Port", "=2222", "Port=", "ProxyCommand=nc %h 22", "Port=22;reboot", "X=$(id)", "X=a'b", "-oPort=1", "X=a\nb"} {
		if err := CheckSSHOption(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Run refuses a bad option before touching anything.
	_, err := Run(t.Context(), Options{Manifest: &manifest.Manifest{}, Service: "app", SSHOptions: []string{"X=;"}})
	if err == nil || !strings.Contains(err.Error(), `ssh option "X=;"`) {
		t.Errorf("Run with a bad ssh option: %v", err)
	}
}
