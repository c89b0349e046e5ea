package safefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		e2e.Unavailable(t, "needs root (chown)")
	}
}

// layout builds directories below base: name -> mode, owner uid.
func layout(t *testing.T, base string, dirs []struct {
	rel  string
	mode os.FileMode
	uid  int
}) {
	t.Helper()
	for _, d := range dirs {
		p := filepath.Join(base, d.rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, d.uid, d.uid); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(p, uint32(d.mode)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckAncestors(t *testing.T) {
	requireRoot(t)
	base := zfstest.TrustedDir(t)
	layout(t, base, []struct {
		rel  string
		mode os.FileMode
		uid  int
	}{
		{"ok/a/b", 0o755, 0}, {"ww", 0o777, 0}, {"sticky", 0o1777, 0}, {"sticky/rootowned", 0o755, 0},
		{"sticky/userowned", 0o755, 4242}, {"grp", 0o775, 0}, {"owned", 0o755, 4242},
	})
	if err := os.Symlink(filepath.Join(base, "ok"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "ok/a"), filepath.Join(base, "ok/linkleaf")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "ok/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    string
		s    Strictness
		want string // "" accepted, else the error contains it
	}{
		{"ok/a/b", Strict, ""},
		{"ok/a/b/new", Strict, ""},
		{"ok/a/b/missing/deeper", Strict, ""},
		{"ww/x", Strict, "ww is writable by others (mode 0777)"},
		{"ww/missing/x", Strict, "ww is writable by others"},
		{"ww/missing/x", StickyOK, "ww is writable by others"},
		{"sticky/rootowned/x", Strict, "sticky is writable by others (mode 1777)"},
		{"sticky/rootowned/x", StickyOK, ""},
		{"sticky/new", StickyOK, ""},
		{"sticky/userowned/x", StickyOK, "userowned is owned by uid 4242, not root"},
		{"grp/x", Strict, "grp is writable by its group root (mode 0775)"},
		{"owned/x", Strict, "owned is owned by uid 4242, not root"},
		{"link/a", Strict, "link is a symlink"},
		{"ok/linkleaf", Strict, "linkleaf is a symlink"},
		{"ok/file/x", Strict, "file is not a directory"},
	} {
		err := CheckAncestors(filepath.Join(base, c.p), c.s)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s (strictness %d): err = %v, want %q", c.p, c.s, err, c.want)
		}
		var ue *UntrustedError
		if c.want != "" && !errors.As(err, &ue) {
			t.Errorf("%s: %T is not an *UntrustedError", c.p, err)
		}
	}
	// The sticky, world-writable /tmp is exactly what Strict refuses.
	if err := CheckAncestors("/tmp/x/y", Strict); err == nil || !strings.Contains(err.Error(), "/tmp is writable by others") {
		t.Errorf("/tmp/x/y: %v", err)
	}
	if err := CheckAncestors("relative/path", Strict); err == nil {
		t.Error("a relative path was accepted")
	}

	d, err := OpenTrusted(filepath.Join(base, "sticky"), StickyOK)
	if err != nil {
		t.Errorf("OpenTrusted(sticky, StickyOK): %v", err)
	} else {
		d.Close()
	}
	for _, p := range []string{"ww", "owned", "link", "sticky/userowned"} {
		if d, err := OpenTrusted(filepath.Join(base, p), StickyOK); err == nil {
			d.Close()
			t.Errorf("OpenTrusted(%s) accepted", p)
		}
	}
}

func TestRemoveAllNeverFollowsASymlink(t *testing.T) {
	dir := t.TempDir()
	vdir := filepath.Join(dir, "victim")
	want := usertest.Victim(t, vdir)
	for _, l := range []struct{ link, target string }{
		{"tree/a/todir", vdir}, {"tree/a/tofile", filepath.Join(vdir, "passwd")}, {"tree/top", vdir},
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(l.link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.target, filepath.Join(dir, l.link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tree/a/f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := openTemp(t, dir)
	defer d.Close()
	if err := d.RemoveAll("tree"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "tree")); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
	want.Unchanged(t, vdir)
	// A symlink given as the name itself is removed, not followed.
	if err := os.Symlink(vdir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveAll("link"); err != nil {
		t.Fatal(err)
	}
	want.Unchanged(t, vdir)
	if err := d.RemoveAll("missing"); err != nil {
		t.Errorf("a missing name: %v", err)
	}
}

// openTemp opens a test's own directory (below /tmp, so not through
// OpenTrusted).
func openTemp(t testing.TB, dir string) *Dir {
	t.Helper()
	fd, err := openDirAt(unix.AT_FDCWD, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDir(dir, fd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMadeDirectoryIdentity(t *testing.T) {
	dir := t.TempDir()
	d := openTemp(t, dir)
	defer d.Close()
	made, name, err := d.MkdirTemp("stage-")
	if err != nil {
		t.Fatal(err)
	}
	defer made.Close()
	if !strings.HasPrefix(name, "stage-") || made.Stat().Mode&0o777 != 0o700 {
		t.Fatalf("name %q mode %o", name, made.Stat().Mode)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Swapped for another directory: RemoveDirIf leaves both alone.
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, name, "theirs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDirIf(name, made); !errors.Is(err, ErrReplaced) {
		t.Fatalf("RemoveDirIf on a swapped name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, name, "theirs")); err != nil {
		t.Errorf("the other directory was touched: %v", err)
	}
	// Back in place: removed with its content.
	os.RemoveAll(filepath.Join(dir, name))
	if err := os.Rename(filepath.Join(dir, "moved"), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDirIf(name, made); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, name)); !os.IsNotExist(err) {
		t.Errorf("not removed: %v", err)
	}

	// WriteFileAtomic never writes through a symlink; ReadFile never reads one.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "j")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ReadFile("j"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("ReadFile through a symlink: %v", err)
	}
	if err := d.WriteFileAtomic("j", []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("target written through the symlink: %q", b)
	}
	if b, st, err := d.ReadFile("j"); err != nil || string(b) != "new" || st.Mode&0o777 != 0o600 {
		t.Errorf("ReadFile: %q %o %v", b, st.Mode, err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ReadFile("fifo"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile of a FIFO: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "../../x", "/abs", "nul\x00", strings.Repeat("x", 256)} {
		if CheckName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"app", ".hidden", "a..b", "x y", strings.Repeat("x", 255)} {
		if err := CheckName(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// A tree whose owners are already right costs no chown at all (a restic
// restore already restored the owners); only what differs is changed.
func TestChownTreeChangesOnlyWhatDiffers(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	const uid, gid = 4242, 4343
	n := 0
	for i := range 50 {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Lchown(sub, uid, gid)
		for j := range 100 {
			p := filepath.Join(sub, fmt.Sprintf("f%03d", j))
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	d := openTemp(t, dir)
	defer d.Close()
	changed, err := d.ChownTree(uid, gid, ChownOptions{})
	if err != nil || changed != 0 {
		t.Fatalf("%d files already owned: changed %d, err %v", n, changed, err)
	}
	// Three entries differ, one of them a symlink (changed itself).
	os.Lchown(filepath.Join(dir, "d07/f003"), 0, 0)
	os.Lchown(filepath.Join(dir, "d09"), 0, gid)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "d01/link")); err != nil {
		t.Fatal(err)
	}
	skipped := filepath.Join(dir, "d02/f000")
	os.Lchown(skipped, 0, 0)
	changed, err = d.ChownTree(uid, gid, ChownOptions{Skip: func(rel string) bool { return rel == "d02" }})
	if err != nil || changed != 3 {
		t.Fatalf("changed %d, err %v; want 3", changed, err)
	}
	var st syscall.Stat_t
	for _, p := range []string{"d07/f003", "d09", "d01/link"} {
		if err := syscall.Lstat(filepath.Join(dir, p), &st); err != nil || st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: %d:%d %v", p, st.Uid, st.Gid, err)
		}
	}
	if syscall.Stat("/etc/passwd", &st); st.Uid != 0 {
		t.Errorf("/etc/passwd followed: uid %d", st.Uid)
	}
	if syscall.Lstat(skipped, &st); st.Uid != 0 {
		t.Errorf("skipped subtree changed")
	}
}

func BenchmarkChownTreeAlreadyOwned(b *testing.B) {
	requireRoot(b)
	dir := b.TempDir()
	for i := range 5000 {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	d := openTemp(b, dir)
	defer d.Close()
	b.ResetTimer()
	for range b.N {
		if _, err := d.ChownTree(0, 0, ChownOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
