package preseed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// BenchmarkSkipMarked is the path every boot takes once the data is there:
// lock, pool health, one listing, metrics. Reports zfs-procs/op (target ≤ 2).
//
//	go test -run '^$' -bench SkipMarked ./internal/preseed/
func BenchmarkSkipMarked(b *testing.B) {
	e := newEnv(b, "restic")
	e.m.Services[0].Notify = nil
	e.pool.ZFS(b, "set", PropComplete+"=complete", e.svc.Dataset)
	z := &zfs.Runner{}
	e.opts.ZFS = z
	e.opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(ctx, e.opts)
		if err != nil || res.Outcome != Skipped {
			b.Fatalf("outcome %v, err %v", res.Outcome, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(z.Started())/float64(b.N), "zfs-procs/op")
}

// BenchmarkResticRestore restores the same ~200 MB of incompressible data
// through the helper and with `restic restore` run directly, onto the same
// dataset, in pairs, and reports both times and the helper's overhead
// (target: within 10%).
//
//	go test -run '^$' -bench ResticRestore -benchtime 6x -timeout 30m ./internal/preseed/
func BenchmarkResticRestore(b *testing.B) {
	e2e.Tool(b, "restic")
	e := newBigEnv(b, 1<<30)
	mp := e.svc.Mountpoint
	for i := 0; i < 4; i++ {
		writeRandom(b, filepath.Join(mp, "data", "blob"+string(rune('a'+i))), 50<<20)
	}
	want := digest(b, mp)
	e.restic(b, "init")
	e.restic(b, "backup", "--host", "testhost", mp)
	emptyDir(b, mp)
	e.opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	e.m.Services[0].Notify = nil
	ctx := context.Background()

	target := filepath.Join(mp, "direct")
	helper := func() time.Duration {
		start := time.Now()
		res, err := Run(ctx, e.opts)
		d := time.Since(start)
		if err != nil || res.Outcome != Restored {
			b.Fatalf("outcome %v, err %v", res.Outcome, err)
		}
		if got := digest(b, mp); got != want {
			b.Fatalf("digest %s, want %s", got, want)
		}
		emptyDir(b, mp)
		e.pool.ZFS(b, "inherit", PropComplete, e.svc.Dataset)
		return d
	}
	direct := func() time.Duration {
		start := time.Now()
		e.restic(b, "restore", "latest", "--host", "testhost", "--path", mp, "--target", target)
		d := time.Since(start)
		if got := digest(b, filepath.Join(target, mp)); got != want {
			b.Fatalf("digest %s, want %s", got, want)
		}
		emptyDir(b, mp)
		return d
	}
	// Paired runs, alternating which goes first, so that drift in the
	// machine's load and cache warmth falls on both sides alike. Only the
	// restores are timed, not the verification and cleanup.
	var th, td time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			th += helper()
			td += direct()
		} else {
			td += direct()
			th += helper()
		}
	}
	b.StopTimer()
	b.ReportMetric(th.Seconds()/float64(b.N), "helper-s/op")
	b.ReportMetric(td.Seconds()/float64(b.N), "direct-s/op")
	b.ReportMetric(100*(th.Seconds()/td.Seconds()-1), "overhead-%")
}

// newBigEnv is newEnv on a pool of the given size (zfstest's are 256 MiB).
func newBigEnv(b testing.TB, size int64) *env {
	zfstest.Require(b)
	e := newEnv(b, "restic")
	var r [4]byte
	rand.Read(r[:])
	name := "ngtb" + hex.EncodeToString(r[:])
	dir := zfstest.TrustedDir(b) // registered before the pool's destroy, so removed after it
	vdev := filepath.Join(dir, "vdev")
	f, err := os.Create(vdev)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Truncate(vdev, size); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("zpool", "create", "-m", "none", name, vdev).CombinedOutput(); err != nil {
		b.Fatalf("zpool create: %v: %s", err, out)
	}
	b.Cleanup(func() {
		for i := 0; i < 10; i++ {
			if exec.Command("zpool", "destroy", "-f", name).Run() == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.Errorf("zpool destroy %s failed", name)
	})
	// Move the service onto the big pool.
	ds := name + "/services/app"
	mp := filepath.Join(dir, "app")
	if out, err := exec.Command("zfs", "create", "-p", "-o", "mountpoint="+mp, ds).CombinedOutput(); err != nil {
		b.Fatalf("zfs create: %v: %s", err, out)
	}
	e.m.Parent.Dataset, e.m.Parent.Pool = name+"/services", name
	e.svc.Dataset, e.svc.Mountpoint = ds, mp
	e.svc.Backup.Paths = []string{mp}
	e.pool = &zfstest.Pool{Name: name, Dir: dir}
	return e
}

func writeRandom(b testing.TB, path string, size int) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, int64(size)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
