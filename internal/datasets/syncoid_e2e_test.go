package datasets

import (
	"os"
	"os/exec"
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
var generatedSyncoidArgs = []string{"--sendoptions=w", "--recvoptions=u o nixgen:replica-of=src:pool/services/app"}

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

	drop := !zfstest.Supports("send", "w") || !zfstest.Supports("receive", "u")
	pathEnv, logFile := zfstest.SyncoidShim(t, drop)
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
	// Local replication: the source is on this host, which proves the
	// replica by its snapshots' guids.
	m.Replicas = []manifest.Replica{{Dataset: replica, Source: m.Host + ":" + srcDS}}
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
