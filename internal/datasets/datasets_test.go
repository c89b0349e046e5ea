package datasets

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// otherOwner returns an existing non-root user and group, so that chown is
// observable.
func otherOwner(t testing.TB) (string, string) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	for _, g := range []string{"nogroup", "nobody"} {
		if _, err := user.LookupGroup(g); err == nil {
			return u.Username, g
		}
	}
	t.Skip("no group nogroup or nobody")
	return "", ""
}

func testManifest(p *zfstest.Pool, parent string, svcs ...manifest.Service) *manifest.Manifest {
	m := &manifest.Manifest{Version: manifest.Version, Host: "test", Parent: manifest.Parent{Dataset: parent, Pool: p.Name}}
	for i := range svcs {
		s := &svcs[i]
		if s.Dataset == "" {
			s.Dataset = parent + "/" + s.Name
		}
		if s.Mountpoint == "" {
			s.Mountpoint = p.Path("srv", s.Name)
		}
		if s.Unit == "" {
			s.Unit = s.Name + ".service"
		}
		if s.User == "" {
			s.User, s.Group = "root", "root"
		}
		if s.Mode == "" {
			s.Mode = "0750"
		}
	}
	m.Services = svcs
	return m
}

// tracer records every argv a Runner starts.
type tracer struct {
	mu   sync.Mutex
	argv [][]string
}

func (tr *tracer) runner() *zfs.Runner {
	return &zfs.Runner{Trace: func(a []string) {
		tr.mu.Lock()
		tr.argv = append(tr.argv, a)
		tr.mu.Unlock()
	}}
}

// changing returns the traced calls that are not reads.
func (tr *tracer) changing() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, a := range tr.argv {
		if len(a) > 1 && a[1] != "get" && a[1] != "list" {
			out = append(out, strings.Join(a, " "))
		}
	}
	return out
}

