package preseed

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/datasets"
	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// Regression tests for "no restore path may ever destroy data": each
// reproduces a sequence that used to lose data and checks that no byte and
// no snapshot was lost.

// snapshotGUIDs maps every snapshot name below root (recursively) to its guid.
func snapshotGUIDs(t testing.TB, p *zfstest.Pool, root string) map[string]string {
	t.Helper()
	out := p.ZFS(t, "get", "-H", "-p", "-r", "-o", "name,value", "guid", root)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		name, guid, ok := strings.Cut(line, "\t")
		if ok && strings.Contains(name, "@") {
			m[name] = guid
		}
	}
	return m
}

// guidsKept fails unless every snapshot guid of before still exists
// somewhere in the pool (a set-aside dataset keeps its snapshots under a
// new name; the guid is what proves it is the same snapshot).
func guidsKept(t testing.TB, p *zfstest.Pool, before map[string]string) {
	t.Helper()
	now := map[string]bool{}
	for _, g := range snapshotGUIDs(t, p, p.Name) {
		now[g] = true
	}
	for name, g := range before {
		if !now[g] {
			t.Errorf("snapshot %s (guid %s) was destroyed", name, g)
		}
	}
}

// docProcedure returns the commands of the first indented block under the
// heading in docs/restore-procedures.md, with the example names replaced.
func docProcedure(t *testing.T, heading string, repl *strings.Replacer) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/restore-procedures.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/restore-procedures.md has no %q", heading)
	}
	var cmds []string
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		if strings.HasPrefix(line, "    ") {
			cmds = append(cmds, repl.Replace(strings.TrimSpace(line)))
		} else if len(cmds) > 0 && strings.TrimSpace(line) != "" {
			break
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("no commands under %q", heading)
	}
	return cmds
}

// Case 1, as a user following docs/restore-procedures.md: the documented
// "force a new restore" with methods ["local"] used to roll back to the
// older sanoid snapshot with -r, destroying @before-rerestore, the only
// copy of the newer data. The procedure runs here as written (systemctl
// lines aside: the test runs the preseed itself).
func TestForceNewRestoreProcedureAsDocumented(t *testing.T) {
	e := newEnv(t, "local")
	ds, mp := e.svc.Dataset, e.svc.Mountpoint
	writeData(t, mp, 2048) // v1
	e.pool.ZFS(t, "snapshot", ds+"@autosnap_2025-01-01_00:00:00_hourly")
	v2 := writeData(t, mp, 4096)
	e.pool.ZFS(t, "set", PropComplete+"=complete", ds)

	repl := strings.NewReplacer("tank/services/sonarr", ds, "/var/lib/sonarr", mp)
	ran := 0
	for _, c := range docProcedure(t, "### Force a new restore", repl) {
		if strings.HasPrefix(c, "systemctl ") {
			continue
		}
		c, _, _ = strings.Cut(c, "  #")
		if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
			t.Fatalf("documented step %q: %v: %s", c, err, out)
		}
		ran++
	}
	if ran != 3 {
		t.Fatalf("ran %d documented zfs/find steps, want 3 (the procedure changed?)", ran)
	}
	before := snapshotGUIDs(t, e.pool, e.pool.Name)
	if empty, _ := isEmpty(mp); !empty {
		t.Fatal("the documented procedure did not empty the dataset")
	}
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	// As documented: the newest snapshot holding data is @before-rerestore.
	e.checkRestored(t, res, "local", v2)
	guidsKept(t, e.pool, before)
	for _, s := range []string{ds + "@autosnap_2025-01-01_00:00:00_hourly", ds + "@before-rerestore"} {
		if !e.pool.Exists(s) {
			t.Errorf("%s is gone", s)
		}
	}
}

