package datasets

import (
	"context"
	"errors"
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
	"github.com/nixgen/nixgen/internal/schema"
	"github.com/nixgen/nixgen/internal/sshtest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// generatedRemote is what nixgen renders for a remote replication target
// (the golden "replication" case, service vault): the syncoid command's
// sendOptions, recvOptions and extraArgs.
type generatedRemote struct {
	send, recv string
	extraArgs  []string
}

func renderRemoteSyncoid(t *testing.T) generatedRemote {
	t.Helper()
	spec, _, diags := schema.Load(filepath.Join("..", "..", "golden", "valid", "replication", "specs"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := emit.Render(spec)
	nix := string(files["box/services/vault.nix"])
	block := regexp.MustCompile(`(?s)services\.syncoid\.commands\.vault = \{.*?\n  \};`).FindString(nix)
	str := func(attr string) string {
		m := regexp.MustCompile(`\n\s*` + attr + ` = "([^"\\$]*)";`).FindStringSubmatch(block)
		if m == nil {
			t.Fatalf("no %s in the rendered syncoid command:\n%s", attr, block)
		}
		return m[1]
	}
	g := generatedRemote{send: str("sendOptions"), recv: str("recvOptions")}
	if m := regexp.MustCompile(`(?s)extraArgs = \[(.*?)\];`).FindStringSubmatch(block); m != nil {
		for _, a := range regexp.MustCompile(`"([^"\\$]*)"`).FindAllStringSubmatch(m[1], -1) {
			g.extraArgs = append(g.extraArgs, a[1])
		}
	}
	if len(g.extraArgs) == 0 {
		t.Fatalf("the rendered remote syncoid command has no extraArgs:\n%s", block)
	}
	return g
}

// argv is the command NixOS's syncoid module builds from the rendered
// attributes (sshKey, extraArgs, then the send/receive options and
// --no-privilege-elevation before source and target), with the test's
// connection flags (port, known_hosts) after the generated ones: ssh takes
// the first value of an option, so they cannot override the generated ones.
func (g generatedRemote) argv(syncoid, key string, conn []string, source, target string) []string {
	argv := []string{syncoid, "--sshkey", key}
	argv = append(argv, g.extraArgs...)
	argv = append(argv, conn...)
	return append(argv, "--sendoptions", g.send, "--recvoptions", g.recv, "--no-privilege-elevation", source, target)
}

func TestSyncoidRemotePushWithGeneratedOptions(t *testing.T) {
	syncoid := e2e.Tool(t, "syncoid")
	g := renderRemoteSyncoid(t)
	src := zfstest.NewPool(t)
	dst := zfstest.NewPool(t)
	drop := !zfstest.Supports("send", "w") || !zfstest.Supports("receive", "u")
	pathEnv, logFile := zfstest.SyncoidShim(t, drop)
	shimDir, _, _ := strings.Cut(pathEnv, string(os.PathListSeparator))
	// The "remote" host is this one; its commands find the same shim.
	srv := sshtest.Start(t, sshtest.Options{RemotePath: shimDir})

	srcDS := src.Name + "/services/app"
	src.ZFS(t, "create", "-p", "-o", "mountpoint="+src.Path("srv", "app"), srcDS)
	if err := os.WriteFile(src.Path("srv", "app", "one"), []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst.ZFS(t, "create", "-o", "mountpoint=none", dst.Name+"/replica")
	replica := dst.Name + "/replica/app"
	target := srv.Dest() + ":" + replica

	var lastRun int64
	runSyncoid := func() {
		t.Helper()
		for time.Now().Unix() == lastRun { // sync snapshots are named to the second
			time.Sleep(50 * time.Millisecond)
		}
		defer func() { lastRun = time.Now().Unix() }()
		argv := g.argv(syncoid, srv.Key, srv.SyncoidArgs(), srcDS, target)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+pathEnv)
		// A failed syncoid leaves its ssh control master (ControlPersist=1m)
		// holding the output pipe.
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s\nsshd log:\n%s", strings.Join(argv, " "), err, out, srv.Log())
		}
	}
	runSyncoid()
	if v := dst.Prop(t, replica, "mounted"); v != "no" {
		t.Fatalf("replica mounted = %s after the first receive", v)
	}
	dst.ZFS(t, "set", "canmount=noauto", replica) // what datasets apply does on the receiving host
	dst.ZFS(t, "set", "mountpoint="+dst.Path("replica-app"), replica)
	if err := os.WriteFile(src.Path("srv", "app", "two"), []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	runSyncoid() // incremental
	if v := dst.Prop(t, replica, "mounted"); v != "no" {
		t.Errorf("replica mounted = %s after an incremental receive", v)
	}

	// send -w ran here, receive -u on the far side of ssh, and the
	// session authenticated with the key.
	logb, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var sawSend, sawRemoteRecv int
	for _, line := range strings.Split(string(logb), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "send" && contains(f, "-w") {
			sawSend++
		}
		if len(f) > 2 && f[0] == "[ssh]" && (f[1] == "receive" || f[1] == "recv") && contains(f, "-u") {
			sawRemoteRecv++
		}
	}
	if sawSend < 2 || sawRemoteRecv < 2 {
		t.Errorf("local zfs send -w seen %d times, remote zfs receive -u %d times (want 2 each); calls:\n%s", sawSend, sawRemoteRecv, logb)
	}
	if !strings.Contains(srv.Log(), "Accepted publickey for root from 127.0.0.1") {
		t.Errorf("sshd did not log a key login:\n%s", srv.Log())
	}
	if drop {
		t.Logf("this zfs lacks send -w / receive -u: the shim dropped them")
	}

	dst.ZFS(t, "mount", replica)
	for name, want := range map[string]string{"one": "first", "two": "second"} {
		if b, err := os.ReadFile(dst.Path("replica-app", name)); err != nil || string(b) != want {
			t.Errorf("replica %s = %q, %v", name, b, err)
		}
	}
}

// A dead target must fail the syncoid unit, not hang it (the unit has no
// start timeout). Which ssh option bounds which kind of dead target:
//
//   - nothing listens: the connection is refused at once;
//   - the host accepts TCP and never answers: ConnectTimeout, which also
//     covers the SSH banner exchange;
//   - the host sends a banner and then nothing: ConnectTimeout does not
//     cover the key exchange; ServerAliveInterval × ServerAliveCountMax does.
//
// syncoid connects twice before giving up (the control master, then a
// plain "echo" test), so each bound applies twice. The first two cases
// use the generated options unchanged (≈ 2 × 10 s for the second); the
// third uses them with ServerAlive scaled down (1 s × 2), since with the
// generated 15 s × 4 it takes over two minutes (measured by hand, see
// docs/helper-jobs.md). The deadline below only guards against a hang.
func TestSyncoidDeadTargetFails(t *testing.T) {
	syncoid := e2e.Tool(t, "syncoid")
	g := renderRemoteSyncoid(t)
	srv := sshtest.Start(t, sshtest.Options{}) // for its key and known_hosts only
	src := zfstest.NewPool(t)
	srcDS := src.Name + "/app"
	src.ZFS(t, "create", "-o", "mountpoint=none", srcDS)
	src.ZFS(t, "snapshot", srcDS+"@s1")

	scaled := generatedRemote{send: g.send, recv: g.recv}
	for _, a := range g.extraArgs {
		switch {
		case strings.HasPrefix(a, "--sshoption=ServerAliveInterval="):
			a = "--sshoption=ServerAliveInterval=1"
		case strings.HasPrefix(a, "--sshoption=ServerAliveCountMax="):
			a = "--sshoption=ServerAliveCountMax=2"
		}
		scaled.extraArgs = append(scaled.extraArgs, a)
	}
	for _, tc := range []struct {
		name  string
		port  int
		g     generatedRemote
		wants string // in syncoid's output
	}{
		{"refused", sshtest.ClosedPort(t), g, "Connection refused"},
		{"silent", sshtest.SilentListener(t, false), g, "timed out during banner exchange"},
		{"banner-then-silent", sshtest.SilentListener(t, true), scaled, "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := []string{"--sshport=" + strconv.Itoa(tc.port),
				"--sshoption=UserKnownHostsFile=" + srv.KnownHosts, "--sshoption=StrictHostKeyChecking=yes", "--sshoption=BatchMode=yes"}
			argv := tc.g.argv(syncoid, srv.Key, conn, srcDS, srv.Dest()+":"+src.Name+"/nowhere")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.WaitDelay = 5 * time.Second
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("syncoid still running after %v: a dead target hangs it\n%s", took, out)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("syncoid against a dead target: err %v, want a non-zero exit\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.wants) {
				t.Errorf("syncoid output lacks %q:\n%s", tc.wants, out)
			}
			t.Logf("failed with exit %d after %v", ee.ExitCode(), took.Round(100*time.Millisecond))
		})
	}
}
