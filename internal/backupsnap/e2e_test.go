package backupsnap

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// bindEnv switches the test binary into its child mode: bind-mount
// "<source>\t<target>" read-only, then exec the remaining arguments. The
// parent starts it under `unshare --mount --propagation private`, which is
// what systemd's BindReadOnlyPaths= does for the generated restic unit.
const bindEnv = "NIXGEN_TEST_BIND_READONLY"

func TestMain(m *testing.M) {
	if spec := os.Getenv(bindEnv); spec != "" {
		os.Exit(bindAndExec(spec, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func bindAndExec(spec string, argv []string) int {
	src, dst, ok := strings.Cut(spec, "\t")
	if !ok || len(argv) == 0 {
		os.Stderr.WriteString("bad " + bindEnv + " or no program\n")
		return 125
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		os.Stderr.WriteString("bind mount: " + err.Error() + "\n")
		return 125
	}
	if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		os.Stderr.WriteString("read-only remount: " + err.Error() + "\n")
		return 125
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, bindEnv+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec(argv[0], argv, env)
	os.Stderr.WriteString("exec: " + err.Error() + "\n")
	return 126
}

type env struct {
	pool   *zfstest.Pool
	z      *zfs.Runner
	m      *manifest.Manifest
	mp     string
	target Target
	repo   manifest.Repository
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := zfstest.NewPool(t)
	mp := pool.Path("srv", "app")
	ds := pool.Name + "/services/app"
	pool.ZFS(t, "create", "-p", "-o", "mountpoint="+mp, ds)
	m := &manifest.Manifest{
		Version: manifest.Version,
		Host:    "testhost",
		Parent:  manifest.Parent{Dataset: pool.Name + "/services", Pool: pool.Name},
		Services: []manifest.Service{{
			Name: "app", Unit: "app.service", Dataset: ds, Mountpoint: mp,
			User: "root", Group: "root", Mode: "0750",
			Backup: &manifest.Backup{Repository: "main", Paths: []string{mp + "/data", mp + "/config.yml"}},
		}},
	}
	target, err := For(m, "app", pool.Path("run", "nixgen", "backup"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{pool: pool, z: &zfs.Runner{}, m: m, mp: mp, target: target}
}

// initRepo makes a local restic repository.
func (e *env) initRepo(t *testing.T) *restic.Runner {
	t.Helper()
	e2e.Tool(t, "restic")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("test-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.repo = manifest.Repository{URL: filepath.Join(dir, "repo"), PasswordFile: pw}
	r, err := restic.New(e.repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), nil, "init"); err != nil {
		t.Fatal(err)
	}
	return r
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tree reads every regular file below root into path → content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			got[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) assertReleased(t *testing.T) {
	t.Helper()
	for _, n := range []string{e.target.Clone, e.target.Snapshot} {
		if e.pool.Exists(n) {
			t.Errorf("%s still exists after release", n)
		}
	}
	if _, err := os.Stat(e.target.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after release (err %v)", e.target.Dir, err)
	}
	if src, _ := zfs.MountSource(e.target.Dir); src != "" {
		t.Errorf("%s still mounted at %s", src, e.target.Dir)
	}
}

func TestBackupFromSnapshotRestoresSnapshotContent(t *testing.T) {
	e2e.Tool(t, "unshare")
	e := newEnv(t)
	r := e.initRepo(t)
	ctx := context.Background()

	writeFile(t, e.mp+"/data/a.txt", []byte("version 1\n"))
	writeFile(t, e.mp+"/data/sub/b.bin", randomBytes(t, 200<<10))
	writeFile(t, e.mp+"/config.yml", []byte("key: 1\n"))
	writeFile(t, e.mp+"/cache/skip.tmp", []byte("not a backup path\n"))
	want := tree(t, e.mp)
	delete(want, "cache/skip.tmp")

	if err := Create(ctx, e.z, e.target); err != nil {
		t.Fatal(err)
	}
	// zfs-fuse reports readonly as "off (temporary)" on mounted clones
	// but refuses writes; what counts is that nothing can write there.
	if err := os.WriteFile(filepath.Join(e.target.Dir, "probe"), nil, 0o644); err == nil {
		t.Error("the clone's mount is writable")
	}

	// The service keeps writing while the backup runs.
	writeFile(t, e.mp+"/data/a.txt", []byte("version 2\n"))
	if err := os.Remove(e.mp + "/data/sub/b.bin"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.mp+"/data/new.txt", []byte("written after the snapshot\n"))

	// restic in a private mount namespace where the clone is bind-mounted
	// read-only over the real mountpoint, as the generated unit runs it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	resticBin, _ := exec.LookPath("restic")
	ns := *r
	ns.Command = []string{"unshare", "--mount", "--propagation", "private", self, resticBin}
	ns.Env = append(append([]string{}, r.Env...), bindEnv+"="+e.target.Dir+"\t"+e.mp)
	args := append([]string{"backup", "--host", "testhost"}, e.m.Services[0].Backup.Paths...)
	if err := ns.Run(ctx, nil, args...); err != nil {
		t.Fatal(err)
	}
	// The namespace did not leak: the host still sees the live files.
	if b, _ := os.ReadFile(e.mp + "/data/a.txt"); string(b) != "version 2\n" {
		t.Fatalf("live file is %q after the backup", b)
	}

	if err := Release(ctx, e.z, e.target); err != nil {
		t.Fatal(err)
	}
	e.assertReleased(t)
	if !e.pool.Exists(e.target.Dataset) {
		t.Fatal("release destroyed the service dataset")
	}

	// The recorded paths are the real ones, so a --path filter matches.
	out, err := r.Output(ctx, "snapshots", "--json", "--host", "testhost", "--path", e.mp+"/data", "--path", e.mp+"/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	var snaps []struct{ Paths []string }
	if err := json.Unmarshal(out, &snaps); err != nil {
		t.Fatal(err)
	}
	wantPaths := append([]string{}, e.m.Services[0].Backup.Paths...)
	sort.Strings(wantPaths)
	if len(snaps) != 1 || !reflect.DeepEqual(snaps[0].Paths, wantPaths) {
		t.Fatalf("snapshots matching the paths: %+v, want one with %v", snaps, wantPaths)
	}

	restored := t.TempDir()
	if err := r.Run(ctx, nil, "restore", "latest", "--host", "testhost", "--path", e.mp+"/data", "--path", e.mp+"/config.yml", "--target", restored); err != nil {
		t.Fatal(err)
	}
	got := tree(t, filepath.Join(restored, e.mp))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored at the original paths:\n got %v\nwant the snapshot's %v", keys(got), keys(want))
	}
	if got["data/a.txt"] != "version 1\n" {
		t.Errorf("a.txt restored as %q, want the snapshot's version 1", got["data/a.txt"])
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n, v := range m {
		k = append(k, fmt.Sprintf("%s(%d bytes)", n, len(v)))
	}
	sort.Strings(k)
	return k
}

func TestCreateRecoversFromLeftovers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	writeFile(t, e.mp+"/f", []byte("one"))

	// A killed run: snapshot and mounted clone are left behind.
	if err := Create(ctx, e.z, e.target); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.mp+"/f", []byte("two"))
	if err := Create(ctx, e.z, e.target); err != nil {
		t.Fatalf("create over a leftover clone: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(e.target.Dir, "f")); err != nil || string(b) != "two" {
		t.Fatalf("clone shows %q (%v), want the new snapshot's \"two\"", b, err)
	}

	// A crash between snapshot and clone: only the snapshot is left.
	if err := Release(ctx, e.z, e.target); err != nil {
		t.Fatal(err)
	}
	e.pool.ZFS(t, "snapshot", e.target.Snapshot)
	writeFile(t, e.mp+"/f", []byte("three"))
	if err := Create(ctx, e.z, e.target); err != nil {
		t.Fatalf("create over a leftover snapshot: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.target.Dir, "f")); string(b) != "three" {
		t.Fatalf("clone shows %q, want \"three\"", b)
	}
	if err := Release(ctx, e.z, e.target); err != nil {
		t.Fatal(err)
	}
	e.assertReleased(t)
	// Release is idempotent.
	if err := Release(ctx, e.z, e.target); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if b, _ := os.ReadFile(e.mp + "/f"); string(b) != "three" {
		t.Fatalf("live data changed: %q", b)
	}
}

func TestReleaseRefusesForeignDataset(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Someone else's dataset that happens to carry the clone's name.
	e.pool.ZFS(t, "create", "-o", "mountpoint=none", e.target.Clone)
	err := Release(ctx, e.z, e.target)
	if err == nil || !strings.Contains(err.Error(), "not nixgen's backup clone") {
		t.Fatalf("release: err = %v", err)
	}
	if err := Create(ctx, e.z, e.target); err == nil {
		t.Fatal("create went ahead over a foreign dataset")
	}
	if !e.pool.Exists(e.target.Clone) {
		t.Fatal("the foreign dataset was destroyed")
	}
	if e.pool.Exists(e.target.Snapshot) {
		t.Error("create took a snapshot although it refused")
	}
}

func TestForRefusesCollidingNames(t *testing.T) {
	m := &manifest.Manifest{Services: []manifest.Service{
		{Name: "a", Dataset: "tank/s/a"},
		{Name: "b", Dataset: "tank/s/a.nixgen-backup"},
	}}
	if _, err := For(m, "a", "/run/nixgen/backup"); err == nil || !strings.Contains(err.Error(), "service b") {
		t.Fatalf("err = %v", err)
	}
	m.Services = m.Services[:1]
	m.Replicas = []manifest.Replica{{Dataset: "tank/s/a.nixgen-backup", Source: "h:x"}}
	if _, err := For(m, "a", "/run/nixgen/backup"); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("err = %v", err)
	}
	if _, err := For(m, "nope", "/run"); err == nil {
		t.Fatal("unknown service accepted")
	}
	m.Replicas = nil
	got, err := For(m, "a", "/run/nixgen/backup")
	if err != nil {
		t.Fatal(err)
	}
	want := Target{Dataset: "tank/s/a", Snapshot: "tank/s/a@nixgen-backup", Clone: "tank/s/a.nixgen-backup", Dir: "/run/nixgen/backup/a"}
	if got != want {
		t.Fatalf("got %+v", got)
	}
}
