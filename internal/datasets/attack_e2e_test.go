package datasets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/usertest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// A local user who can write an ancestor of a mountpoint plants a symlink
// where the mountpoint's parent will be (/var/tmp/srv -> /victim): apply
// must refuse before creating, mounting or chowning anything, and say why.
// The same for a mountpoint below an existing symlink, and for an existing,
// mounted dataset whose mountpoint has such an ancestor: its root is not
// chowned.
func TestAttackUntrustedMountpointAncestors(t *testing.T) {
	u := usertest.New(t)
	p := zfstest.NewPool(t)
	victim := p.Path("victim")
	before := usertest.Victim(t, victim)
	mkdir := func(rel string, mode os.FileMode, uid int) string {
		t.Helper()
		d := p.Path(rel)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(d, uint32(mode)); err != nil { // sticky bit included
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	owned := mkdir("home", 0o755, u.UID)
	sticky := mkdir("tmp", 0o1777, 0)
	u.MustSh(t, `ln -s "$2" "$1/srv" && ln -s "$2" "$3/srv"`, owned, victim, sticky)
	trusted := mkdir("srv", 0o755, 0)
	if err := os.Symlink(victim, filepath.Join(trusted, "link")); err != nil {
		t.Fatal(err)
	}
	// An existing dataset, mounted below the user's directory.
	existing := p.Name + "/services/old"
	p.ZFS(t, "create", "-p", "-o", "mountpoint="+filepath.Join(owned, "old"), existing)
	oldRoot := usertest.Snapshot(t, filepath.Join(owned, "old"))

	m := testManifest(p, p.Name+"/services",
		manifest.Service{Name: "a", Mountpoint: filepath.Join(owned, "srv", "a")},
		manifest.Service{Name: "b", Mountpoint: filepath.Join(sticky, "srv", "b")},
		manifest.Service{Name: "c", Mountpoint: filepath.Join(trusted, "link", "c")},
		manifest.Service{Name: "old", Dataset: existing, Mountpoint: filepath.Join(owned, "old"), User: u.Name, Group: u.Name},
		// Nothing planted yet: the sticky directory alone is reason enough.
		manifest.Service{Name: "e", Mountpoint: filepath.Join(sticky, "fresh", "e")},
	)
	tr := &tracer{}
	res, err := Apply(context.Background(), tr.runner(), m, nil)
	var pe *PreconditionError
	if !errors.As(err, &pe) || res != nil {
		t.Fatalf("apply: %v (%T), want a PreconditionError", err, err)
	}
	for _, want := range []string{
		"service a: mountpoint " + m.Services[0].Mountpoint + ": " + owned + " is owned by " + u.Name,
		"service b: mountpoint " + m.Services[1].Mountpoint + ": " + filepath.Join(sticky, "srv") + " is a symlink",
		"service c: mountpoint " + m.Services[2].Mountpoint + ": " + filepath.Join(trusted, "link") + " is a symlink",
		"service old: mountpoint " + m.Services[3].Mountpoint + ": " + owned + " is owned by " + u.Name,
		"service e: mountpoint " + m.Services[4].Mountpoint + ": " + sticky + " is writable by others (mode 1777)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if c := tr.changing(); len(c) != 0 {
		t.Errorf("zfs changes made: %v", c)
	}
	for _, s := range append(m.Services[:3:3], m.Services[4]) {
		if p.Exists(s.Dataset) {
			t.Errorf("%s was created", s.Dataset)
		}
	}
	mounts, err := zfs.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	for mp, src := range mounts {
		if strings.HasPrefix(mp, victim) {
			t.Errorf("%s mounted at %s", src, mp)
		}
	}
	before.Unchanged(t, victim)
	oldRoot.Unchanged(t, filepath.Join(owned, "old"))
	// plan says the same, exit 4 in the CLI.
	if _, err := Make(context.Background(), &zfs.Runner{}, m); !errors.As(err, &pe) {
		t.Errorf("plan: %v", err)
	}
}
