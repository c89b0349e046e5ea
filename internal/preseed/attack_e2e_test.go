package preseed

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Attacks by the service user on a restore, on zfs-fuse with a real
// unprivileged user. Each one checks that the attack was really carried
// out (or really refused by the kernel), and that nothing outside the
// dataset changed.

// serviceUser makes the env's service belong to a fresh user, who owns the
// dataset root (mode 0750) as `datasets apply` leaves it.
func serviceUser(t *testing.T, e *env) *usertest.User {
	t.Helper()
	u := usertest.New(t)
	e.svc.User, e.svc.Group = u.Name, u.Name
	if err := os.Chown(e.svc.Mountpoint, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.svc.Mountpoint, 0o750); err != nil {
		t.Fatal(err)
	}
	return u
}

// ownedBy checks that everything below dir (symlinks themselves) is uid's.
func ownedBy(t *testing.T, dir string, uid int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		if int(st.Uid) != uid {
			t.Errorf("%s is owned by %d, want %d", p, st.Uid, uid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// a) While preseed fixes ownership after a restore, the service user
// renames a subdirectory away and puts a symlink to a root-owned tree in
// its place, at the worst moment: after the walk read the parent directory
// and before it enters the subdirectory. The root is root:root 0700 then,
// so the user works from a directory it entered before the restore
// (lost+found, which does not count as data and which it owns): a process
// keeps its working directory.
func TestAttackChownWalkSymlinkSwap(t *testing.T) {
	for _, method := range []string{"restic", "local"} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t, method)
			mp := e.svc.Mountpoint
			var want string
			if method == "restic" {
				want = e.backupAndEmpty(t, 4096)
			}
			u := serviceUser(t, e)
			victim := e.pool.Path("victim")
			before := usertest.Victim(t, victim)
			u.MustSh(t, `mkdir -p "$1/lost+found/sub/deeper" && echo x > "$1/lost+found/sub/deeper/f"`, mp)
			if method == "local" {
				// The snapshot has the data and the user's lost+found; the
				// data is then lost, lost+found stays.
				want = writeData(t, mp, 4096)
				e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@autosnap_2026-01-01_00:00:00_hourly")
				for _, n := range []string{"db", "config.json", "media"} {
					if err := os.RemoveAll(filepath.Join(mp, n)); err != nil {
						t.Fatal(err)
					}
				}
			}
			agent := u.Start(t, filepath.Join(mp, "lost+found"), `mv sub sub.away && ln -s "$1" sub`)
			var report string
			chownHook = func(rel string) {
				if rel == "lost+found/sub" {
					report, _ = agent.Act(victim)
				}
			}
			t.Cleanup(func() { chownHook = nil })

			res, err := e.run(t)
			if err != nil || res.Outcome != Restored || res.Method != method {
				t.Fatalf("outcome %s by %q, err %v\nlog:\n%s", res.Outcome, res.Method, err, e.logBuf)
			}
			if !strings.HasSuffix(report, "rc=0") {
				t.Fatalf("the user's swap did not happen (%q): the test did not reach its point", report)
			}
			if fi, err := os.Lstat(filepath.Join(mp, "lost+found", "sub")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("lost+found/sub is not the user's symlink: %v %v", fi, err)
			}
			before.Unchanged(t, victim)
			if got := digest(t, mp); got != want {
				t.Errorf("restored digest %s, want %s", got, want)
			}
			ownedBy(t, mp, u.UID)
			if st, err := os.Stat(mp); err != nil || st.Mode().Perm() != 0o750 {
				t.Errorf("root mode %v %v, want 0750", st.Mode(), err)
			}
			if v := e.prop(t, PropComplete); v != "complete" {
				t.Errorf("%s = %q", PropComplete, v)
			}
		})
	}
}

