package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/safefs"
)

// childEnv makes the test binary run one drill (from a JSON spec) as a
// separate process, so that a test can SIGKILL a real drill mid-restore.
const childEnv = "NIXGEN_DRILL_TEST_CHILD"

type childSpec struct {
	Manifest *manifest.Manifest
	Scratch  string
}

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		b, err := os.ReadFile(p)
		var cs childSpec
		if err == nil {
			err = json.Unmarshal(b, &cs)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if _, err := Run(context.Background(), Options{Manifest: cs.Manifest, Services: []string{"app"}, Hostname: "testhost", ScratchDir: cs.Scratch}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A drill killed by SIGKILL cannot remove its scratch directory; the next
// drill removes it.
func TestDrillRemovesScratchOfKilledDrill(t *testing.T) {
	e := newEnv(t)
	spec := filepath.Join(t.TempDir(), "child.json")
	b, _ := json.Marshal(childSpec{Manifest: e.m, Scratch: e.scratch})
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+spec)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && len(left) == 0; time.Sleep(2 * time.Millisecond) {
		left, _ = filepath.Glob(filepath.Join(e.scratch, "nixgen-drill-app-*"))
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	if len(left) == 0 {
		t.Fatalf("the drill never made its scratch directory; stderr:\n%s", stderr.String())
	}
	if _, err := os.Stat(left[0]); err != nil {
		t.Fatalf("the killed drill left nothing behind (%v): the test did not reach its point", err)
	}
	var warn bytes.Buffer
	res, err := Run(context.Background(), Options{Manifest: e.m, Services: []string{"app"}, Hostname: "testhost", ScratchDir: e.scratch, Warn: &warn})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	e.scratchEmpty(t)
	if !strings.Contains(warn.String(), "removed "+left[0]) {
		t.Errorf("removal not reported: %q", warn.String())
	}
}

// Only a dead drill's own scratch directory goes: not a live drill's, not a
// symlink, not a file, not another user's, not another name.
func TestRemoveLeftoversRemovesOnlyDeadDrillsDirs(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid, livePid := dead.Process.Pid, os.Getppid()
	mk := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := mk(fmt.Sprintf("nixgen-drill-my-app-%d-123", deadPid))
	keep := []string{
		mk(fmt.Sprintf("nixgen-drill-app-%d-123", livePid)),
		mk(fmt.Sprintf("nixgen-restore-test-app-%d-1", deadPid)),
		mk(fmt.Sprintf("nixgen-drill-app-%d", deadPid)),
	}
	foreign := mk(fmt.Sprintf("nixgen-drill-other-%d-7", deadPid))
	if err := os.Chown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, foreign)
	target := mk("target")
	link := filepath.Join(dir, fmt.Sprintf("nixgen-drill-link-%d-9", deadPid))
	file := filepath.Join(dir, fmt.Sprintf("nixgen-drill-file-%d-9", deadPid))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, target, link, file, filepath.Join(target, "sub"))
	scratch, err := safefs.OpenTrusted(dir, safefs.StickyOK)
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	Options{ScratchDir: dir, Warn: &bytes.Buffer{}}.removeLeftovers(scratch)
	if _, err := os.Lstat(gone); err == nil {
		t.Errorf("%s (dead pid %d) was not removed", gone, deadPid)
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