// Case 1, second half: the newest snapshot was taken while the dataset was
// empty. The rollback to it used to run first (with -r), then the
// emptiness check reported "unavailable". Now the older snapshot with data
// is restored through a promoted clone and the empty newer one is kept.
func TestLocalEmptyNewestSnapshotKeepsEverySnapshot(t *testing.T) {
	e := newEnv(t, "local")
	ds, mp := e.svc.Dataset, e.svc.Mountpoint
	want := writeData(t, mp, 4096)
	e.pool.ZFS(t, "snapshot", ds+"@autosnap_2025-01-01_00:00:00_hourly")
	emptyDir(t, mp)
	e.pool.ZFS(t, "snapshot", ds+"@autosnap_2025-01-02_00:00:00_hourly") // empty
	before := snapshotGUIDs(t, e.pool, e.pool.Name)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "local", want)
	guidsKept(t, e.pool, before)
	kept := keptAsides(t, e)
	if len(kept) != 1 || !e.pool.Exists(kept[0]+"@autosnap_2025-01-02_00:00:00_hourly") {
		t.Errorf("kept asides %v: the newer snapshot is not kept aside", kept)
	}
	if !e.pool.Exists(ds + "@autosnap_2025-01-01_00:00:00_hourly") {
		t.Error("the restored snapshot is no longer the dataset's")
	}
	if e.pool.Exists(ds+probeSuffix) || e.pool.Exists(ds+localSuffix) {
		t.Error("a probe or restore clone was left behind")
	}
	// Nothing to restore from: every snapshot empty is "unavailable", and
	// nothing changed.
	e2 := newEnv(t, "local")
	e2.pool.ZFS(t, "snapshot", e2.svc.Dataset+"@empty")
	before = snapshotGUIDs(t, e2.pool, e2.pool.Name)
	res, err = e2.run(t)
	if err == nil || len(res.Attempts) != 1 || res.Attempts[0].Status != "unavailable" {
		t.Fatalf("attempts %+v, err %v", res.Attempts, err)
	}
	guidsKept(t, e2.pool, before)
}

// Case 2: the dataset had local snapshots newer than the replica's; the
// syncoid restore used to destroy the set-aside dataset with all of them.
func TestSyncoidKeepsSetAsideDatasetWithItsSnapshots(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	ds, mp := e.svc.Dataset, e.svc.Mountpoint
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	want := writeData(t, e.pool.Path("replica"), 4096)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2025-01-01_00:00:00_daily")
	local := writeData(t, mp, 3000)
	e.pool.ZFS(t, "snapshot", ds+"@autosnap_2025-02-01_00:00:00_hourly") // newer than the replica's
	emptyDir(t, mp)
	before := snapshotGUIDs(t, e.pool, e.pool.Name)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "syncoid", want)
	guidsKept(t, e.pool, before)
	kept := keptAsides(t, e)
	if len(kept) != 1 {
		t.Fatalf("kept asides %v, want the replaced dataset", kept)
	}
	// Its snapshot still holds the local data: look through a clone.
	clone := e.pool.Name + "/look"
	e.pool.ZFS(t, "clone", "-o", "mountpoint="+e.pool.Path("look"), kept[0]+"@autosnap_2025-02-01_00:00:00_hourly", clone)
	if got := digest(t, e.pool.Path("look")); got != local {
		t.Errorf("the kept snapshot's data differs")
	}
	if !strings.Contains(e.logBuf.String(), kept[0]) {
		t.Errorf("the log does not name the kept dataset %s", kept[0])
	}
	// preseed status lists it.
	sts, err := ReadStatus(context.Background(), nil, e.m)
	if err != nil || len(sts) != 1 || len(sts[0].Asides) != 1 || sts[0].Asides[0].Dataset != kept[0] || sts[0].Asides[0].Reason == "" {
		t.Errorf("status %+v, %v", sts, err)
	}
}

