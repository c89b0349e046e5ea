package safefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// mountDataset creates pool/<name> mounted at mp.
func mountDataset(t *testing.T, p *zfstest.Pool, name, mp string) string {
	t.Helper()
	ds := p.Name + "/" + name
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+mp, ds)
	return ds
}

func TestOpenMount(t *testing.T) {
	p := zfstest.NewPool(t)
	mp := p.Path("mnt", "app")
	mountDataset(t, p, "app", mp)
	d, err := OpenMount(mp)
	if err != nil {
		t.Fatalf("the mounted dataset: %v", err)
	}
	d.Close()

	var nm *NotMountedError
	if _, err := OpenMount(p.Path("mnt")); !errors.As(err, &nm) {
		t.Errorf("a plain directory: %v, want NotMountedError", err)
	}
	if err := os.Symlink(mp, p.Path("link")); err != nil {
		t.Fatal(err)
	}
	var ue *UntrustedError
	if _, err := OpenMount(p.Path("link")); !errors.As(err, &ue) || !strings.Contains(err.Error(), "is a symlink") {
		t.Errorf("a symlink to the mount: %v", err)
	}
	// A mount below a directory another user owns is refused, mounted or not.
	if err := os.Mkdir(p.Path("home"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p.Path("home"), 4242, 4242); err != nil {
		t.Fatal(err)
	}
	mountDataset(t, p, "home", p.Path("home", "svc"))
	if _, err := OpenMount(p.Path("home", "svc")); !errors.As(err, &ue) || !strings.Contains(err.Error(), "owned by uid 4242") {
		t.Errorf("below a user's directory: %v", err)
	}
}

// The attack of issue "recursive chown follows a swapped-in symlink": while
// the tree is walked, the service user — who can write the tree, here
// without the root lock preseed adds — renames a subdirectory away and puts
// a symlink to a root-owned tree in its place, between the walk reading the
// parent directory and entering the subdirectory.
func TestChownTreeSymlinkSwapAttack(t *testing.T) {
	u := usertest.New(t)
	p := zfstest.NewPool(t)
	mp := p.Path("mnt", "app")
	mountDataset(t, p, "app", mp)
	vdir := p.Path("victim")
	want := usertest.Victim(t, vdir)

	// The dataset as a restore leaves it: root-owned files in a tree whose
	// root and first level the user already owns.
	for _, f := range []string{"a/sub/f1", "a/sub/deeper/f2", "top"} {
		path := filepath.Join(mp, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{mp, filepath.Join(mp, "a")} {
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}

	swapped := ""
	hook := func(rel string) {
		if rel != "a/sub" {
			return
		}
		out, err := u.Sh(`cd "$1" && mv sub sub.away && ln -s "$2" sub`, filepath.Join(mp, "a"), vdir)
		if err != nil {
			t.Errorf("the user's swap failed: %v: %s", err, out)
		}
		swapped = rel
	}
	root, err := OpenMount(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.ChownTree(u.UID, u.GID, ChownOptions{BeforeDescend: hook}); err != nil {
		t.Fatal(err)
	}
	if swapped == "" {
		t.Fatal("the walk never reached a/sub: the attack did not happen")
	}
	if fi, err := os.Lstat(filepath.Join(mp, "a", "sub")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("a/sub is not the user's symlink: %v %v", fi, err)
	}
	want.Unchanged(t, vdir)
	// What the walk did reach is the user's, the symlink itself included.
	for _, f := range []string{"top", "a/sub"} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(mp, f), &st); err != nil || int(st.Uid) != u.UID {
			t.Errorf("%s: uid %d (%v), want %d", f, st.Uid, err, u.UID)
		}
	}
}

// A file system mounted inside the tree is not the tree's: the walk neither
// changes its root nor enters it, and RemoveAll refuses to.
func TestWalksStayOnTheirDevice(t *testing.T) {
	requireRoot(t)
	p := zfstest.NewPool(t)
	mp := p.Path("mnt", "app")
	mountDataset(t, p, "app", mp)
	inner := filepath.Join(mp, "data", "inner")
	mountDataset(t, p, "app/inner", inner)
	if err := os.WriteFile(filepath.Join(inner, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "data", "g"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := usertest.Snapshot(t, inner)
	root, err := OpenMount(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.ChownTree(4242, 4242, ChownOptions{}); err != nil {
		t.Fatal(err)
	}
	want.Unchanged(t, inner)
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(mp, "data", "g"), &st); err != nil || st.Uid != 4242 {
		t.Errorf("data/g: uid %d %v", st.Uid, err)
	}
	if err := root.RemoveAll("data"); err == nil || !strings.Contains(err.Error(), "another file system") {
		t.Errorf("RemoveAll across a mount: %v", err)
	}
	want.Unchanged(t, inner)
}
