// Package zfstest gives tests and benchmarks a real, throw-away ZFS pool on
// a file. Tests skip when zfs is not usable, unless NIXGEN_E2E=1, where a
// missing tool or a dead daemon is a failure: an end-to-end run must never
// pass by skipping.
package zfstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
)

// Require skips (or, with NIXGEN_E2E=1, fails) unless zfs and zpool are on
// PATH, the caller is root and the ZFS daemon or module answers.
func Require(tb testing.TB) {
	tb.Helper()
	e2e.Tool(tb, "zfs")
	zpool := e2e.Tool(tb, "zpool")
	if os.Geteuid() != 0 {
		e2e.Unavailable(tb, "ZFS tests need root")
	}
	if out, err := exec.Command(zpool, "list", "-H", "-o", "name").CombinedOutput(); err != nil {
		e2e.Unavailable(tb, "zpool list failed (is zfs-fuse / the zfs module running?): %v: %s", err, out)
	}
}

// Pool is a pool on sparse files, destroyed when the test ends.
type Pool struct {
	Name  string   // unique: "ngt" + random hex
	Dir   string   // a TrustedDir for mountpoints and files
	Vdevs []string // the files the pool is made of
}

// NewPool creates a 256 MiB pool with a unique name whose root dataset is
// not mounted (mountpoint=none), so datasets get explicit mountpoints under
// Dir. It calls Require first.
func NewPool(tb testing.TB) *Pool {
	tb.Helper()
	return newPool(tb, "vdev")
}

// NewMirrorPool is NewPool on a two-way mirror of 128 MiB files (Vdevs),
// so that a test can take one side offline (a DEGRADED pool).
func NewMirrorPool(tb testing.TB) *Pool {
	tb.Helper()
	return newPool(tb, "mirror", "vdev-a", "vdev-b")
}

func newPool(tb testing.TB, layout ...string) *Pool {
	tb.Helper()
	Require(tb)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "ngt" + hex.EncodeToString(b[:])
	dir := TrustedDir(tb) // registered before the destroy, so removed after it
	p := &Pool{Name: name, Dir: dir}
	args := []string{"create", "-m", "none", p.Name}
	files := layout
	if layout[0] == "mirror" {
		args, files = append(args, "mirror"), layout[1:]
	}
	size := int64(256<<20) / int64(len(files))
	for _, f := range files {
		vdev := filepath.Join(dir, f)
		if err := os.WriteFile(vdev, nil, 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Truncate(vdev, size); err != nil {
			tb.Fatal(err)
		}
		p.Vdevs = append(p.Vdevs, vdev)
	}
	run(tb, "zpool", append(args, p.Vdevs...)...)
	tb.Cleanup(func() { p.destroy(tb) })
	return p
}

// TrustedDir makes a fresh directory, root:root 0755, whose every ancestor
// is root's and writable by nobody else — /var/lib/nixgen-test-<random>, not
// below /tmp: the helper refuses mountpoints below a directory that another
// user can write, and the sticky, world-writable /tmp is one. It is removed
// when the test ends. The caller must be root (Require).
func TrustedDir(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(trustedBase, "nixgen-test-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// trustedBase is root's and not writable by others on any Linux system.
const trustedBase = "/var/lib"

func (p *Pool) destroy(tb testing.TB) {
	var out []byte
	var err error
	// A mount that is still busy (a process just exited) clears quickly,
	// but zfs-fuse on a loaded machine can take seconds.
	for i := 0; i < 50; i++ {
		out, err = exec.Command("zpool", "destroy", "-f", p.Name).CombinedOutput()
		if err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	tb.Errorf("zpool destroy %s: %v: %s", p.Name, err, out)
}

// Path returns a path under the pool's temporary directory.
func (p *Pool) Path(elem ...string) string {
	return filepath.Join(append([]string{p.Dir}, elem...)...)
}

// ZFS runs the real zfs with args (for test setup and inspection) and
// returns its trimmed stdout; any failure fails the test.
func (p *Pool) ZFS(tb testing.TB, args ...string) string {
	tb.Helper()
	return run(tb, "zfs", args...)
}

// ZPool runs the real zpool with args and returns its trimmed stdout; any
// failure fails the test.
func (p *Pool) ZPool(tb testing.TB, args ...string) string {
	tb.Helper()
	return run(tb, "zpool", args...)
}

// WaitScrub waits until no scrub of the pool is in progress; it fails the
// test if one still is after a minute (a guard against hangs, not a speed
// assertion).
func (p *Pool) WaitScrub(tb testing.TB) {
	tb.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !strings.Contains(run(tb, "zpool", "status", p.Name), "in progress") {
			return
		}
	}
	tb.Fatalf("the scrub of %s did not finish", p.Name)
}

// Prop returns `zfs get -H -p -o value prop name`.
func (p *Pool) Prop(tb testing.TB, name, prop string) string {
	tb.Helper()
	return run(tb, "zfs", "get", "-H", "-p", "-o", "value", prop, name)
}

// Exists reports whether the dataset exists.
func (p *Pool) Exists(name string) bool {
	return exec.Command("zfs", "get", "-H", "-o", "value", "type", name).Run() == nil
}

func run(tb testing.TB, bin string, args ...string) string {
	tb.Helper()
	var out []byte
	var err error
	var stderr strings.Builder
	// zfs-fuse under load refuses mounts and renames as busy for a moment
	// (as zfs.RetryBusy knows); a test's setup must not fail on that.
	busy := false
	for i := 0; i < 25; i++ {
		cmd := exec.Command(bin, args...)
		stderr.Reset()
		cmd.Stderr = &stderr
		if out, err = cmd.Output(); err == nil || !strings.Contains(stderr.String(), "is busy") {
			break
		}
		busy = true
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("%s %s: %v: %s", bin, strings.Join(args, " "), err, stderr.String())
	}
	// A `zfs set mountpoint=` refused as busy may have set the property
	// without mounting: mount it as the first attempt would have.
	if busy && bin == "zfs" && len(args) == 3 && args[0] == "set" && strings.HasPrefix(args[1], "mountpoint=") {
		st, _ := exec.Command("zfs", "get", "-H", "-o", "value", "mounted,canmount", args[2]).Output()
		if f := strings.Fields(string(st)); len(f) == 2 && f[0] == "no" && f[1] == "on" {
			run(tb, "zfs", "mount", args[2])
		}
	}
	return strings.TrimSpace(string(out))
}

// TryZFS runs the real zfs and reports whether it succeeded (for probing
// what this zfs supports).
func (p *Pool) TryZFS(args ...string) bool {
	return exec.Command("zfs", args...).Run() == nil
}

// Export exports the pool, so it is "not imported"; it is imported again
// (from Dir) before the cleanup destroys it.
func (p *Pool) Export(tb testing.TB) {
	tb.Helper()
	run(tb, "zpool", "export", p.Name)
	tb.Cleanup(func() {
		if out, err := exec.Command("zpool", "import", "-d", p.Dir, p.Name).CombinedOutput(); err != nil {
			tb.Errorf("zpool import -d %s %s: %v: %s", p.Dir, p.Name, err, out)
		}
	})
}
