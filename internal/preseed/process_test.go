package preseed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
)

// TestProcessTimings times nixgen-helper preseed as systemd runs it, a whole
// process, with hyperfine, for docs/benchmarks.md: the skip path beside 1,
// 100 and 900 sibling datasets, and a 190 MB restic restore (150 MB in one
// file and 5,000 small files) against `restic restore` into a dataset with
// the same properties. Each helper binary named in NIXGEN_PERF_HELPERS
// (say one built from main, one from this tree) runs in the same hyperfine
// invocation, so the figures pair. It only measures (no timed assertions)
// and is skipped without that variable:
//
//	NIXGEN_PERF_HELPERS="/tmp/before/nixgen-helper /tmp/after/nixgen-helper" \
//	NIXGEN_PERF_OUT=/tmp/perf go test -run TestProcessTimings -v -timeout 3h ./internal/preseed/
//
// The hyperfine tables go to NIXGEN_PERF_OUT (default: the test log only).
// NIXGEN_PERF_RESTORE_RUNS sets the restore's runs per binary (default 2).
func TestProcessTimings(t *testing.T) {
	helpers := strings.Fields(os.Getenv("NIXGEN_PERF_HELPERS"))
	if len(helpers) == 0 {
		t.Skip("NIXGEN_PERF_HELPERS names no helper binaries to time")
	}
	e2e.Tool(t, "hyperfine")
	out := os.Getenv("NIXGEN_PERF_OUT")
	if out == "" {
		out = t.TempDir()
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("skip", func(t *testing.T) { timeSkip(t, helpers, out) })
	t.Run("restore", func(t *testing.T) { timeRestore(t, helpers, out) })
}

// hyperfine runs one paired comparison and logs its table.
func hyperfine(t *testing.T, out, name string, args ...string) {
	t.Helper()
	md := filepath.Join(out, name+".md")
	args = append([]string{"--style", "basic", "--export-markdown", md, "--export-json", filepath.Join(out, name+".json")}, args...)
	cmd := exec.Command("hyperfine", args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hyperfine %s: %v\n%s", name, err, b)
	}
	table, _ := os.ReadFile(md)
	t.Logf("%s:\n%s\n%s", name, b, table)
}

// counting writes a script that logs each call of real to log and runs it.
func counting(t *testing.T, dir, real, log string) string {
	path, err := exec.LookPath(real)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, real)
	body := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> '%s'\nexec '%s' \"$@\"\n", log, path)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

func (e *env) writeManifest(t *testing.T) string {
	t.Helper()
	return writeManifestOf(t, e.m)
}

