package datasets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// The options nixgen's templates give every services.syncoid command
// (sendOptions = "w", recvOptions = "u"; the NixOS module passes them as
// --sendoptions/--recvoptions). SSH options are added for remote targets
// only, so a local→local command has none.
var generatedSyncoidArgs = []string{"--sendoptions=w", "--recvoptions=u"}

// zfsShim puts a logging zfs in front of the real one on PATH for syncoid.
// zfs-fuse knows neither `send -w` nor `receive -u`; when the real zfs
// lacks them the shim drops exactly those flags (zfs-fuse has no encryption,
// so a raw stream carries the same data) and the test keeps the replica
// unmounted another way (mountpoint=none on the first receive). On OpenZFS
// nothing is dropped. Arguments pass through as "$@", never re-parsed.
// A call that came in over ssh (sshtest sets SSHTEST_REMOTE=1) is logged
// with the prefix "[ssh] ".
//
// zfs-fuse's `zfs get` has no `-t` either. syncoid lists snapshots with
// `zfs get -Hpd 1 -t snapshot ...` and falls back to listing without -t,
// but syncoid 2.1's fallback for a remote host puts the ssh command in
// front twice ("ssh ... ssh ... host"), so every remote sync fails there.
// When the real zfs lacks `get -t`, the shim therefore emulates
// `-t snapshot`: it runs the get without it and keeps the snapshot lines.
func zfsShim(t *testing.T, drop bool) (pathEnv, logFile string) {
	t.Helper()
	real, err := exec.LookPath("zfs")
	if err != nil {
		t.Fatal(err)
	}
	real, _ = filepath.Abs(real)
	dir := t.TempDir()
	logFile = filepath.Join(dir, "log")
	dropCase, getCase := "", ""
	if drop {
		dropCase = "\tsend:-w|receive:-u|recv:-u) continue;;\n"
	}
	if !supports("get", "t") {
		getCase = "\tget:-t) typ=next; continue;;\n"
	}
	script := "#!/bin/sh\n" +
		"printf '%s%s\\n' \"${SSHTEST_REMOTE:+[ssh] }\" \"$*\" >> " + shQuote(logFile) + "\n" +
		"sub=$1 typ= snaps=\n" +
		"for a do\n\tshift\n" +
		"\tif [ \"$typ\" = next ]; then\n" +
		"\t\ttyp=\n\t\tif [ \"$a\" = snapshot ]; then snaps=1; continue; fi\n" +
		"\t\tset -- \"$@\" -t\n" +
		"\tfi\n" +
		"\tcase \"$sub:$a\" in\n" + dropCase + getCase + "\tesac\n\tset -- \"$@\" \"$a\"\ndone\n" +
		"if [ -n \"$snaps\" ]; then\n" +
		"\tout=$(" + shQuote(real) + " \"$@\"); rc=$?\n" +
		"\t[ -z \"$out\" ] || printf '%s\\n' \"$out\" | awk -F '\\t' 'index($1, \"@\")'\n" +
		"\texit $rc\n" +
		"fi\n" +
		"exec " + shQuote(real) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "zfs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), logFile
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// supports reports whether `zfs <sub>`'s usage text lists the flag.
func supports(sub, flag string) bool {
	out, _ := exec.Command("zfs", sub).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, sub+" ") || strings.HasPrefix(line, "recv ") {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "[-") && strings.Contains(strings.Trim(f, "[]-"), flag) {
					return true
				}
			}
		}
	}
	return false
}

func TestSyncoidLocalReplicationWithGeneratedOptions(t *testing.T) {
	syncoid := e2e.Tool(t, "syncoid")
	src := zfstest.NewPool(t)
	dst := zfstest.NewPool(t)

	srcDS := src.Name + "/services/app"
	src.ZFS(t, "create", "-p", "-o", "mountpoint="+src.Path("srv", "app"), srcDS)
	if err := os.WriteFile(src.Path("srv", "app", "one"), []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The receiving side's parent: not mounted, as nixgen creates parents.
	dst.ZFS(t, "create", "-o", "mountpoint=none", dst.Name+"/replicas")
	replica := dst.Name + "/replicas/app"

	drop := !supports("send", "w") || !supports("receive", "u")
	pathEnv, logFile := zfsShim(t, drop)
	var lastRun int64
	runSyncoid := func() {
		t.Helper()
		// syncoid names its sync snapshot to the second: a second run
		// within the same second would collide with the first one's.
		for time.Now().Unix() == lastRun {
			time.Sleep(50 * time.Millisecond)
		}
		defer func() { lastRun = time.Now().Unix() }()
		args := append(append([]string{}, generatedSyncoidArgs...), srcDS, replica)
		cmd := exec.Command(syncoid, args...)
		cmd.Env = append(os.Environ(), "PATH="+pathEnv)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("syncoid %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	runSyncoid()
	if v := dst.Prop(t, replica, "mounted"); v != "no" {
		t.Fatalf("replica mounted = %s after the first receive", v)
	}

	// The receiving host's datasets apply marks it canmount=noauto.
	m := testManifest(dst, dst.Name+"/services", manifest.Service{Name: "local"})
	m.Replicas = []manifest.Replica{{Dataset: replica, Source: "src:" + srcDS}}
	mustApply(t, (&tracer{}).runner(), m)
	if v := dst.Prop(t, replica, "canmount"); v != "noauto" {
		t.Fatalf("replica canmount = %s", v)
	}
	// Give it a mountpoint it could be mounted at: it still must not be.
	dst.ZFS(t, "set", "mountpoint="+dst.Path("replica-app"), replica)

	if err := os.WriteFile(src.Path("srv", "app", "two"), []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	runSyncoid() // incremental
	if v := dst.Prop(t, replica, "mounted"); v != "no" {
		t.Errorf("replica mounted = %s after an incremental receive", v)
	}
	srcSnaps := dst.ZFS(t, "list", "-H", "-o", "name", "-t", "snapshot", "-r", srcDS)
	dstSnaps := dst.ZFS(t, "list", "-H", "-o", "name", "-t", "snapshot", "-r", replica)
	// syncoid keeps only its newest sync snapshot on each side.
	if srcSnaps == "" || strings.ReplaceAll(srcSnaps, srcDS, replica) != dstSnaps {
		t.Errorf("snapshots differ:\nsource:\n%s\nreplica:\n%s", srcSnaps, dstSnaps)
	}

	// The options reached zfs.
	logb, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var sawSend, sawRecv bool
	for _, line := range strings.Split(string(logb), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "send" && contains(f, "-w") {
			sawSend = true
		}
		if len(f) > 1 && (f[0] == "receive" || f[0] == "recv") && contains(f, "-u") {
			sawRecv = true
		}
	}
	if !sawSend || !sawRecv {
		t.Errorf("zfs send -w seen %v, zfs receive -u seen %v; calls:\n%s", sawSend, sawRecv, logb)
	}
	if drop {
		t.Logf("this zfs lacks send -w / receive -u: the shim dropped them")
	}

	// The content arrived: mount it by hand (noauto allows an explicit mount).
	dst.ZFS(t, "mount", replica)
	for name, want := range map[string]string{"one": "first", "two": "second"} {
		if b, err := os.ReadFile(dst.Path("replica-app", name)); err != nil || string(b) != want {
			t.Errorf("replica %s = %q, %v", name, b, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
