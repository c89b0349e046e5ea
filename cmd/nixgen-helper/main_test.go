package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/datasets"
	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// With NGH_RUN_AS_HELPER=1 the test binary is nixgen-helper itself, so
// tests can run (and kill) a real helper process without a go build.
func TestMain(m *testing.M) {
	if os.Getenv("NGH_RUN_AS_HELPER") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// helperCmd prepares a separate nixgen-helper process.
func helperCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "NGH_RUN_AS_HELPER=1")
	return cmd
}

func runHelper(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"nixgen-helper"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeManifest(t *testing.T, m *manifest.Manifest) string {
	t.Helper()
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

func poolManifest(p *zfstest.Pool, names ...string) *manifest.Manifest {
	m := &manifest.Manifest{Version: manifest.Version, Host: "test",
		Parent: manifest.Parent{Dataset: p.Name + "/services", Pool: p.Name}}
	for _, n := range names {
		m.Services = append(m.Services, manifest.Service{
			Name: n, Unit: n + ".service", Dataset: p.Name + "/services/" + n,
			Mountpoint: p.Path("srv", n), User: "root", Group: "root", Mode: "0750",
			Properties: map[string]string{"compression": "gzip", "recordsize": "16K"},
		})
	}
	return m
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"datasets"},
		{"datasets", "plan", "--manifest", ""}, // (without --manifest: TestManifestDefaultsToEtc)
		{"datasets", "apply", "--bogus"},
	} {
		code, _, stderr := runHelper(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "nixgen-helper: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with a message", args, code, stderr, exitUsage)
		}
	}
}

// A bad manifest is rejected before any zfs or zpool program runs.
func TestBadManifestRunsNothing(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "calls")
	spy := filepath.Join(dir, "spy")
	if err := os.WriteFile(spy, []byte("#!/bin/sh\necho \"$0 $*\" >> '"+logFile+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	version := `{"version":` + strconv.Itoa(manifest.Version) + `,`
	good := version + `"host":"h","parent":{"dataset":"tank/s","pool":"tank"},"services":[` +
		`{"name":"a","unit":"a.service","dataset":"tank/s/a","mountpoint":"/srv/a","user":"root","group":"root","mode":"0750","properties":{}}]}`
	cases := map[string]struct{ body, want string }{
		"malformed":          {version, "unexpected EOF"},
		"older version":      {strings.Replace(good, version, `{"version":1,`, 1), "version 1, but this nixgen-helper reads version " + strconv.Itoa(manifest.Version)},
		"unknown field":      {strings.Replace(good, `"host"`, `"hots":"x","host"`, 1), `unknown field "hots"`},
		"relative path":      {strings.Replace(good, `"/srv/a"`, `"srv/a"`, 1), `mountpoint "srv/a" must be an absolute path`},
		"trailing data":      {good + "{}", "trailing data"},
		"dataset off parent": {strings.Replace(good, `"tank/s/a"`, `"tank/a"`, 1), "is not below parent"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "manifest.json")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, sub := range []string{"plan", "apply"} {
				args := []string{"--zfs", spy, "--zpool", spy, "datasets", sub, "--manifest", path}
				if sub == "apply" {
					args = append(args, "--lock-dir", filepath.Join(dir, "lock"))
				}
				code, _, stderr := runHelper(t, args...)
				if code != exitManifest || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, path) {
					t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q and the file", sub, code, stderr, exitManifest, c.want)
				}
			}
			if b, err := os.ReadFile(logFile); err == nil {
				t.Errorf("zfs/zpool ran despite the bad manifest: %s", b)
			}
		})
	}
}

