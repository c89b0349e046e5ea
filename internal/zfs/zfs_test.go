package zfs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func TestParseGet(t *testing.T) {
	out := "tank/a\ttype\tfilesystem\t-\n" +
		"tank/a\trecordsize\t16384\tlocal\n" +
		"tank/a\tmountpoint\t/srv/a\tinherited from tank\n" +
		"tank/a\tnote:x\tone\ttwo\tlocal\n"
	tr, err := zfs.ParseGet([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	d := tr["tank/a"]
	if d == nil || d.Type() != "filesystem" {
		t.Fatalf("tank/a: %+v", d)
	}
	if p := d.Props["recordsize"]; p.Value != "16384" || !p.Local() {
		t.Errorf("recordsize = %+v", p)
	}
	if p := d.Props["mountpoint"]; p.Source != "inherited from tank" || p.Local() {
		t.Errorf("mountpoint = %+v", p)
	}
	if p := d.Props["note:x"]; p.Value != "one\ttwo" {
		t.Errorf("value with a tab = %q", p.Value)
	}
	if _, err := zfs.ParseGet([]byte("tank/a\ttype\n")); err == nil {
		t.Error("short line accepted")
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ prop, in, want string }{
		{"recordsize", "16K", "16384"},
		{"recordsize", "16k", "16384"},
		{"recordsize", "1M", "1048576"},
		{"recordsize", "128KiB", "131072"},
		{"recordsize", "16384", "16384"},
		{"quota", "none", "0"},
		{"quota", "1.5G", "1610612736"},
		{"userquota@bob", "1K", "1024"},
		{"compression", "16K", "16K"}, // not a size property
		{"recordsize", "huge", "huge"},
		{"atime", "off", "off"},
		// index values zfs reports under another name
		{"compression", "gzip-6", "gzip"},
		{"compression", "gzip-7", "gzip-7"},
		{"acltype", "posixacl", "posix"},
		{"acltype", "noacl", "off"},
		{"acltype", "disabled", "off"},
		{"xattr", "dir", "on"},
		{"aclinherit", "secure", "restricted"},
		{"volmode", "geom", "full"},
		{"xattr", "sa", "sa"},
	} {
		if got := zfs.Normalize(c.prop, c.in); got != c.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", c.prop, c.in, got, c.want)
		}
	}
}

// script writes an executable shell script (test-only stand-in for a program
// whose behaviour the runner must handle).
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunnerErrorQuotesStderr(t *testing.T) {
	r := &zfs.Runner{ZFS: script(t, "echo \"cannot open '$2': dataset does not exist\" >&2\nexit 1\n")}
	_, err := r.ZFSCmd(context.Background(), "get", "tank/x")
	var e *zfs.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *zfs.Error", err)
	}
	if e.ExitCode != 1 || !strings.Contains(err.Error(), `"cannot open 'tank/x': dataset does not exist"`) {
		t.Errorf("error = %v (exit %d)", err, e.ExitCode)
	}
	if !zfs.NotExist(err) {
		t.Error("NotExist = false")
	}
	if r.Started() != 1 {
		t.Errorf("Started = %d, want 1", r.Started())
	}
}