func writeManifestOf(t *testing.T, m *manifest.Manifest) string {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := manifest.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (e *env) preseedArgs(helper, manifestPath string) string {
	return fmt.Sprintf("%s preseed --manifest %s --service app --hostname testhost --lock-dir %s --textfile-dir %s",
		helper, manifestPath, e.opts.LockDir, e.metrics)
}

func timeSkip(t *testing.T, helpers []string, out string) {
	e := newEnv(t, "restic")
	e.m.Services[0].Notify = nil
	e.pool.ZFS(t, "set", PropComplete+"=complete", e.svc.Dataset)
	parent := e.m.Parent.Dataset
	siblings := 0
	for _, n := range []int{1, 100, 900} {
		// Siblings are other services' datasets (not mounted: zfs-fuse
		// mounts are slow to make and beside the point here).
		for ; siblings < n; siblings++ {
			name := fmt.Sprintf("sib%04d", siblings)
			mp := e.pool.Path("mnt", name)
			e.pool.ZFS(t, "create", "-o", "canmount=off", "-o", "mountpoint="+mp, parent+"/"+name)
			e.m.Services = append(e.m.Services, manifest.Service{Name: name, Unit: name + ".service",
				Dataset: parent + "/" + name, Mountpoint: mp, User: "nobody", Group: "nogroup", Mode: "0750"})
		}
		e.svc = &e.m.Services[0]
		// The preseed unit reads the service's own manifest
		// (services/app.preseed.json); the host's whole manifest, which
		// grows with the siblings, is timed beside it.
		m := writeManifestOf(t, e.m.Only(e.svc))
		whole := e.writeManifest(t)

		// How many zfs and zpool processes one skip starts.
		dir := t.TempDir()
		log := filepath.Join(dir, "calls")
		zfsBin, zpoolBin := counting(t, dir, "zfs", log), counting(t, dir, "zpool", log)
		for _, h := range helpers {
			os.Remove(log)
			args := strings.Fields(e.preseedArgs(h, m))
			cmd := exec.Command(args[0], append([]string{"--zfs", zfsBin, "--zpool", zpoolBin}, args[1:]...)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", h, err, b)
			}
			calls, _ := os.ReadFile(log)
			t.Logf("%d siblings, %s: %d zfs/zpool processes:\n%s", n, h, strings.Count(string(calls), "\n"), calls)
		}

		args := []string{"-N", "--warmup", "1", "--runs", "10",
			"-n", "2-call shell check", fmt.Sprintf("sh -c 'zpool list -H -o health %s >/dev/null && zfs get -H -o value %s %s'", e.pool.Name, PropComplete, e.svc.Dataset)}
		for _, h := range helpers {
			args = append(args, "-n", h, e.preseedArgs(h, m))
		}
		for _, h := range helpers {
			args = append(args, "-n", h+" (whole manifest)", e.preseedArgs(h, whole))
		}
		hyperfine(t, out, fmt.Sprintf("skip-%d", n), args...)
	}
}

func timeRestore(t *testing.T, helpers []string, out string) {
	e := newBigEnv(t, 1<<30)
	e.m.Services[0].Notify = nil
	// Five declared properties, already set as nixgen-datasets sets them;
	// the raw restic target is a dataset with the same ones.
	props := map[string]string{"atime": "off", "compression": "on", "recordsize": "128K", "checksum": "fletcher4", "exec": "off"}
	e.svc.Properties = props
	raw := e.pool.Name + "/services/raw"
	rawMp := filepath.Join(e.pool.Dir, "raw")
	createArgs := []string{"create", "-o", "mountpoint=" + rawMp}
	for k, v := range props {
		e.pool.ZFS(t, "set", k+"="+v, e.svc.Dataset)
		createArgs = append(createArgs, "-o", k+"="+v)
	}
	e.pool.ZFS(t, append(createArgs, raw)...)

	mp := e.svc.Mountpoint
	writeRandom(t, filepath.Join(mp, "data", "big.bin"), 150<<20)
	for i := range 5000 {
		writeRandom(t, filepath.Join(mp, "small", fmt.Sprintf("%02d", i%50), fmt.Sprintf("f%04d", i)), 8<<10)
	}
	// Owned as the service's files are: restic restores the owners, so the
	// helper has nothing to change.
	if b, err := exec.Command("chown", "-R", "nobody:nogroup", mp).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, b)
	}
	want := digest(t, mp)
	e.restic(t, "init")
	e.restic(t, "backup", "--host", "testhost", mp)
	emptyDir(t, mp)
	m := e.writeManifest(t)

	t.Setenv("RESTIC_REPOSITORY", e.repo)
	t.Setenv("RESTIC_PASSWORD_FILE", e.pwFile)
	runs := os.Getenv("NIXGEN_PERF_RESTORE_RUNS") // each run restores 190 MB
	if runs == "" {
		runs = "2"
	}
	args := []string{"--runs", runs,
		"-n", "restic restore", "--prepare", fmt.Sprintf("rm -rf %s/*", rawMp),
		fmt.Sprintf("restic restore latest --host testhost --path %s --target %s", mp, rawMp)}
	for _, h := range helpers {
		args = append(args, "-n", h, "--prepare",
			fmt.Sprintf("find %s -mindepth 1 -delete && zfs inherit %s %s", mp, PropComplete, e.svc.Dataset),
			e.preseedArgs(h, m))
	}
	hyperfine(t, out, "restore", args...)
	if got := digest(t, mp); got != want {
		t.Errorf("after the last helper run: digest %s, want %s", got, want)
	}
	if got := digest(t, filepath.Join(rawMp, mp)); got != want {
		t.Errorf("raw restic restore: digest %s, want %s", got, want)
	}
}