func TestPlanApplyCLI(t *testing.T) {
	p := zfstest.NewPool(t)
	m := poolManifest(p, "app", "db")
	path := writeManifest(t, m)
	lock := []string{"--lock-dir", filepath.Join(p.Dir, "lock")}

	code, out, stderr := runHelper(t, "datasets", "plan", "--manifest", path)
	if code != 0 || !strings.Contains(out, "create parent "+m.Parent.Dataset+" (mountpoint=none)") ||
		!strings.Contains(out, "create "+m.Services[0].Dataset+" (compression=gzip mountpoint="+m.Services[0].Mountpoint+" recordsize=16K)") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = runHelper(t, "datasets", "plan", "--manifest", path, "--json")
	var plan datasets.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 {
		t.Fatalf("plan --json: exit %d, %v\n%s", code, err, out)
	}
	if len(plan.Actions) != 7 || plan.Actions[0].Kind != datasets.CreateParent || plan.PoolHealth != "ONLINE" {
		t.Errorf("plan --json = %+v", plan)
	}
	if p.Exists(m.Parent.Dataset) {
		t.Fatal("plan changed the pool")
	}

	code, out, stderr = runHelper(t, append([]string{"datasets", "apply", "--manifest", path}, lock...)...)
	if code != 0 || !strings.Contains(out, "all 2 dataset(s) verified") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = runHelper(t, append([]string{"datasets", "apply", "--manifest", path}, lock...)...)
	if code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Errorf("second apply: exit %d, %q", code, out)
	}
	code, out, _ = runHelper(t, "datasets", "plan", "--manifest", path)
	if code != 0 || !strings.HasSuffix(out, "no changes\n") {
		t.Errorf("plan after apply: exit %d, %q", code, out)
	}

	// Create-time difference: reported as a warning, apply succeeds.
	m.Services[0].Properties["utf8only"] = "on"
	m.Services[0].CreateOnly = []string{"utf8only"}
	path2 := writeManifest(t, m)
	code, out, stderr = runHelper(t, append([]string{"datasets", "apply", "--manifest", path2}, lock...)...)
	if code != 0 || !strings.Contains(stderr, "warning: "+m.Services[0].Dataset+" utf8only is off, manifest wants on") {
		t.Errorf("apply with a create-time difference: exit %d\n%s\n%s", code, out, stderr)
	}

	// An unknown user: exit 4, nothing changed.
	m.Services[1].User = "no-such-user-ngt"
	m.Services[1].Properties["compression"] = "off"
	path3 := writeManifest(t, m)
	code, _, stderr = runHelper(t, append([]string{"datasets", "apply", "--manifest", path3}, lock...)...)
	if code != exitRefused || !strings.Contains(stderr, `user "no-such-user-ngt" does not exist`) {
		t.Errorf("unknown user: exit %d, %q", code, stderr)
	}
	if got := p.Prop(t, m.Services[1].Dataset, "compression"); got != "gzip" {
		t.Errorf("compression changed to %s despite the refusal", got)
	}
}