// b) A restic wrapper that, around the real restic restore, replaces the
// staging directory with a symlink to a directory the user controls, whose
// subpath <mountpoint> points at a root-only directory. As the service user
// the swap is refused by the kernel (the root is root:root 0700 during the
// restore) and the restore completes; done anyway (by root in the wrapper:
// the lock defeated), the identity check catches it after restic, nothing
// is moved or marked, and the next run restores safely.
func TestAttackResticStagingSwap(t *testing.T) {
	for _, as := range []string{"user", "root"} {
		t.Run(as, func(t *testing.T) {
			e := newEnv(t, "restic")
			mp := e.svc.Mountpoint
			want := e.backupAndEmpty(t, 4096)
			u := serviceUser(t, e)
			realRestic := e2e.Tool(t, "restic")

			rootOnly := e.pool.Path("rootonly")
			if err := os.MkdirAll(rootOnly, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rootOnly, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			evil := e.pool.Path("attacker")
			if err := os.Mkdir(evil, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(evil, u.UID, u.GID); err != nil {
				t.Fatal(err)
			}
			u.MustSh(t, `mkdir -p "$1$(dirname "$2")" && ln -s "$3" "$1$2"`, evil, mp, rootOnly)
			rootOnlyBefore := usertest.Snapshot(t, rootOnly)
			evilBefore := usertest.Snapshot(t, evil)

			dir := t.TempDir()
			log := filepath.Join(dir, "swaps")
			prefix := ""
			if as == "user" {
				prefix = u.ShPrefix()
			}
			// Swap before restic writes (the attack) and after it
			// (before preseed moves); root only after, or restic itself would
			// write through the symlink as root and no check after the fact
			// could undo it: keeping the user out is the lock's job.
			script := "#!/bin/sh\ntarget= prev=\nfor a do [ \"$prev\" = --target ] && target=$a; prev=$a; done\n" +
				"swap() {\n\t" + prefix + " /bin/sh -c 'mv \"$1\" \"$1.gone\" && ln -s \"$2\" \"$1\"' sh \"$target\" " + usertest.Quote(evil) + " 2>/dev/null\n" +
				"\techo \"$1 rc=$?\" >> " + usertest.Quote(log) + "\n}\n" +
				"if [ \"$1\" = restore ] && [ -n \"$target\" ] && [ " + usertest.Quote(as) + " = user ]; then swap before; fi\n" +
				usertest.Quote(realRestic) + " \"$@\"; rc=$?\n" +
				"if [ \"$1\" = restore ] && [ -n \"$target\" ]; then swap after; fi\n" +
				"exit $rc\n"
			wrapper := filepath.Join(dir, "restic")
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			e.opts.Restic = wrapper

			res, err := e.run(t)
			swaps, _ := os.ReadFile(log)
			rootOnlyBefore.Unchanged(t, rootOnly)
			evilBefore.Unchanged(t, evil)
			if as == "user" {
				if string(swaps) != "before rc=1\nafter rc=1\n" {
					t.Fatalf("the user's swaps: %q, want both refused", swaps)
				}
				if err != nil || res.Outcome != Restored {
					t.Fatalf("outcome %s, err %v\nlog:\n%s", res.Outcome, err, e.logBuf)
				}
				if got := digest(t, mp); got != want {
					t.Errorf("restored digest %s, want %s", got, want)
				}
				ownedBy(t, mp, u.UID)
				return
			}
			if string(swaps) != "after rc=0\n" {
				t.Fatalf("the swap: %q", swaps)
			}
			if err == nil || res.Outcome != Failed || len(res.Attempts) != 1 || !strings.Contains(res.Attempts[0].Error, "is no longer the directory") {
				t.Fatalf("outcome %s, attempts %+v, err %v", res.Outcome, res.Attempts, err)
			}
			if v := e.prop(t, PropComplete); v == "complete" {
				t.Fatal("marked complete after a swapped staging directory")
			}
			// The next run removes both leftovers without following the
			// symlink, and restores.
			e.opts.Restic = ""
			res, err = e.run(t)
			if err != nil || res.Outcome != Restored {
				t.Fatalf("rerun: outcome %s, err %v\nlog:\n%s", res.Outcome, err, e.logBuf)
			}
			if got := digest(t, mp); got != want {
				t.Errorf("restored digest %s, want %s", got, want)
			}
			rootOnlyBefore.Unchanged(t, rootOnly)
			evilBefore.Unchanged(t, evil)
			ents, _ := os.ReadDir(mp)
			for _, en := range ents {
				if strings.HasPrefix(en.Name(), StagingPrefix) {
					t.Errorf("left behind: %s", en.Name())
				}
			}
		})
	}
}

// c) A mountpoint below a directory the user owns (where it can plant a
// symlink whenever it likes), or below a symlink (planted while it could),
// is refused before anything happens: exit 4, no method tried, nothing
// written where the dataset is mounted.
func TestAttackUntrustedMountpointAncestor(t *testing.T) {
	for _, how := range []string{"owned", "symlink"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, "local")
			u := usertest.New(t)
			home := e.pool.Path("home")
			if err := os.Mkdir(home, 0o755); err != nil {
				t.Fatal(err)
			}
			mp, real := filepath.Join(home, "app"), filepath.Join(home, "app")
			if how == "owned" {
				if err := os.Chown(home, u.UID, u.GID); err != nil {
					t.Fatal(err)
				}
			} else {
				// home is root's again; the symlink stayed.
				if err := os.Mkdir(filepath.Join(home, "real"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("real", filepath.Join(home, "link")); err != nil {
					t.Fatal(err)
				}
				mp, real = filepath.Join(home, "link", "app"), filepath.Join(home, "real", "app")
			}
			// A snapshot with data that local would roll back to.
			writeData(t, e.svc.Mountpoint, 100)
			e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@autosnap_2026-01-01_00:00:00_hourly")
			emptyDir(t, e.svc.Mountpoint)
			e.pool.ZFS(t, "set", "mountpoint="+mp, e.svc.Dataset)
			e.svc.Mountpoint = mp
			before := usertest.Snapshot(t, real)

			res, err := e.run(t)
			var re *RefusedError
			if !errors.As(err, &re) || res.Outcome != Failed || len(res.Attempts) != 0 {
				t.Fatalf("outcome %s, attempts %+v, err %v: want refused", res.Outcome, res.Attempts, err)
			}
			want := "home is owned by " + u.Name
			if how == "symlink" {
				want = "home/link is a symlink"
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err %v, want it to name %q", err, want)
			}
			before.Unchanged(t, real)
			if v := e.prop(t, PropComplete); v == "complete" {
				t.Error("marked complete")
			}
		})
	}
}

// The root lock: while it holds, the service user cannot write into the
// dataset; data it wrote after preseed found the dataset empty but before
// the lock is adopted (the root gets its owner and mode back), and a
// restore that left the dataset empty gives the root back too.
func TestRootLock(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	u := serviceUser(t, e)
	r := &run{o: e.opts, svc: e.svc, zfs: &zfs.Runner{}, log: e.opts.Log}
	rootIs := func(uid int, mode os.FileMode) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(mp, &st); err != nil || int(st.Uid) != uid || os.FileMode(st.Mode).Perm() != mode {
			t.Fatalf("root %d %o (%v), want %d %o", st.Uid, st.Mode&0o7777, err, uid, mode)
		}
	}

	u.MustSh(t, `echo late > "$1/late"`, mp)
	if empty, err := r.lockRoot(); err != nil || empty {
		t.Fatalf("lockRoot with data: empty %v, err %v", empty, err)
	}
	rootIs(u.UID, 0o750)

	if err := os.Remove(filepath.Join(mp, "late")); err != nil {
		t.Fatal(err)
	}
	if empty, err := r.lockRoot(); err != nil || !empty {
		t.Fatalf("lockRoot: empty %v, err %v", empty, err)
	}
	rootIs(0, 0o700)
	if out, err := u.Sh(`touch "$1/x"`, mp); err == nil {
		t.Fatalf("the user wrote into a locked root: %s", out)
	}
	r.unlockRoot()
	rootIs(u.UID, 0o750)

	// Not given back while anything is left behind.
	if _, err := r.lockRoot(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "half"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r.unlockRoot()
	rootIs(0, 0o700)
}