func mustApply(t *testing.T, r *zfs.Runner, m *manifest.Manifest) *Result {
	t.Helper()
	res, err := Apply(context.Background(), r, m, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func statOf(t *testing.T, path string) (uid, gid, mode uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid, st.Mode & 07777
}

func TestCreateFromNothingThenNoChange(t *testing.T) {
	p := zfstest.NewPool(t)
	usr, grp := otherOwner(t)
	m := testManifest(p, p.Name+"/services",
		manifest.Service{Name: "app", User: usr, Group: grp, Mode: "2750",
			Properties: map[string]string{"recordsize": "16K", "compression": "gzip", "com.sun:auto-snapshot": "true"}},
		manifest.Service{Name: "db", Properties: map[string]string{"atime": "off"}},
	)
	mustApply(t, &zfs.Runner{}, m)

	if got := p.Prop(t, m.Parent.Dataset, "mountpoint"); got != "none" {
		t.Errorf("parent mountpoint = %s, want none", got)
	}
	app := m.Services[0]
	for prop, want := range map[string]string{"recordsize": "16384", "compression": "gzip", "com.sun:auto-snapshot": "true", "mountpoint": app.Mountpoint, "mounted": "yes"} {
		if got := p.Prop(t, app.Dataset, prop); got != want {
			t.Errorf("%s %s = %q, want %q", app.Dataset, prop, got, want)
		}
	}
	if got := p.ZFS(t, "get", "-H", "-o", "source", "mountpoint", m.Services[1].Dataset); got != "local" {
		t.Errorf("db mountpoint source = %s, want local (explicit mountpoint)", got)
	}
	u, _ := user.Lookup(usr)
	g, _ := user.LookupGroup(grp)
	uid, gid, mode := statOf(t, app.Mountpoint)
	if u.Uid != itoa(uid) || g.Gid != itoa(gid) || mode != 02750 {
		t.Errorf("%s: uid %d gid %d mode %o, want %s:%s 2750", app.Mountpoint, uid, gid, mode, u.Uid, g.Gid)
	}
	if src, _ := zfs.MountSource(app.Mountpoint); src != app.Dataset {
		t.Errorf("mounted at %s: %q", app.Mountpoint, src)
	}

	var tr tracer
	r := tr.runner()
	res := mustApply(t, r, m)
	if len(res.Done) != 0 || len(res.Plan.Actions) != 0 {
		t.Errorf("second apply did %v (plan %v)", res.Done, res.Plan.Actions)
	}
	if c := tr.changing(); len(c) != 0 {
		t.Errorf("second apply ran changing calls: %q", c)
	}
	if n := r.Started(); n > 3 {
		t.Errorf("second apply started %d processes, want <= 3: %q", n, tr.argv)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestDriftIsRepairedAndOtherPropertiesLeftAlone(t *testing.T) {
	p := zfstest.NewPool(t)
	m := testManifest(p, p.Name+"/services",
		manifest.Service{Name: "app", Properties: map[string]string{"recordsize": "16K", "compression": "gzip", "com.sun:auto-snapshot": "true"}})
	mustApply(t, &zfs.Runner{}, m)
	ds := m.Services[0].Dataset
	p.ZFS(t, "set", "recordsize=64K", ds)
	p.ZFS(t, "inherit", "compression", ds) // same effective value could differ: now default "off"
	p.ZFS(t, "inherit", "com.sun:auto-snapshot", ds)
	p.ZFS(t, "set", "atime=off", ds) // not in the manifest
	if err := os.Chmod(m.Services[0].Mountpoint, 0o777); err != nil {
		t.Fatal(err)
	}

	plan, err := Make(context.Background(), &zfs.Runner{}, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range plan.Actions {
		got = append(got, string(a.Kind)+" "+a.Property+"="+a.To)
	}
	want := []string{"set com.sun:auto-snapshot=true", "set compression=gzip", "set recordsize=16K", "chmod =0750"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("plan = %q, want %q", got, want)
	}

	var tr tracer
	mustApply(t, tr.runner(), m)
	if c := tr.changing(); len(c) != 3 {
		t.Errorf("repair ran %q, want 3 zfs set calls", c)
	}
	if got := p.Prop(t, ds, "recordsize"); got != "16384" {
		t.Errorf("recordsize = %s after repair", got)
	}
	if got := p.Prop(t, ds, "atime"); got != "off" {
		t.Errorf("atime (not declared) = %s, want it left at off", got)
	}
	if _, _, mode := statOf(t, m.Services[0].Mountpoint); mode != 0o750 {
		t.Errorf("mode = %o after repair", mode)
	}
}

func TestCreateOnlyDifferenceIsReportedNotTouched(t *testing.T) {
	p := zfstest.NewPool(t)
	parent := p.Name + "/services"
	mnt := p.Path("srv", "app")
	p.ZFS(t, "create", "-p", "-o", "mountpoint=none", parent)
	p.ZFS(t, "create", "-o", "mountpoint="+mnt, parent+"/app")
	m := testManifest(p, parent, manifest.Service{Name: "app",
		Properties: map[string]string{"casesensitivity": "insensitive", "utf8only": "on", "compression": "gzip"},
		CreateOnly: []string{"casesensitivity"}, // utf8only is caught by rules.CreateOnly
	})
	var tr tracer
	res := mustApply(t, tr.runner(), m)
	var refused []string
	for _, r := range res.Plan.Refused {
		refused = append(refused, r.Property+":"+r.Have+"->"+r.Want)
	}
	if strings.Join(refused, ",") != "casesensitivity:sensitive->insensitive,utf8only:off->on" {
		t.Errorf("refused = %q", refused)
	}
	if c := tr.changing(); len(c) != 1 || !strings.Contains(c[0], "compression=gzip") {
		t.Errorf("changing calls = %q, want only the compression set", c)
	}
	if got := p.Prop(t, parent+"/app", "casesensitivity"); got != "sensitive" {
		t.Errorf("casesensitivity = %s", got)
	}
}

func TestExistingDatasetIsAdoptedWithoutDataChange(t *testing.T) {
	p := zfstest.NewPool(t)
	usr, grp := otherOwner(t)
	parent := p.Name + "/services"
	mnt := p.Path("srv", "app")
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+mnt, parent+"/app")
	file := filepath.Join(mnt, "data", "db.sqlite")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.ZFS(t, "snapshot", parent+"/app@before")

	m := testManifest(p, parent, manifest.Service{Name: "app", User: usr, Group: grp,
		Properties: map[string]string{"recordsize": "16K"}})
	res := mustApply(t, &zfs.Runner{}, m)
	for _, a := range res.Done {
		if a.Kind == Create || a.Kind == CreateParent {
			t.Errorf("adopting created %s", a.Dataset)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "precious" {
		t.Errorf("data after adoption: %q, %v", b, err)
	}
	if uid, _, mode := statOf(t, filepath.Dir(file)); uid != 0 || mode != 0o700 {
		t.Errorf("apply changed a directory below the root: uid %d mode %o", uid, mode)
	}
	if got := p.Prop(t, parent+"/app@before", "name"); got != parent+"/app@before" {
		t.Errorf("snapshot gone: %s", got)
	}
	// The parent existed (created by -p with its default mountpoint): left alone.
	if got := p.ZFS(t, "get", "-H", "-o", "source", "mountpoint", parent); got == "local" {
		t.Errorf("existing parent got a local mountpoint")
	}
}

func TestMissingParentChainIsCreated(t *testing.T) {
	p := zfstest.NewPool(t)
	parent := p.Name + "/a/b/services"
	m := testManifest(p, parent, manifest.Service{Name: "app"},
		manifest.Service{Name: "nested", Dataset: parent + "/group/nested"})
	res := mustApply(t, &zfs.Runner{}, m)
	if res.Done[0].Kind != CreateParent {
		t.Errorf("first action = %+v", res.Done[0])
	}
	for _, a := range res.Done {
		if a.Kind == Create && a.Parents != (a.Service == "nested") {
			t.Errorf("%s created with -p = %v", a.Dataset, a.Parents)
		}
	}
	if got := p.Prop(t, parent+"/group/nested", "mountpoint"); got != m.Services[1].Mountpoint {
		t.Errorf("nested mountpoint = %s", got)
	}
	if got := p.Prop(t, parent, "mountpoint"); got != "none" {
		t.Errorf("parent mountpoint = %s", got)
	}
	if got := p.Prop(t, parent+"/app", "mounted"); got != "yes" {
		t.Errorf("service dataset mounted = %s", got)
	}
}

func TestPreconditionsStopEverything(t *testing.T) {
	p := zfstest.NewPool(t)
	parent := p.Name + "/services"
	cases := []struct {
		name string
		m    *manifest.Manifest
		want string
	}{
		{"unknown user", testManifest(p, parent,
			manifest.Service{Name: "ok"},
			manifest.Service{Name: "app", User: "no-such-user-ngt", Group: "root"}), `user "no-such-user-ngt" does not exist`},
		{"unknown group", testManifest(p, parent,
			manifest.Service{Name: "app", User: "root", Group: "no-such-group-ngt"}), `group "no-such-group-ngt" does not exist`},
		{"pool not imported", func() *manifest.Manifest {
			m := testManifest(p, p.Name+"x/services", manifest.Service{Name: "app"})
			m.Parent.Pool = p.Name + "x"
			return m
		}(), "pool " + p.Name + "x is not imported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr tracer
			_, err := Apply(context.Background(), tr.runner(), c.m, nil)
			var pe *PreconditionError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a PreconditionError with %q", err, c.want)
			}
			if ch := tr.changing(); len(ch) != 0 {
				t.Errorf("changing calls despite the error: %q", ch)
			}
			if p.Exists(parent) {
				t.Errorf("%s was created", parent)
			}
		})
	}
}

func TestExportedPoolIsNotImported(t *testing.T) {
	p := zfstest.NewPool(t)
	m := testManifest(p, p.Name+"/services", manifest.Service{Name: "app"})
	p.Export(t)
	_, err := Apply(context.Background(), &zfs.Runner{}, m, nil)
	if err == nil || !strings.Contains(err.Error(), "is not imported") {
		t.Errorf("err = %v", err)
	}
}

func TestVolumeWhereFilesystemBelongs(t *testing.T) {
	// zfs-fuse cannot create volumes ("Function not implemented"), so the
	// decision is tested on a read state; TestRealVolume covers real ZFS.
	m := &manifest.Manifest{Version: manifest.Version, Parent: manifest.Parent{Dataset: "tank/s", Pool: "tank"},
		Services: []manifest.Service{{Name: "app", Dataset: "tank/s/app", Mountpoint: "/srv/app", User: "root", Group: "root", Mode: "0750"}}}
	p := &Plan{tree: zfs.Tree{
		"tank/s":     {Name: "tank/s", Props: map[string]zfs.Prop{"type": {Value: "filesystem"}}},
		"tank/s/app": {Name: "tank/s/app", Props: map[string]zfs.Prop{"type": {Value: "volume"}}},
	}}
	problems := p.decide(m, map[string][2]int{"app": {0, 0}}, func(string, string) (*syscall.Stat_t, error) {
		t.Error("stat called for a volume")
		return nil, errors.New("no")
	})
	if len(problems) != 1 || !strings.Contains(problems[0], "tank/s/app exists as a volume") {
		t.Errorf("problems = %q", problems)
	}
	if len(p.Actions) != 0 {
		t.Errorf("actions planned for a volume: %+v", p.Actions)
	}
}

func TestRealVolume(t *testing.T) {
	p := zfstest.NewPool(t)
	parent := p.Name + "/services"
	p.ZFS(t, "create", "-o", "mountpoint=none", parent)
	if !p.TryZFS("create", "-V", "16M", parent+"/app") {
		t.Skip("this zfs cannot create volumes (zfs-fuse: Function not implemented); TestVolumeWhereFilesystemBelongs covers the decision")
	}
	m := testManifest(p, parent, manifest.Service{Name: "app"})
	var tr tracer
	_, err := Apply(context.Background(), tr.runner(), m, nil)
	if err == nil || !strings.Contains(err.Error(), "exists as a volume") {
		t.Errorf("err = %v", err)
	}
	if c := tr.changing(); len(c) != 0 {
		t.Errorf("changing calls: %q", c)
	}
}

func TestUnmountedDatasetsAreMounted(t *testing.T) {
	p := zfstest.NewPool(t)
	parent := p.Name + "/services"
	m := testManifest(p, parent, manifest.Service{Name: "nomount"}, manifest.Service{Name: "unmounted"})
	p.ZFS(t, "create", "-p", "-o", "mountpoint=none", parent+"/nomount")
	p.ZFS(t, "create", "-o", "mountpoint="+m.Services[1].Mountpoint, parent+"/unmounted")
	p.ZFS(t, "unmount", parent+"/unmounted")

	res := mustApply(t, &zfs.Runner{}, m)
	var zfsDone []string
	for _, a := range res.Done {
		if a.Kind != Chown && a.Kind != Chmod {
			zfsDone = append(zfsDone, string(a.Kind)+" "+a.Service+" "+a.Property)
		}
	}
	// Setting the mountpoint may mount by itself; then the mount is skipped.
	got := strings.Join(zfsDone, ",")
	if got != "set nomount mountpoint,mount nomount ,mount unmounted " && got != "set nomount mountpoint,mount unmounted " {
		t.Errorf("zfs actions done = %q", got)
	}
	for _, s := range m.Services {
		if src, _ := zfs.MountSource(s.Mountpoint); src != s.Dataset {
			t.Errorf("%s: mounted %q", s.Mountpoint, src)
		}
	}
}

// A value that zfs stores under another name (gzip-6 is reported as gzip)
// is the same value: the second apply must not set it again.
func TestAliasedPropertyValueIsNoChange(t *testing.T) {
	p := zfstest.NewPool(t)
	m := testManifest(p, p.Name+"/services",
		manifest.Service{Name: "app", Properties: map[string]string{"compression": "gzip-6"}})
	mustApply(t, &zfs.Runner{}, m)
	if got := p.Prop(t, m.Services[0].Dataset, "compression"); got != "gzip" {
		t.Fatalf("compression = %q, want zfs's name gzip", got)
	}
	var tr tracer
	res := mustApply(t, tr.runner(), m)
	if len(res.Plan.Actions) != 0 || len(tr.changing()) != 0 {
		t.Errorf("second apply: plan %+v, calls %q", res.Plan.Actions, tr.changing())
	}
}