// A helper killed (SIGKILL) right after a change leaves a state that the
// next apply completes; the kernel dropped its lock.
func TestKilledApplyIsCompletedByNextApply(t *testing.T) {
	p := zfstest.NewPool(t)
	m := poolManifest(p, "app", "db")
	m.Services[0].Mode = "0700"
	path := writeManifest(t, m)
	lockDir := filepath.Join(p.Dir, "lock")
	// Changing calls: 1 create parent, 2 create app (then pause), 3 create db.
	w := zfstest.NewWrapper(t, zfstest.WrapOptions{PauseAt: 2})
	cmd := helperCmd("--zfs", w.Path, "datasets", "apply", "--manifest", path, "--lock-dir", lockDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.WaitPaused(t, time.Minute)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("killed helper exited 0")
	}
	w.Continue(t)
	if !p.Exists(m.Services[0].Dataset) || p.Exists(m.Services[1].Dataset) {
		t.Fatalf("unexpected state after the kill (app should exist, db not); output:\n%s", out.String())
	}

	code, stdout, stderr := runHelper(t, "datasets", "apply", "--manifest", path, "--lock-dir", lockDir, "--lock-timeout", "30s")
	if code != 0 || strings.Contains(stderr, "waiting for another") {
		t.Fatalf("apply after the kill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, s := range m.Services {
		if got := p.Prop(t, s.Dataset, "mounted"); got != "yes" {
			t.Errorf("%s mounted = %s", s.Dataset, got)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(m.Services[0].Mountpoint, &st); err != nil || st.Mode&07777 != 0o700 {
		t.Errorf("app mode %o, %v (the chmod the killed run never did)", st.Mode&07777, err)
	}
	if code, stdout, _ := runHelper(t, "datasets", "apply", "--manifest", path, "--lock-dir", lockDir); code != 0 || strings.TrimSpace(stdout) != "no changes" {
		t.Errorf("third apply: exit %d, %q", code, stdout)
	}
}

// Two applies at once: the second waits for the first's lock, then finds
// nothing to do. The wrapper's log shows the calls did not interleave.
func TestLockSerialisesConcurrentApplies(t *testing.T) {
	p := zfstest.NewPool(t)
	path := writeManifest(t, poolManifest(p, "app", "db"))
	lockDir := filepath.Join(p.Dir, "lock")
	w := zfstest.NewWrapper(t, zfstest.WrapOptions{PauseAt: 1})
	args := []string{"--zfs", w.Path, "datasets", "apply", "--manifest", path, "--lock-dir", lockDir}

	a := helperCmd(args...)
	var aOut bytes.Buffer
	a.Stdout, a.Stderr = &aOut, &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	w.WaitPaused(t, time.Minute) // a holds the lock and is mid-apply

	b := startWaiting(t, "waiting for another datasets apply", args...)
	w.Continue(t)
	if err := a.Wait(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, aOut.String())
	}
	bOut, bStderr, err := b.wait()
	if err != nil {
		t.Fatalf("second apply: %v\n%s%s", err, bOut, bStderr)
	}
	if strings.TrimSpace(bOut) != "no changes" {
		t.Errorf("second apply output %q, want no changes", bOut)
	}
	checkSerialised(t, w, a, b.cmd)
	if n := len(w.Changing(t)); n != 3 {
		t.Errorf("changing calls = %d, want 3 (all by the first apply)", n)
	}
}

// waitingRun is a helper process started while another holds its lock.
type waitingRun struct {
	cmd         *exec.Cmd
	out, stderr bytes.Buffer
	done        chan struct{}
}

// startWaiting starts the helper with args and returns once its stderr
// shows msg (that it waits for the lock); a run that ends without saying
// so fails the test.
func startWaiting(t *testing.T, msg string, args ...string) *waitingRun {
	t.Helper()
	r := &waitingRun{cmd: helperCmd(args...), done: make(chan struct{})}
	r.cmd.Stdout = &r.out
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), msg) {
				waiting <- struct{}{}
			}
		}
	}()
	select {
	case <-waiting:
	case <-r.done:
		r.cmd.Wait()
		t.Fatalf("%v ran without waiting for the lock:\n%s%s", args, r.out.String(), r.stderr.String())
	case <-time.After(time.Minute): // guard against a hang only
		t.Fatalf("%v never waited for the lock", args)
	}
	return r
}

// wait lets the run finish and returns its output.
func (r *waitingRun) wait() (stdout, stderr string, err error) {
	<-r.done
	err = r.cmd.Wait()
	return r.out.String(), r.stderr.String(), err
}

// checkSerialised fails unless every zfs call of b came after the last of a.
func checkSerialised(t *testing.T, w *zfstest.Wrapper, a, b *exec.Cmd) {
	t.Helper()
	calls := w.Calls(t)
	lastA, firstB := -1, -1
	for i, c := range calls {
		switch c.PPID {
		case a.Process.Pid:
			lastA = i
		case b.Process.Pid:
			if firstB < 0 {
				firstB = i
			}
		default:
			t.Errorf("call from an unknown process: %+v", c)
		}
	}
	if lastA < 0 || firstB < 0 || firstB < lastA {
		t.Errorf("calls interleaved (last of the first run at %d, first of the second at %d): %+v", lastA, firstB, calls)
	}
}

// Run by hand, every command reads the manifest that datasets.nix installs
// at /etc/nixgen/manifest.json unless --manifest names another.
func TestManifestDefaultsToEtc(t *testing.T) {
	if _, err := os.Stat(hostfacts.ManifestPath); err == nil {
		t.Skipf("%s exists on this machine", hostfacts.ManifestPath)
	}
	for _, args := range [][]string{{"preseed", "status"}, {"datasets", "plan"}, {"metrics"}} {
		code, _, stderr := runHelper(t, args...)
		if code != exitManifest || !strings.Contains(stderr, hostfacts.ManifestPath) {
			t.Errorf("%v: exit %d, stderr %q: want exit %d naming %s", args, code, stderr, exitManifest, hostfacts.ManifestPath)
		}
	}
}
