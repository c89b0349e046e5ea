package preseed

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/notify"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// env is one service on a throw-away pool, with everything preseed needs.
type env struct {
	pool    *zfstest.Pool
	m       *manifest.Manifest
	svc     *manifest.Service
	opts    Options
	repo    string // restic repository directory
	pwFile  string
	hits    *hookLog
	logBuf  *syncBuffer
	metrics string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type hookLog struct {
	mu     sync.Mutex
	events []notify.Event
	ntfy   []http.Header
}

func (h *hookLog) webhook() []notify.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Event(nil), h.events...)
}

func newEnv(t testing.TB, methods ...string) *env {
	t.Helper()
	return newEnvOn(t, zfstest.NewPool(t), methods...)
}

// newEnvOn is newEnv on a given pool.
func newEnvOn(t testing.TB, pool *zfstest.Pool, methods ...string) *env {
	t.Helper()
	e := &env{pool: pool, hits: &hookLog{}, logBuf: &syncBuffer{}, metrics: t.TempDir()}
	parent := pool.Name + "/services"
	pool.ZFS(t, "create", parent)
	ds := parent + "/app"
	mp := pool.Path("mnt", "app")
	pool.ZFS(t, "create", "-o", "mountpoint="+mp, ds)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.hits.mu.Lock()
		defer e.hits.mu.Unlock()
		if r.URL.Path == "/ntfy" {
			h := r.Header.Clone()
			h.Set("X-Body", string(b))
			e.hits.ntfy = append(e.hits.ntfy, h)
			return
		}
		var ev notify.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		e.hits.events = append(e.hits.events, ev)
	}))
	t.Cleanup(srv.Close)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("tok123\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	e.repo = filepath.Join(t.TempDir(), "repo")
	e.pwFile = filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(e.pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "restic.env")
	// The repository and password command in the env file must lose to the manifest's.
	if err := os.WriteFile(envFile, []byte("# from the secrets store\nRESTIC_REPOSITORY='/nonexistent'\nRESTIC_PASSWORD_COMMAND=\"false\"\nRESTIC_COMPRESSION=off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.m = &manifest.Manifest{
		Version: manifest.Version,
		Host:    "testhost",
		Parent:  manifest.Parent{Dataset: parent, Pool: pool.Name},
		Services: []manifest.Service{{
			Name: "app", Unit: "app.service", Dataset: ds, Mountpoint: mp,
			User: "nobody", Group: "nogroup", Mode: "0750",
			Properties:  map[string]string{"atime": "off", "compression": "gzip"},
			Preseed:     &manifest.Preseed{Methods: methods, TimeoutSeconds: 120, OnFailure: "block"},
			Backup:      &manifest.Backup{Repository: "local", Paths: []string{mp}},
			Replication: &manifest.Replication{Target: pool.Name + "/backup/app", Dataset: pool.Name + "/backup/app"},
			Notify:      []string{"phone", "hook"},
		}},
		Repositories: map[string]manifest.Repository{"local": {URL: e.repo, PasswordFile: e.pwFile, EnvironmentFile: envFile}},
		Notifiers: map[string]manifest.Notifier{
			"phone": {Type: "ntfy", URL: srv.URL + "/ntfy", TokenFile: tok},
			"hook":  {Type: "webhook", URL: srv.URL + "/hook"},
		},
	}
	if err := e.m.Validate(); err != nil {
		t.Fatal(err)
	}
	e.svc = &e.m.Services[0]
	e.opts = Options{
		Manifest: e.m, Service: "app", Hostname: "testhost",
		LockDir: t.TempDir(), LockWait: time.Minute, TextfileDir: e.metrics,
		ZFS:    &zfs.Runner{},
		Log:    slog.New(slog.NewJSONHandler(e.logBuf, nil)),
		Notify: &notify.Sender{Backoff: time.Millisecond},
		Grace:  2 * time.Second,
	}
	return e
}

func (e *env) run(t testing.TB) (*Result, error) {
	t.Helper()
	res, err := Run(context.Background(), e.opts)
	if res == nil {
		t.Fatalf("Run returned no result: %v", err)
	}
	return res, err
}

func (e *env) prop(t testing.TB, p string) string {
	return e.pool.Prop(t, e.svc.Dataset, p)
}

// writeData puts a small tree with random content into dir and returns its digest.
func writeData(t testing.TB, dir string, size int) string {
	t.Helper()
	for _, f := range []string{"db/app.sqlite", "config.json", "media/a/b.bin"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		rand.Read(b)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return digest(t, dir)
}

// digest hashes relative paths and file contents, ignoring what preseed ignores.
func digest(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && (rel == ".zfs" || rel == "lost+found") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\x00%x\x00", n, sha256.Sum256(b))
	}
	return fmt.Sprintf("%x/%d", h.Sum(nil), len(names))
}

func emptyDir(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) restic(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("restic", args...)
	cmd.Env = append(os.Environ(), "RESTIC_REPOSITORY="+e.repo, "RESTIC_PASSWORD_FILE="+e.pwFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("restic %v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

// backupAndEmpty writes data into the dataset, backs it up with restic as
// the host would, and empties the dataset again (a fresh host).
func (e *env) backupAndEmpty(t testing.TB, size int) string {
	t.Helper()
	e2e.Tool(t, "restic")
	want := writeData(t, e.svc.Mountpoint, size)
	e.restic(t, "init")
	e.restic(t, "backup", "--host", "testhost", e.svc.Mountpoint)
	emptyDir(t, e.svc.Mountpoint)
	return want
}

// checkRestored verifies the data, the mark, ownership and properties.
func (e *env) checkRestored(t testing.TB, res *Result, method, want string) {
	t.Helper()
	if res.Outcome != Restored || res.Method != method {
		t.Fatalf("outcome %s by %q, want restored by %s; attempts %+v; log:\n%s", res.Outcome, res.Method, method, res.Attempts, e.logBuf)
	}
	mp := e.svc.Mountpoint
	if got := digest(t, mp); got != want {
		t.Errorf("restored data digest %s, want %s", got, want)
	}
	if v := e.prop(t, PropComplete); v != "complete" {
		t.Errorf("%s = %q after restore", PropComplete, v)
	}
	if v := e.prop(t, "atime"); v != "off" {
		t.Errorf("atime = %q, want the declared off", v)
	}
	if v := e.prop(t, "mountpoint"); v != mp {
		t.Errorf("mountpoint = %q, want %q", v, mp)
	}
	err := filepath.WalkDir(mp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), StagingPrefix) {
			t.Errorf("staging entry left behind: %s", p)
		}
		st, _ := os.Lstat(p)
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 65534 || s.Gid != 65534 {
			t.Errorf("%s owned by %d:%d, want nobody:nogroup", p, s.Uid, s.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(mp); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("mountpoint mode %v (%v), want 0750", st.Mode(), err)
	}
	if last := e.prop(t, PropLast); !strings.HasPrefix(last, "restored "+method+" ") {
		t.Errorf("%s = %q", PropLast, last)
	}
}

func TestSkipWhenMarked(t *testing.T) {
	e := newEnv(t, "restic")
	e.pool.ZFS(t, "set", PropComplete+"=complete", e.svc.Dataset)
	// Restic would fail (no repository): a skip must not even try it.
	res, err := e.run(t)
	if err != nil || res.Outcome != Skipped || len(res.Attempts) != 0 {
		t.Fatalf("outcome %s, attempts %v, err %v", res.Outcome, res.Attempts, err)
	}
	if last := e.prop(t, PropLast); last != "-" {
		t.Errorf("a skip rewrote %s: %q", PropLast, last)
	}
	ev := e.hits.webhook()
	if len(ev) != 1 || ev[0].Event != "skipped" || ev[0].Service != "app" || ev[0].Host != "testhost" {
		t.Errorf("webhook events %+v", ev)
	}
}

func TestAdoptUnmarkedData(t *testing.T) {
	e := newEnv(t, "restic")
	mp := e.svc.Mountpoint
	if err := os.WriteFile(filepath.Join(mp, "existing.db"), []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t)
	if err != nil || res.Outcome != Adopted {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if e.prop(t, PropComplete) != "complete" {
		t.Error("adopted data not marked")
	}
	st, err := os.Stat(filepath.Join(mp, "existing.db"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("adopted data touched: %v %v", st, err)
	}
	if s := st.Sys().(*syscall.Stat_t); s.Uid != 0 {
		t.Errorf("adoption changed ownership to %d", s.Uid)
	}
}

func TestEmptinessIgnoresOnlyLostFoundZfsAndStaging(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	for _, d := range []string{"lost+found", StagingPrefix + "dead/var/lib"} {
		if err := os.MkdirAll(filepath.Join(mp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Empty apart from ignored entries: the local method is tried (no
	// snapshot: unavailable) and block fails.
	res, err := e.run(t)
	if err == nil || res.Outcome != Failed || len(res.Attempts) != 1 || res.Attempts[0].Status != "unavailable" {
		t.Fatalf("outcome %s, attempts %+v, err %v", res.Outcome, res.Attempts, err)
	}
	if _, err := os.Stat(filepath.Join(mp, StagingPrefix+"dead")); !os.IsNotExist(err) {
		t.Errorf("leftover staging not removed: %v", err)
	}
	// A hidden file is data.
	if err := os.WriteFile(filepath.Join(mp, ".hidden"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := e.run(t); err != nil || res.Outcome != Adopted {
		t.Fatalf("with .hidden: outcome %s, err %v", res.Outcome, err)
	}
}

func TestRefuseWhenNotMounted(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	writeData(t, mp, 100)
	e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@autosnap_1")
	emptyDir(t, mp)
	e.pool.ZFS(t, "unmount", e.svc.Dataset)
	res, err := e.run(t)
	if err == nil || res.Outcome != Failed || !strings.Contains(err.Error(), "not mounted") {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if len(res.Attempts) != 0 {
		t.Errorf("methods tried on an unmounted dataset: %+v", res.Attempts)
	}
	ents, _ := os.ReadDir(mp)
	if len(ents) != 0 {
		t.Errorf("something was written into the bare directory: %v", ents)
	}
	if v := e.prop(t, PropComplete); v == "complete" {
		t.Error("marked complete")
	}
	// The failure was reported.
	if ev := e.hits.webhook(); len(ev) != 1 || ev[0].Event != "failed" || !ev[0].Failed {
		t.Errorf("webhook events %+v", ev)
	}

	e.pool.ZFS(t, "destroy", "-r", e.svc.Dataset)
	if _, err := e.run(t); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing dataset: err %v", err)
	}
}

// A run killed between marking the dataset to be set aside and renaming
// it leaves it unmounted, canmount=noauto and marked: the next run refuses
// and says how to put it back, touching nothing.
func TestRefuseHalfSetAside(t *testing.T) {
	e := newEnv(t, "local")
	ds := e.svc.Dataset
	e.pool.ZFS(t, "unmount", ds)
	e.pool.ZFS(t, "set", "canmount=noauto", ds)
	e.pool.ZFS(t, "set", PropAside+"="+ds, ds)
	res, err := e.run(t)
	if err == nil || res.Outcome != Failed || !strings.Contains(err.Error(), "killed while setting it aside") ||
		!strings.Contains(err.Error(), "zfs inherit "+PropAside+" "+ds) {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if len(res.Attempts) != 0 || e.prop(t, PropAside) != ds || len(keptAsides(t, e)) != 0 || !e.pool.Exists(ds) {
		t.Errorf("the run acted: attempts %+v, %s %q", res.Attempts, PropAside, e.prop(t, PropAside))
	}
}

func TestRestoreSyncoid(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	// The replica: what syncoid had sent to the backup host, here a second
	// dataset of the same pool.
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	want := writeData(t, e.pool.Path("replica"), 4096)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2026-01-01_00:00:00_daily")
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "syncoid", want)
	if e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
		t.Error("the set-aside empty dataset was not destroyed")
	}
	if v := e.prop(t, "mounted"); v != "yes" {
		t.Errorf("mounted = %s", v)
	}
}

func TestSyncoidFailurePutsEmptyDatasetBack(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", rep)
	e.pool.ZFS(t, "snapshot", rep+"@s1")
	// A syncoid that fails after the rename: the original must come back.
	e.opts.Syncoid = "false"
	e.pool.ZFS(t, "set", "nixgen:marker=original", e.svc.Dataset)
	res, err := e.run(t)
	if err == nil || res.Attempts[0].Status != "failed" {
		t.Fatalf("outcome %s, attempts %+v, err %v", res.Outcome, res.Attempts, err)
	}
	if v := e.prop(t, "nixgen:marker"); v != "original" {
		t.Errorf("dataset under the service's name is not the original (marker %q)", v)
	}
	if v := e.prop(t, "mounted"); v != "yes" {
		t.Errorf("original not remounted: mounted = %s", v)
	}
	if e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
		t.Error("aside dataset left behind")
	}
	if v := e.prop(t, PropAside); v != "-" {
		t.Errorf("%s = %q left on the dataset put back", PropAside, v)
	}
}

// What a killed run leaves when a dataset that is not provably its partial
// receive took the service's name (here one with data and no snapshot):
// both are kept — the empty one under a timestamped aside name — and the
// data is adopted, not destroyed.
func TestRecoverInterruptedSyncoid(t *testing.T) {
	e := newEnv(t, "local")
	ds := e.svc.Dataset
	e.pool.ZFS(t, "set", "nixgen:marker=original", ds)
	e.pool.ZFS(t, "set", PropAside+"="+ds, ds)
	e.pool.ZFS(t, "unmount", ds)
	e.pool.ZFS(t, "rename", ds, ds+".nixgen-aside")
	e.pool.ZFS(t, "create", "-o", "mountpoint="+e.svc.Mountpoint, ds)
	want := writeData(t, e.svc.Mountpoint, 10)
	res, err := e.run(t)
	if err != nil || res.Outcome != Adopted {
		t.Fatalf("outcome %s, err %v\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if got := digest(t, e.svc.Mountpoint); got != want {
		t.Errorf("data changed: %s, want %s", got, want)
	}
	kept := keptAsides(t, e)
	if len(kept) != 1 || e.pool.Prop(t, kept[0], "nixgen:marker") != "original" {
		t.Errorf("kept asides %v: the empty original was not kept aside", kept)
	}
}

// keptAsides lists the <ds>.nixgen-aside-<time> datasets, checking that each
// is unmounted, canmount=noauto and says why and when.
func keptAsides(t testing.TB, e *env) []string {
	t.Helper()
	var out []string
	for _, name := range strings.Fields(e.pool.ZFS(t, "list", "-H", "-o", "name", "-r", e.pool.Name)) {
		if !strings.HasPrefix(name, e.svc.Dataset+AsideInfix) || strings.Contains(name, "@") {
			continue
		}
		out = append(out, name)
		if v := e.pool.Prop(t, name, "mounted"); v != "no" {
			t.Errorf("%s mounted = %s", name, v)
		}
		if v := e.pool.Prop(t, name, "canmount"); v != "noauto" {
			t.Errorf("%s canmount = %s", name, v)
		}
		for _, p := range []string{PropAsideReason, PropAsideTime} {
			if v := e.pool.Prop(t, name, p); v == "-" || v == "" {
				t.Errorf("%s has no %s", name, p)
			}
		}
	}
	if e.pool.Exists(e.svc.Dataset + asideSuffix) {
		t.Errorf("%s%s left behind", e.svc.Dataset, asideSuffix)
	}
	return out
}

// A helper killed after a complete receive, before the empty dataset it set
// aside was destroyed: the next run finishes that restore — it must not
// discard the received data and transfer everything again.
func TestSyncoidKilledAfterReceiveIsFinished(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	e.m.Services[0].Notify = nil
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	want := writeData(t, e.pool.Path("replica"), 4096)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2026-01-01_00:00:00_daily")
	spec := filepath.Join(t.TempDir(), "child.json")
	b, _ := json.Marshal(childSpec{Manifest: e.m, LockDir: e.opts.LockDir, KillAfterReceive: true})
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+spec)
	var stderr syncBuffer
	child.Stderr = &stderr
	err := child.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed after the receive: %v\n%s", err, stderr.String())
	}
	if !e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
		t.Fatal("the killed run left no set-aside dataset: the test did not reach its point")
	}
	// A second transfer would fail: only finishing the first one restores.
	e.opts.Syncoid = "false"
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "syncoid", want)
	if e.pool.Exists(e.svc.Dataset + ".nixgen-aside") {
		t.Error("the set-aside empty dataset was not destroyed")
	}
	if v := e.prop(t, PropReceived); v != "-" {
		t.Errorf("%s = %q left on the restored dataset", PropReceived, v)
	}
}

// A received mark that does not name the aside's guid proves nothing: the
// dataset is not finished as a restore; both are kept.
func TestRecoverIgnoresForeignReceivedMark(t *testing.T) {
	e := newEnv(t, "local")
	ds := e.svc.Dataset
	e.pool.ZFS(t, "set", "nixgen:marker=original", ds)
	e.pool.ZFS(t, "set", PropAside+"="+ds, ds)
	e.pool.ZFS(t, "unmount", ds)
	e.pool.ZFS(t, "rename", ds, ds+".nixgen-aside")
	e.pool.ZFS(t, "create", "-o", "mountpoint="+e.svc.Mountpoint, "-o", PropReceived+"=12345", ds)
	want := writeData(t, e.svc.Mountpoint, 10)
	res, err := e.run(t)
	if err != nil || res.Outcome != Adopted {
		t.Fatalf("outcome %s, err %v: a receive with a foreign mark was finished\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if got := digest(t, e.svc.Mountpoint); got != want {
		t.Errorf("data changed")
	}
	if kept := keptAsides(t, e); len(kept) != 1 {
		t.Errorf("kept asides %v", kept)
	}
}

func TestRestoreLocal(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	writeData(t, mp, 4096)
	snap := e.svc.Dataset + "@autosnap_2026-01-01_00:00:00_hourly"
	e.pool.ZFS(t, "snapshot", snap)
	want := writeData(t, mp, 10) // newer changes, in a newer non-sanoid snapshot: the newest data
	e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@manual")
	emptyDir(t, mp)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "local", want)
	if v := e.pool.Prop(t, e.svc.Dataset+"@manual", "userrefs"); v != "0" {
		t.Errorf("hold not released: userrefs = %s", v)
	}
	for _, s := range []string{snap, e.svc.Dataset + "@manual"} {
		if !e.pool.Exists(s) {
			t.Errorf("snapshot %s was destroyed", s)
		}
	}
}

func TestRestoreRestic(t *testing.T) {
	e := newEnv(t, "restic")
	want := e.backupAndEmpty(t, 64<<10)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)

	// Notifications: both notifiers, with the token on ntfy.
	ev := e.hits.webhook()
	if len(ev) != 1 || ev[0].Event != "restored" || ev[0].Method != "restic" || ev[0].Failed {
		t.Errorf("webhook events %+v", ev)
	}
	e.hits.mu.Lock()
	ntfy := e.hits.ntfy
	e.hits.mu.Unlock()
	if len(ntfy) != 1 || ntfy[0].Get("Authorization") != "Bearer tok123" ||
		!strings.Contains(ntfy[0].Get("Title"), "app restored") || !strings.Contains(ntfy[0].Get("X-Body"), "restic") {
		t.Errorf("ntfy requests %v", ntfy)
	}

	// Metrics: a textfile that parses, with the outcome.
	f, err := os.Open(metrics.PreseedFile(e.metrics, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	st := fams["nixgen_preseed_status"]
	if st == nil || len(st.Metric) != 1 || st.Metric[0].GetGauge().GetValue() != metrics.StatusRestored {
		t.Fatalf("nixgen_preseed_status = %v", st)
	}
	labels := map[string]string{}
	for _, l := range st.Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["service"] != "app" || labels["method"] != "restic" {
		t.Errorf("labels %v", labels)
	}
	for _, n := range []string{"nixgen_preseed_last_duration_seconds", "nixgen_preseed_last_completion_timestamp_seconds"} {
		if fams[n] == nil || fams[n].Metric[0].GetGauge().GetValue() <= 0 {
			t.Errorf("%s = %v", n, fams[n])
		}
	}

	// A second run skips, and status shows it all.
	res, err = e.run(t)
	if err != nil || res.Outcome != Skipped {
		t.Fatalf("second run: %s %v", res.Outcome, err)
	}
	sts, err := ReadStatus(context.Background(), &zfs.Runner{}, e.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || !sts[0].Exists || !sts[0].Mounted || !sts[0].Complete || sts[0].Last != "restored" || sts[0].LastMethod != "restic" {
		t.Errorf("status %+v", sts)
	}
	var tbl bytes.Buffer
	WriteStatusTable(&tbl, sts)
	if !strings.Contains(tbl.String(), e.svc.Dataset) || !strings.Contains(tbl.String(), "complete") {
		t.Errorf("table:\n%s", tbl.String())
	}
}

func TestFallbackOrder(t *testing.T) {
	e := newEnv(t, "syncoid", "local", "restic")
	want := e.backupAndEmpty(t, 4096)
	// No replica and no snapshot: both unavailable, restic restores.
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
	got := fmt.Sprint(res.Attempts[0].Status, res.Attempts[1].Status, res.Attempts[2].Status)
	if got != "unavailableunavailablerestored" {
		t.Errorf("attempts %+v", res.Attempts)
	}
}

func TestResticNoSnapshotForHostIsUnavailable(t *testing.T) {
	e := newEnv(t, "restic")
	e.backupAndEmpty(t, 100)
	e.opts.Hostname = "otherhost"
	res, err := e.run(t)
	if err == nil || len(res.Attempts) != 1 || res.Attempts[0].Status != "unavailable" {
		t.Fatalf("attempts %+v, err %v", res.Attempts, err)
	}
}

func TestAllMethodsFail(t *testing.T) {
	for _, onFailure := range []string{"block", "start-empty"} {
		t.Run(onFailure, func(t *testing.T) {
			e2e.Tool(t, "restic")
			e := newEnv(t, "local", "restic") // no snapshot, no restic repository
			e.svc.Preseed.OnFailure = onFailure
			res, err := e.run(t)
			if len(res.Attempts) != 2 || res.Attempts[0].Status != "unavailable" || res.Attempts[1].Status != "failed" {
				t.Errorf("attempts %+v", res.Attempts)
			}
			mark := e.prop(t, PropComplete)
			last := e.prop(t, PropLast)
			if onFailure == "block" {
				if err == nil || res.Outcome != Failed || mark == "complete" || !strings.HasPrefix(last, "failed ") {
					t.Fatalf("block: outcome %s, err %v, mark %q, last %q", res.Outcome, err, mark, last)
				}
				return
			}
			// restic failed (rather than having nothing to restore from):
			// start-empty must not apply.
			if err == nil || res.Outcome != Failed || mark == "complete" || !strings.Contains(err.Error(), "not starting empty") {
				t.Fatalf("start-empty after a failure: outcome %s, err %v, mark %q, last %q", res.Outcome, err, mark, last)
			}
		})
	}
}

func TestConcurrentPreseedsRestoreOnce(t *testing.T) {
	e := newEnv(t, "restic")
	want := e.backupAndEmpty(t, 64<<10)
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Run(context.Background(), e.opts)
		}()
	}
	wg.Wait()
	outcomes := []string{}
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("run %d: %v\nlog:\n%s", i, errs[i], e.logBuf)
		}
		outcomes = append(outcomes, string(results[i].Outcome))
	}
	sort.Strings(outcomes)
	if fmt.Sprint(outcomes) != "[restored skipped]" {
		t.Fatalf("outcomes %v, want one restore and one skip", outcomes)
	}
	if got := digest(t, e.svc.Mountpoint); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
}

// childEnv makes the test binary run one preseed (TestMain), so that a
// test can SIGKILL a real helper process in the middle of a restore.
const childEnv = "NIXGEN_PRESEED_TEST_CHILD"

type childSpec struct {
	Manifest         *manifest.Manifest
	LockDir          string
	KillAfterReceive bool // SIGKILL itself right after a syncoid receive got its mark
}

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		os.Exit(runChild(p))
	}
	os.Exit(m.Run())
}

func runChild(specPath string) int {
	b, err := os.ReadFile(specPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var cs childSpec
	if err := json.Unmarshal(b, &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if cs.KillAfterReceive {
		afterReceived = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	}
	_, err = Run(context.Background(), Options{Manifest: cs.Manifest, Service: "app", Hostname: "testhost", LockDir: cs.LockDir})
	if err != nil {
		return 1
	}
	return 0
}

func TestResticInterruptedBySIGKILLThenRerun(t *testing.T) {
	e := newEnv(t, "restic")
	e.m.Services[0].Notify = nil
	want := e.backupAndEmpty(t, 12<<20)
	spec := filepath.Join(t.TempDir(), "child.json")
	b, _ := json.Marshal(childSpec{Manifest: e.m, LockDir: e.opts.LockDir})
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+spec)
	var stderr syncBuffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once restic has written some of the data into staging.
	mp := e.svc.Mountpoint
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		matches, _ := filepath.Glob(filepath.Join(mp, StagingPrefix+"*", mp, "*"))
		if len(matches) > 0 {
			child.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	child.Wait()
	if !killed {
		t.Fatalf("restore never reached staging; child stderr:\n%s", stderr.String())
	}
	if v := e.prop(t, PropComplete); v == "complete" {
		t.Fatal("an interrupted restore left the mark")
	}
	// The lock names the dead child; the re-run takes it over, discards
	// the partial staging and restores everything.
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
}

func TestResumeJournalledMove(t *testing.T) {
	// A run killed between the journal and its removal: half the entries
	// moved. The next run must finish the move, not adopt half a tree.
	// (A journal of two lines, as written before the staging directory's
	// inode was recorded, is still finished.)
	dst := newEnv(t, "local").svc.Mountpoint
	staging := filepath.Join(dst, StagingPrefix+"x")
	src := filepath.Join(staging, "var/lib/app")
	for _, f := range []string{"a", "b/c", "d"} {
		p := filepath.Join(src, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dst, journalName), []byte(StagingPrefix+"x\nvar/lib/app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "a"), filepath.Join(dst, "a")); err != nil {
		t.Fatal(err)
	}
	done, err := resumeMove(dst)
	if err != nil || !done {
		t.Fatalf("resumeMove: %v %v", done, err)
	}
	for _, f := range []string{"a", "b/c", "d"} {
		if b, err := os.ReadFile(filepath.Join(dst, f)); err != nil || string(b) != f {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}
	ents, _ := os.ReadDir(dst)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), StagingPrefix) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if done, err := resumeMove(dst); done || err != nil {
		t.Errorf("second resume: %v %v", done, err)
	}
}

func TestMethodTimeoutTermThenKill(t *testing.T) {
	e := newEnv(t, "syncoid", "local")
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", rep)
	e.pool.ZFS(t, "snapshot", rep+"@s1")
	// A syncoid that ignores SIGTERM: only the SIGKILL after the grace
	// period ends it.
	script := filepath.Join(t.TempDir(), "syncoid")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntrap '' TERM\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.opts.Syncoid = script
	e.opts.Grace = 500 * time.Millisecond
	e.svc.Preseed.TimeoutSeconds = 5
	e.pool.ZFS(t, "set", "nixgen:marker=original", e.svc.Dataset)
	start := time.Now()
	res, err := e.run(t)
	if err == nil || len(res.Attempts) != 2 || res.Attempts[0].Status != "failed" ||
		!strings.Contains(res.Attempts[0].Error, "deadline exceeded") || res.Attempts[1].Status != "unavailable" {
		t.Fatalf("attempts %+v, err %v", res.Attempts, err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v: the timed-out syncoid was not killed", d)
	}
	if v := e.prop(t, "nixgen:marker"); v != "original" {
		t.Errorf("marker %q: the empty dataset was not put back", v)
	}
}

func TestNotifierFailureDoesNotChangeOutcome(t *testing.T) {
	e := newEnv(t, "restic")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	e.m.Notifiers["hook"] = manifest.Notifier{Type: "webhook", URL: srv.URL}
	e.m.Notifiers["phone"] = manifest.Notifier{Type: "ntfy", URL: "http://127.0.0.1:1/unreachable"}
	e.pool.ZFS(t, "set", PropComplete+"=complete", e.svc.Dataset)
	res, err := e.run(t)
	if err != nil || res.Outcome != Skipped {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if !strings.Contains(e.logBuf.String(), `"msg":"notifying"`) || !strings.Contains(e.logBuf.String(), "500") {
		t.Errorf("notifier failure not logged:\n%s", e.logBuf)
	}
}

func TestRunFinishesJournalledMove(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	// A restic restore killed while moving: staging complete, journal
	// written, one entry already moved.
	staging := filepath.Join(mp, StagingPrefix+"k1")
	src := filepath.Join(staging, mp)
	want := writeData(t, src, 1000)
	if err := os.WriteFile(filepath.Join(mp, journalName), []byte(StagingPrefix+"k1\n"+strings.TrimPrefix(mp, "/")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "config.json"), filepath.Join(mp, "config.json")); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
	if len(res.Attempts) != 0 {
		t.Errorf("methods tried although a finished restore was pending: %+v", res.Attempts)
	}
}

func TestRemoteReplicaAvailabilityOverSSH(t *testing.T) {
	e := newEnv(t, "syncoid")
	rep := e.svc.Replication
	rep.User, rep.Host, rep.SSHKey = "zfs-recv", "backuphost", "/etc/nixgen/id_ed25519"
	rep.Target = "zfs-recv@backuphost:" + rep.Dataset
	// A stand-in for ssh that records its arguments and runs the remote
	// command here, on the test pool.
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "ssh")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$SSH_ARGS_FILE\"\nwhile [ \"$1\" != -- ]; do shift; done\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_ARGS_FILE", argsFile)
	e.opts.SSH = fake
	res, err := e.run(t)
	if err == nil || len(res.Attempts) != 1 || res.Attempts[0].Status != "unavailable" {
		t.Fatalf("attempts %+v, err %v", res.Attempts, err)
	}
	b, _ := os.ReadFile(argsFile)
	want := "-o\nBatchMode=yes\n-o\nConnectTimeout=10\n-o\nServerAliveInterval=15\n-o\nServerAliveCountMax=4\n-o\nStrictHostKeyChecking=yes\n-i\n/etc/nixgen/id_ed25519\n--\nzfs-recv@backuphost\nzfs\nlist\n-H\n-t\nsnapshot\n-o\nname,guid\n-d\n1\n" + rep.Dataset + "\n"
	if string(b) != want {
		t.Errorf("ssh argv:\n%s\nwant:\n%s", b, want)
	}
	// A replica without snapshots is unavailable too; with one, syncoid is
	// reached (and fails here: the host does not exist).
	e.pool.ZFS(t, "create", "-p", rep.Dataset)
	if res, _ := e.run(t); res.Attempts[0].Status != "unavailable" {
		t.Errorf("no snapshots: %+v", res.Attempts)
	}
	e.pool.ZFS(t, "snapshot", rep.Dataset+"@s1")
	e.opts.Syncoid = "false"
	if res, _ := e.run(t); res.Attempts[0].Status != "failed" {
		t.Errorf("with a snapshot: %+v", res.Attempts)
	}
}

// A dataset that merely carries the set-aside name is not preseed's: its
// presence must neither get the service's data destroyed nor itself.
func TestForeignAsideIsLeftAlone(t *testing.T) {
	for _, marked := range []bool{false, true} {
		t.Run(fmt.Sprintf("marked=%v", marked), func(t *testing.T) {
			e := newEnv(t, "local")
			ds, mp := e.svc.Dataset, e.svc.Mountpoint
			if err := os.WriteFile(filepath.Join(mp, "live.db"), []byte("live"), 0o600); err != nil {
				t.Fatal(err)
			}
			if marked {
				e.pool.ZFS(t, "set", PropComplete+"=complete", ds)
			}
			foreign := ds + ".nixgen-aside"
			fmp := e.pool.Path("mnt", "foreign")
			e.pool.ZFS(t, "create", "-o", "mountpoint="+fmp, foreign)
			if err := os.WriteFile(filepath.Join(fmp, "theirs.db"), []byte("theirs"), 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := e.run(t)
			want := Adopted
			if marked {
				want = Skipped
			}
			if err != nil || res.Outcome != want {
				t.Errorf("outcome %s, err %v, want %s\nlog:\n%s", res.Outcome, err, want, e.logBuf)
			}
			if b, err := os.ReadFile(filepath.Join(mp, "live.db")); err != nil || string(b) != "live" {
				t.Errorf("the service's data is gone: %q %v", b, err)
			}
			if !e.pool.Exists(foreign) {
				t.Fatalf("%s was destroyed", foreign)
			}
			if b, err := os.ReadFile(filepath.Join(fmp, "theirs.db")); err != nil || string(b) != "theirs" {
				t.Errorf("the foreign dataset's data is gone: %q %v", b, err)
			}
		})
	}
}

// A dataset below the service's (a child mounted elsewhere, a volume) goes
// along when the service dataset is renamed aside; destroying the aside
// after the receive must never take it with it.
func TestSyncoidNeverDestroysChildDatasets(t *testing.T) {
	e2e.Tool(t, "syncoid")
	e := newEnv(t, "syncoid")
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", "-o", "mountpoint="+e.pool.Path("replica"), rep)
	writeData(t, e.pool.Path("replica"), 10)
	e.pool.ZFS(t, "snapshot", rep+"@autosnap_2026-01-01_00:00:00_daily")
	child := e.svc.Dataset + "/cache"
	cmp := e.pool.Path("mnt", "cache")
	e.pool.ZFS(t, "create", "-o", "mountpoint="+cmp, child)
	if err := os.WriteFile(filepath.Join(cmp, "keep"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t)
	if err == nil || len(res.Attempts) != 1 || res.Attempts[0].Status != "failed" ||
		!strings.Contains(res.Attempts[0].Error, child) {
		t.Errorf("outcome %s, attempts %+v, err %v: want syncoid failed naming %s", res.Outcome, res.Attempts, err, child)
	}
	if !e.pool.Exists(child) {
		t.Fatalf("%s was destroyed\nlog:\n%s", child, e.logBuf)
	}
	if b, err := os.ReadFile(filepath.Join(cmp, "keep")); err != nil || string(b) != "keep" {
		t.Errorf("child data: %q %v", b, err)
	}
}

// A run killed during the rollback leaves its hold on the snapshot; the
// next run must still restore from it, and release the hold.
func TestRestoreLocalAfterKilledRunLeftItsHold(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	want := writeData(t, mp, 4096)
	snap := e.svc.Dataset + "@autosnap_2026-01-01_00:00:00_hourly"
	e.pool.ZFS(t, "snapshot", snap)
	e.pool.ZFS(t, "hold", holdTag, snap)
	emptyDir(t, mp)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "local", want)
	if v := e.pool.Prop(t, snap, "userrefs"); v != "0" {
		t.Errorf("hold not released: userrefs = %s", v)
	}
}

// A killed run's hold on a snapshot that is no longer the one chosen (a
// newer one appeared since) must be released too; another tag's hold stays.
func TestLocalReleasesStaleHoldOnOtherSnapshot(t *testing.T) {
	e := newEnv(t, "local")
	mp := e.svc.Mountpoint
	writeData(t, mp, 100)
	old := e.svc.Dataset + "@autosnap_2026-01-01_00:00:00_hourly"
	e.pool.ZFS(t, "snapshot", old)
	e.pool.ZFS(t, "hold", holdTag, old)
	e.pool.ZFS(t, "hold", "keep", old)
	want := writeData(t, mp, 4096)
	e.pool.ZFS(t, "snapshot", e.svc.Dataset+"@autosnap_2026-01-02_00:00:00_hourly")
	emptyDir(t, mp)
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "local", want)
	if v := e.pool.Prop(t, old, "userrefs"); v != "1" {
		t.Errorf("userrefs of %s = %s, want 1 (only the keep hold)", old, v)
	}
	e.pool.ZFS(t, "release", "keep", old) // fails the test if the keep hold went
}

// systemd stops a preseed that overran its start timeout with SIGTERM,
// which cancels the context: the failure must still reach the notifiers
// and the dataset's last-outcome property.
func TestCancelledRunStillReportsItsFailure(t *testing.T) {
	e := newEnv(t, "syncoid")
	rep := e.svc.Replication.Dataset
	e.pool.ZFS(t, "create", "-p", rep)
	e.pool.ZFS(t, "snapshot", rep+"@s1")
	script := filepath.Join(t.TempDir(), "syncoid")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.opts.Syncoid = script
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	res, err := Run(ctx, e.opts)
	if err == nil || res.Outcome != Failed {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	ev := e.hits.webhook()
	if len(ev) != 1 || ev[0].Event != "failed" {
		t.Errorf("webhook events %+v\nlog:\n%s", ev, e.logBuf)
	}
	if last := e.prop(t, PropLast); !strings.HasPrefix(last, "failed ") {
		t.Errorf("%s = %q", PropLast, last)
	}
}

// start-empty marks a dataset that the failed methods left empty, never
// one that a method failed to restore into halfway: here restic's move
// into place stops at an entry it cannot replace, after moving others.
func TestStartEmptyNeverMarksAHalfFinishedRestore(t *testing.T) {
	e := newEnv(t, "restic")
	e.svc.Preseed.OnFailure = "start-empty"
	mp := e.svc.Mountpoint
	if err := os.MkdirAll(filepath.Join(mp, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "lost+found", "from-backup"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.backupAndEmpty(t, 16)
	// lost+found does not count as data, but a non-empty one cannot be
	// replaced by the restored one.
	if err := os.MkdirAll(filepath.Join(mp, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "lost+found", "local"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t)
	if len(res.Attempts) != 1 || res.Attempts[0].Status != "failed" {
		t.Fatalf("attempts %+v (err %v)", res.Attempts, err)
	}
	if ok, _ := isEmpty(mp); ok {
		t.Fatal("the failed restore moved nothing; the test needs a half-finished one")
	}
	if err == nil || res.Outcome != Failed {
		t.Errorf("outcome %s, err %v: want failed", res.Outcome, err)
	}
	if mark := e.prop(t, PropComplete); mark == "complete" {
		t.Error("a half-finished restore was marked complete")
	}
}

// TestRestoreSetsOnlyPropertiesThatDiffer: after a restore the declared
// properties are applied with one read and a `zfs set` only for values
// that are not already set locally (recordsize compared as zfs prints it).
func TestRestoreSetsOnlyPropertiesThatDiffer(t *testing.T) {
	e := newEnv(t, "restic")
	e.svc.Properties["recordsize"] = "16K"
	e.pool.ZFS(t, "set", "atime=off", e.svc.Dataset)
	e.pool.ZFS(t, "set", "recordsize=16384", e.svc.Dataset)
	want := e.backupAndEmpty(t, 4096)
	var mu sync.Mutex
	var sets []string
	e.opts.ZFS = &zfs.Runner{Trace: func(argv []string) {
		if len(argv) > 2 && argv[1] == "set" && !strings.HasPrefix(argv[2], "nixgen:") {
			mu.Lock()
			sets = append(sets, argv[2])
			mu.Unlock()
		}
	}}
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
	if !slices.Equal(sets, []string{"compression=gzip"}) {
		t.Errorf("zfs set calls %q; want only compression=gzip (atime and recordsize already match)", sets)
	}
	if got := e.prop(t, "compression"); got != "gzip" {
		t.Errorf("compression = %q", got)
	}
}

// TestSkipReadsOnlyItsOwnNames: a marked dataset is skipped with two
// processes, `zpool list` and one `zfs get` of exactly the dataset, never a
// listing of the parent, whose other children (the
// other services) would make every boot's skips grow with their number.
func TestSkipReadsOnlyItsOwnNames(t *testing.T) {
	e := newEnv(t, "restic")
	e.m.Services[0].Notify = nil
	e.pool.ZFS(t, "create", "-o", "canmount=off", path.Dir(e.svc.Dataset)+"/other")
	e.pool.ZFS(t, "set", PropComplete+"=complete", e.svc.Dataset)
	var mu sync.Mutex
	var calls [][]string
	z := &zfs.Runner{Trace: func(argv []string) {
		mu.Lock()
		calls = append(calls, argv)
		mu.Unlock()
	}}
	e.opts.ZFS = z
	res, err := e.run(t)
	if err != nil || res.Outcome != Skipped {
		t.Fatalf("outcome %s, err %v\nlog:\n%s", res.Outcome, err, e.logBuf)
	}
	if len(calls) != 2 {
		t.Fatalf("%d processes, want 2: %q", len(calls), calls)
	}
	// One `zfs get` of exactly the dataset, one `zpool list` of its pool.
	for _, c := range calls {
		switch {
		case c[0] == "zfs" && c[1] == "get":
			if slices.Contains(c, "-r") || slices.Contains(c, "-d") || c[len(c)-1] != e.svc.Dataset {
				t.Errorf("state read %q; want a zfs get of the dataset only", c)
			}
		case c[0] == "zpool" && c[1] == "list":
		default:
			t.Errorf("unexpected process %q on the skip path", c)
		}
	}
}

// With several repositories (backup { repositories = [...] }), the restic
// method tries them in order: the first is not mounted (its directory does
// not hold a repository) and the second, empty, has no snapshot for the
// host; the third restores.
func TestResticTriesRepositoriesInOrder(t *testing.T) {
	e := newEnv(t, "restic")
	want := e.backupAndEmpty(t, 8192) // into "local"
	empty := filepath.Join(t.TempDir(), "empty-repo")
	cmd := exec.Command("restic", "init")
	cmd.Env = append(os.Environ(), "RESTIC_REPOSITORY="+empty, "RESTIC_PASSWORD_FILE="+e.pwFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restic init: %v: %s", err, out)
	}
	e.m.Repositories["nas"] = manifest.Repository{URL: filepath.Join(t.TempDir(), "unmounted"), PasswordFile: e.pwFile}
	e.m.Repositories["empty"] = manifest.Repository{URL: empty, PasswordFile: e.pwFile}
	e.svc.Backup.Repository = "nas"
	e.svc.Backup.Repositories = []string{"nas", "empty", "local"}
	if err := e.m.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, e.logBuf)
	}
	e.checkRestored(t, res, "restic", want)
	log := e.logBuf.String()
	for _, repo := range []string{`"repository":"nas"`, `"repository":"empty"`} {
		if !strings.Contains(log, repo) {
			t.Errorf("the log does not show that %s was tried first:\n%s", repo, log)
		}
	}
}