// killTree sends SIGKILL to pid and every descendant (and their process
// groups) at once, as systemd does with a unit's cgroup.
func killTree(pid int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := procStat(p); ok && len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
		}
	}
	var all []int
	var walk func(int)
	walk = func(p int) {
		all = append(all, p)
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	for _, p := range all {
		if pg, err := syscall.Getpgid(p); err == nil && pg != syscall.Getpgrp() {
			syscall.Kill(-pg, syscall.SIGKILL)
		}
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// Case 3: preseed SIGKILLed (its whole process tree) during a slowed
// receive leaves <ds>.nixgen-aside; `datasets apply` recreates the dataset;
// data is written into it. The next preseed used to "discard the partial
// receive" with zfs destroy -r. Now the new data stays, and so does the
// empty dataset (set aside, reported).
func TestSyncoidKilledMidReceiveThenNewDataIsKept(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	e.m.Services[0].Notify = nil
	ds, mp := e.svc.Dataset, e.svc.Mountpoint
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	writeData(t, e.pool.Path("replica"), 1<<20)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2025-01-01_00:00:00_daily")
	before := snapshotGUIDs(t, e.pool, e.pool.Name)

	// A zfs in front of the real one whose receive takes 128 KiB, says so,
	// and then stalls.
	realZFS, err := exec.LookPath("zfs")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	marker := filepath.Join(bin, "receiving")
	script := "#!/bin/sh\nif [ \"$1\" = receive ] || [ \"$1\" = recv ]; then\n" +
		"\t{ dd bs=65536 count=2 iflag=fullblock 2>/dev/null; : > '" + marker + "'; sleep 600; cat; } | '" + realZFS + "' \"$@\"\n\texit $?\nfi\n" +
		"exec '" + realZFS + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "zfs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(t.TempDir(), "child.json")
	b, _ := json.Marshal(childSpec{Manifest: e.m, LockDir: e.opts.LockDir})
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+spec, "PATH="+bin+":"+os.Getenv("PATH"))
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr syncBuffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute) // a guard against a hang only
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			killTree(child.Process.Pid)
			child.Wait()
			t.Fatalf("the receive never started\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	killTree(child.Process.Pid)
	child.Wait()
	if !e.pool.Exists(ds + asideSuffix) {
		t.Fatal("the killed run left no set-aside dataset: the test did not reach its point")
	}

	// nixgen-datasets runs (at boot, or by hand) and recreates the dataset.
	if _, err := datasets.Apply(context.Background(), &zfs.Runner{}, e.m, nil); err != nil {
		t.Fatalf("datasets apply: %v", err)
	}
	newData := map[string]string{"new-1.txt": "written after the killed restore", "new-2.txt": strings.Repeat("x", 70000)}
	for n, c := range newData {
		if err := os.WriteFile(filepath.Join(mp, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	if res.Outcome != Adopted {
		t.Errorf("outcome %s, want adopted", res.Outcome)
	}
	for n, c := range newData {
		if got, err := os.ReadFile(filepath.Join(mp, n)); err != nil || string(got) != c {
			t.Errorf("%s after preseed: %v (%d bytes)", n, err, len(got))
		}
	}
	guidsKept(t, e.pool, before)
	if kept := keptAsides(t, e); len(kept) != 1 {
		t.Errorf("kept asides %v: the empty dataset of the killed run is not kept", kept)
	}
	if !strings.Contains(e.logBuf.String(), "not provably its partial receive") {
		t.Errorf("the log does not explain the kept datasets:\n%s", e.logBuf)
	}
}

// The other side of case 3: what a receive left under the service's name
// that provably is the replica's (its snapshot's guid, nothing written
// since) is discarded and the empty dataset put back.
func TestProvenPartialReceiveIsDiscarded(t *testing.T) {
	e := newEnv(t, "local")
	ds := e.svc.Dataset
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	writeData(t, e.pool.Path("replica"), 4096)
	e.pool.ZFS(t, "snapshot", rep+"@s1")
	e.pool.ZFS(t, "set", "nixgen:marker=original", ds)
	e.pool.ZFS(t, "set", PropAside+"="+ds, ds)
	e.pool.ZFS(t, "unmount", ds)
	e.pool.ZFS(t, "rename", ds, ds+asideSuffix)
	// A receive that completed but was killed before its mark.
	send := exec.Command("sh", "-c", "zfs send \"$1\" | zfs receive \"$2\"", "sh", rep+"@s1", ds)
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("send|receive: %v: %s", err, out)
	}
	before := snapshotGUIDs(t, e.pool, rep)
	res, err := e.run(t)
	if err == nil || res.Outcome != Failed { // local: nothing to restore from; block
		t.Fatalf("outcome %s, err %v\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if v := e.prop(t, "nixgen:marker"); v != "original" {
		t.Errorf("marker %q: the empty dataset was not put back\nlog:\n%s", v, e.logBuf)
	}
	if kept := keptAsides(t, e); len(kept) != 0 {
		t.Errorf("kept %v", kept)
	}
	guidsKept(t, e.pool, before)
}

// Case 4: after `zpool offline` of one side of a mirror the pool is
// DEGRADED; a service whose data is complete must still start (skipped),
// and the pool is reported as a warning metric. A restore is refused.
func TestDegradedPoolKeepsNoCompleteServiceDown(t *testing.T) {
	pool := zfstest.NewMirrorPool(t)
	e := newEnvOn(t, pool, "local")
	want := writeData(t, e.svc.Mountpoint, 4096)
	e.pool.ZFS(t, "set", PropComplete+"=complete", e.svc.Dataset)
	out, err := exec.Command("zpool", "offline", pool.Name, pool.Path("vdev-b")).CombinedOutput()
	if err != nil {
		t.Fatalf("zpool offline: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("zpool", "online", pool.Name, pool.Path("vdev-b")).Run() })
	health, _ := exec.Command("zpool", "list", "-H", "-o", "health", pool.Name).Output()
	if strings.TrimSpace(string(health)) != "DEGRADED" {
		t.Fatalf("pool health %q, want DEGRADED", health)
	}
	tr := &countRunner{}
	e.opts.ZFS = tr.runner()
	res, err := e.run(t)
	if err != nil || res.Outcome != Skipped {
		t.Fatalf("outcome %s, err %v: a degraded pool kept complete data down\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if got := digest(t, e.svc.Mountpoint); got != want {
		t.Error("data changed")
	}
	if v, ok, _ := metrics.ReadGauge(metrics.PreseedFile(e.metrics, "app"), "nixgen_preseed_pool_degraded"); !ok || v != 1 {
		t.Errorf("nixgen_preseed_pool_degraded = %v (present %v), want 1", v, ok)
	}
	if n := len(tr.calls); n > 2 {
		t.Errorf("skip path ran %d processes, want at most 2: %q", n, tr.calls)
	}
	for _, c := range tr.calls {
		if strings.HasPrefix(c, "zfs ") && (strings.Contains(c, " list ") || strings.Contains(c, " -d ") || strings.Contains(c, " -r ")) {
			t.Errorf("skip path listed datasets: %s", c)
		}
	}

	// An empty, unmarked dataset on the degraded pool: the restore is refused.
	e.pool.ZFS(t, "inherit", PropComplete, e.svc.Dataset)
	emptyDir(t, e.svc.Mountpoint)
	res, err = e.run(t)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "DEGRADED") {
		t.Fatalf("restore onto a degraded pool: outcome %s, err %v", res.Outcome, err)
	}
}

// countRunner records the argv of every process a zfs.Runner starts.
type countRunner struct{ calls []string }

func (c *countRunner) runner() *zfs.Runner {
	return &zfs.Runner{Trace: func(argv []string) { c.calls = append(c.calls, strings.Join(argv, " ")+" ") }}
}

// Case 5: a restore that fails with ENOSPC (a dataset whose quota the backup
// does not fit in) with on_failure = start-empty used to be marked complete
// and empty. Now it fails, unmarked, and a later run can still restore.
func TestStartEmptyNeverAfterENOSPC(t *testing.T) {
	e2e.Tool(t, "restic")
	e := newEnv(t, "restic")
	e.svc.Preseed.OnFailure = "start-empty"
	want := e.backupAndEmpty(t, 1<<20) // 3 MiB of incompressible data
	e.pool.ZFS(t, "set", "quota=1M", e.svc.Dataset)
	res, err := e.run(t)
	if err == nil || res.Outcome != Failed {
		t.Fatalf("outcome %s, err %v: a failed restore started empty\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if !strings.Contains(e.logBuf.String(), "quota") && !strings.Contains(e.logBuf.String(), "space") {
		t.Errorf("the failure is not the expected one:\n%s", e.logBuf)
	}
	if v := e.prop(t, PropComplete); v == "complete" {
		t.Fatal("marked complete after ENOSPC")
	}
	if out, err := exec.Command("zpool", "list", e.pool.Name).CombinedOutput(); err != nil {
		t.Fatalf("zfs-fuse did not survive: %v: %s", err, out)
	}
	// Once there is room, the same backup restores: nothing was lost.
	e.pool.ZFS(t, "set", "quota=none", e.svc.Dataset)
	res, err = e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
}

// A local restore through a promoted clone that a run left half done is
// finished by the next run, from either point a kill can leave: the clone
// made but not promoted (a zfs wrapper fails the promote), or promoted with
// the dataset not yet set aside (the wrapper promotes, then fails). The
// snapshot the first run chose is restored, every snapshot is kept, and
// its hold is released. Killed after the set-aside, and a clone under that
// name that is not marked as a local restore's: refused and left alone.
func TestLocalResumesAnInterruptedRestore(t *testing.T) {
	const older, newer = "@autosnap_2025-01-01_00:00:00_hourly", "@autosnap_2025-01-02_00:00:00_hourly"
	// scene: the dataset is empty, its older snapshot holds data, the newer
	// one is empty; it returns the data's digest.
	scene := func(t *testing.T) (*env, string) {
		e := newEnv(t, "local")
		want := writeData(t, e.svc.Mountpoint, 4096)
		e.pool.ZFS(t, "snapshot", e.svc.Dataset+older)
		emptyDir(t, e.svc.Mountpoint)
		e.pool.ZFS(t, "snapshot", e.svc.Dataset+newer)
		return e, want
	}
	// interrupted runs e with a zfs wrapper that runs test first, then
	// the real zfs; the run must fail.
	interrupted := func(t *testing.T, e *env, test string) {
		real, err := exec.LookPath("zfs")
		if err != nil {
			t.Fatal(err)
		}
		wrapper := filepath.Join(t.TempDir(), "zfs")
		script := "#!/bin/sh\nREAL='" + real + "'\n" + test + "\nexec \"$REAL\" \"$@\"\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		e.opts.ZFS = &zfs.Runner{ZFS: wrapper}
		if _, err := e.run(t); err == nil {
			t.Fatal("the interrupted run succeeded")
		}
		e.opts.ZFS = &zfs.Runner{}
	}

	for _, tc := range []struct {
		name, test string
		promoted   bool
	}{
		{"before the promote", `if [ "$1" = promote ]; then echo "killed" >&2; exit 1; fi`, false},
		{"after the promote", `if [ "$1" = promote ]; then "$REAL" "$@"; echo "killed" >&2; exit 1; fi`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, want := scene(t)
			ds, snap, clone := e.svc.Dataset, e.svc.Dataset+older, e.svc.Dataset+localSuffix
			before := snapshotGUIDs(t, e.pool, e.pool.Name)
			interrupted(t, e, tc.test)
			if !e.pool.Exists(clone) || e.pool.Exists(clone+older) != tc.promoted {
				t.Fatalf("the interrupted run did not leave the clone %s (promoted: %v)", clone, tc.promoted)
			}
			res, err := e.run(t)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
			}
			e.checkRestored(t, res, "local", want)
			guidsKept(t, e.pool, before)
			if e.pool.Exists(clone) || !e.pool.Exists(snap) {
				t.Errorf("clone left (%v), or %s is not the dataset's (%v)", e.pool.Exists(clone), snap, e.pool.Exists(snap))
			}
			if kept := keptAsides(t, e); len(kept) != 1 || !e.pool.Exists(kept[0]+newer) {
				t.Errorf("kept asides %v: the newer snapshot is not kept aside", kept)
			}
			if refs := strings.TrimSpace(e.pool.ZFS(t, "get", "-H", "-o", "value", "userrefs", snap)); refs != "0" {
				t.Errorf("%s still has %s hold(s)", snap, refs)
			}
			if v := strings.TrimSpace(e.pool.ZFS(t, "get", "-H", "-o", "value", PropLocal, ds)); v != "-" {
				t.Errorf("%s is still %q on the restored dataset", PropLocal, v)
			}
		})
	}

	// Killed after the set-aside: no dataset under the service's name
	// until nixgen-datasets creates an empty one. The clone holds the
	// restored data and is left for the operator, untouched.
	t.Run("after the set-aside", func(t *testing.T) {
		e, _ := scene(t)
		ds, clone := e.svc.Dataset, e.svc.Dataset+localSuffix
		interrupted(t, e, `if [ "$1" = rename ] && [ "$2" = '`+clone+`' ]; then echo killed >&2; exit 1; fi`)
		if e.pool.Exists(ds) {
			t.Fatalf("%s exists after the interrupted run", ds)
		}
		e.pool.ZFS(t, "create", "-o", "mountpoint="+e.svc.Mountpoint, ds) // as nixgen-datasets does
		before := snapshotGUIDs(t, e.pool, e.pool.Name)
		res, err := e.run(t)
		if err == nil || len(res.Attempts) != 1 || !strings.Contains(res.Attempts[0].Error, "cannot be finished here") {
			t.Fatalf("attempts %+v, err %v: want the clone left for the operator", res.Attempts, err)
		}
		guidsKept(t, e.pool, before)
		if !e.pool.Exists(clone + older) {
			t.Error("the clone with the restored snapshot is gone")
		}
		// preseed status lists the dataset set aside and the clone.
		sts, err := ReadStatus(t.Context(), &zfs.Runner{}, e.m)
		if err != nil || len(sts) != 1 || len(sts[0].Asides) != 2 || sts[0].Asides[1].Dataset != clone ||
			!strings.Contains(sts[0].Asides[1].Reason, ds+older) {
			t.Errorf("preseed status does not list the clone: %+v, %v", sts, err)
		}
	})

	t.Run("a clone that is not a local restore's", func(t *testing.T) {
		e, _ := scene(t)
		ds, clone := e.svc.Dataset, e.svc.Dataset+localSuffix
		e.pool.ZFS(t, "clone", "-o", "mountpoint=none", ds+older, clone) // someone's own
		before := snapshotGUIDs(t, e.pool, e.pool.Name)
		res, err := e.run(t)
		if err == nil || len(res.Attempts) != 1 || !strings.Contains(res.Attempts[0].Error, "is not marked as preseed's") {
			t.Fatalf("attempts %+v, err %v: want the clone refused", res.Attempts, err)
		}
		guidsKept(t, e.pool, before)
		if origin := strings.TrimSpace(e.pool.ZFS(t, "get", "-H", "-o", "value", "origin", clone)); origin != ds+older {
			t.Errorf("the foreign clone changed: origin %q", origin)
		}
	})
}
