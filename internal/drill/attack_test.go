package drill

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// The scratch parent (default /var/tmp) may be writable by other users. A
// parent they could use to swap root's scratch directory is refused; in a
// sticky one, like /var/tmp, they can only plant names: nothing they plant
// is followed or removed, and they cannot swap the scratch directory while
// restic restores into it (done anyway, by root in a wrapper, the identity
// check fails the drill and nothing is followed).
func TestAttackScratchParent(t *testing.T) {
	e := newEnv(t)
	u := usertest.New(t)
	base := zfstest.TrustedDir(t)
	victim := filepath.Join(base, "victim")
	before := usertest.Victim(t, victim)
	mkdir := func(name string, mode uint32, uid int) string {
		t.Helper()
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	run := func(scratch string, restic ...string) ([]Result, error) {
		return Run(context.Background(), Options{Manifest: e.m, Services: []string{"app"}, Hostname: "testhost", ScratchDir: scratch, Restic: restic})
	}

	t.Run("unsafe parents are refused", func(t *testing.T) {
		trusted := mkdir("trusted", 0o755, 0)
		if err := os.Symlink(trusted, filepath.Join(base, "link")); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{
			mkdir("owned", 0o755, u.UID):        "owned is owned by " + u.Name,
			mkdir("ww", 0o777, 0):               "ww is writable by others (mode 0777)",
			mkdir("grp", 0o770, 0):              "grp is writable by its group",
			filepath.Join(base, "link"):         "link is a symlink",
			filepath.Join(base, "link", "deep"): "link is a symlink",
		} {
			res, err := run(p)
			if err == nil || len(res) != 0 || !strings.Contains(err.Error(), "not safe to restore into") || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want a refusal naming %q", p, err, want)
			}
			if ents, _ := os.ReadDir(p); len(ents) != 0 {
				t.Errorf("%s: something was made there: %v", p, ents)
			}
		}
		if ents, _ := os.ReadDir(trusted); len(ents) != 0 {
			t.Errorf("written through the symlink: %v", ents)
		}
	})

	sticky := mkdir("tmp", 0o1777, 0)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	left := func(n int) string {
		return filepath.Join(sticky, fmt.Sprintf("nixgen-drill-app-%d-%d", dead.Process.Pid, n))
	}
	// The user plants a symlink and a directory of its own under names of
	// a dead drill's leftovers.
	u.MustSh(t, `ln -s "$1" "$2" && mkdir "$3" && ln -s "$1" "$3/v"`, victim, left(1), left(2))
	// A real leftover of root's, with symlinks out (a backup may hold them).
	if err := os.MkdirAll(filepath.Join(left(3), "var"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"var/v", "top"} {
		if err := os.Symlink(victim, filepath.Join(left(3), l)); err != nil {
			t.Fatal(err)
		}
	}

	realRestic := e2e.Tool(t, "restic")
	wrapper := func(prefix string, when ...string) (string, string) {
		dir := t.TempDir()
		log := filepath.Join(dir, "swaps")
		script := "#!/bin/sh\ntarget= prev=\nfor a do [ \"$prev\" = --target ] && target=$a; prev=$a; done\n" +
			"swap() {\n\t" + prefix + " /bin/sh -c 'mv \"$1\" \"$1.gone\" && ln -s \"$2\" \"$1\"' sh \"$target\" " + usertest.Quote(victim) + " 2>/dev/null\n" +
			"\techo \"$1 rc=$?\" >> " + usertest.Quote(log) + "\n}\n"
		for _, w := range when {
			if w == "before" {
				script += "[ -n \"$target\" ] && swap before\n"
			}
		}
		script += usertest.Quote(realRestic) + " \"$@\"; rc=$?\n"
		for _, w := range when {
			if w == "after" {
				script += "[ -n \"$target\" ] && swap after\n"
			}
		}
		script += "exit $rc\n"
		w := filepath.Join(dir, "restic")
		if err := os.WriteFile(w, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return w, log
	}

	t.Run("sticky parent, the user swaps", func(t *testing.T) {
		w, log := wrapper(u.ShPrefix(), "before", "after")
		res, err := run(sticky, w)
		if err != nil || len(res) != 1 || !res[0].OK() || res[0].Files != 4 {
			t.Fatalf("drill: %v %+v", err, res)
		}
		if b, _ := os.ReadFile(log); string(b) != "before rc=1\nafter rc=1\n" {
			t.Errorf("the user's swaps: %q, want both refused", b)
		}
		before.Unchanged(t, victim)
		if _, err := os.Lstat(left(3)); !os.IsNotExist(err) {
			t.Errorf("root's leftover not removed: %v", err)
		}
		for _, p := range []string{left(1), left(2), filepath.Join(left(2), "v")} {
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("the user's %s was removed: %v", p, err)
			}
		}
		ents, _ := os.ReadDir(sticky)
		if len(ents) != 2 {
			t.Errorf("scratch left behind: %v", ents)
		}
	})

	t.Run("sticky parent, swapped anyway", func(t *testing.T) {
		w, log := wrapper("", "after")
		res, err := run(sticky, w)
		if err == nil || len(res) != 1 || !strings.Contains(res[0].Error, "is no longer the directory") {
			t.Fatalf("drill: %v %+v", err, res)
		}
		if b, _ := os.ReadFile(log); string(b) != "after rc=0\n" {
			t.Errorf("swap: %q", b)
		}
		before.Unchanged(t, victim)
	})
}