func TestRunnerCancelSendsTERMThenKILL(t *testing.T) {
	dir := t.TempDir()
	ready, marker := filepath.Join(dir, "ready"), filepath.Join(dir, "term")
	// Ignores SIGTERM after noting it, so only SIGKILL ends it.
	bin := script(t, "trap 'echo term > "+marker+"' TERM\ntouch "+ready+"\nwhile :; do sleep 0.05; done\n")
	r := &zfs.Runner{ZFS: bin, Grace: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel only once the trap is installed, however slow the machine.
		for {
			if _, err := os.Stat(ready); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := r.ZFSCmd(ctx, "list")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if _, statErr := os.Stat(marker); statErr != nil {
		t.Errorf("program never saw SIGTERM before being killed: %v", statErr)
	}
}

func TestRunnerTimeout(t *testing.T) {
	r := &zfs.Runner{ZFS: script(t, "exec sleep 30\n"), Timeout: 200 * time.Millisecond, Grace: 200 * time.Millisecond}
	_, err := r.ZFSCmd(context.Background(), "list")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestRunnerTrace(t *testing.T) {
	var got [][]string
	r := &zfs.Runner{ZFS: script(t, "exit 0\n"), Trace: func(a []string) { got = append(got, a) }}
	if err := r.Create(context.Background(), "tank/a", map[string]string{"mountpoint": "/srv/a b", "atime": "off"}, true); err != nil {
		t.Fatal(err)
	}
	want := []string{r.ZFS, "create", "-p", "-o", "atime=off", "-o", "mountpoint=/srv/a b", "tank/a"}
	if len(got) != 1 || strings.Join(got[0], "|") != strings.Join(want, "|") {
		t.Errorf("argv = %q, want %q", got, want)
	}
}

func TestRealZFS(t *testing.T) {
	p := zfstest.NewPool(t)
	ctx := context.Background()
	r := &zfs.Runner{}

	h, err := r.PoolHealth(ctx, p.Name)
	if err != nil || h != "ONLINE" {
		t.Fatalf("PoolHealth = %q, %v", h, err)
	}
	if _, err := r.PoolHealth(ctx, p.Name+"missing"); !zfs.NotExist(err) {
		t.Errorf("PoolHealth(missing) err = %v, want NotExist", err)
	}

	ds := p.Name + "/a/b"
	mnt := p.Path("b")
	if err := r.Create(ctx, ds, map[string]string{"mountpoint": mnt, "recordsize": "16K"}, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, ds, "atime", "off"); err != nil {
		t.Fatal(err)
	}
	if err := r.TakeSnapshot(ctx, ds+"@one", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.TakeSnapshot(ctx, ds+"@two", nil); err != nil {
		t.Fatal(err)
	}

	before := r.Started()
	tree, err := r.GetTree(ctx, p.Name+"/a", "type", "mountpoint", "mounted", "recordsize", "atime")
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Names(); strings.Join(got, ",") != p.Name+"/a,"+ds {
		t.Errorf("GetTree names = %v (snapshots must be left out)", got)
	}
	b := tree[ds]
	if b.Props["recordsize"].Value != "16384" || !b.Props["recordsize"].Local() ||
		b.Props["mountpoint"].Value != mnt || b.Props["mounted"].Value != "yes" || b.Props["atime"].Value != "off" {
		t.Errorf("props = %+v", b.Props)
	}
	if n := r.Started() - before; n > 2 { // 2 only when -t is refused (zfs-fuse)
		t.Errorf("GetTree started %d processes", n)
	}
	if _, err := r.GetTree(ctx, p.Name+"/nope", "type"); !zfs.NotExist(err) {
		t.Errorf("GetTree(missing) err = %v, want NotExist", err)
	}

	snaps, err := r.Snapshots(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[0].Name != ds+"@one" || snaps[1].Name != ds+"@two" {
		t.Fatalf("Snapshots = %+v", snaps)
	}

	if err := r.Hold(ctx, "nixgen", ds+"@two"); err != nil {
		t.Fatal(err)
	}
	if got := p.Prop(t, ds+"@two", "userrefs"); got != "1" {
		t.Errorf("userrefs after hold = %s", got)
	}
	if err := r.Release(ctx, "nixgen", ds+"@two"); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(mnt, "later"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Rollback(ctx, ds+"@two", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "later")); !os.IsNotExist(err) {
		t.Errorf("file written after @two survived the rollback: %v", err)
	}

	if err := r.Unmount(ctx, ds); err != nil {
		t.Fatal(err)
	}
	// zfs-fuse reports a mounted dataset as busy on rename.
	if err := r.Rename(ctx, ds, p.Name+"/a/c"); err != nil {
		t.Fatal(err)
	}
	if err := r.Mount(ctx, p.Name+"/a/c"); err != nil {
		t.Fatal(err)
	}
	if !p.Exists(p.Name+"/a/c") || p.Exists(ds) {
		t.Error("rename did not take")
	}
	got, err := r.Get(ctx, []string{p.Name + "/a/c"}, "recordsize")
	if err != nil || got[p.Name+"/a/c"].Props["recordsize"].Value != "16384" {
		t.Errorf("Get = %+v, %v", got, err)
	}
}
