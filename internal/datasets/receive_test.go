package datasets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// The fixtures are `zfs allow DATASET` output in OpenZFS's format
// (zfs_main.c print_fs_perms); zfs-fuse cannot run `zfs allow`, so the
// decision is tested on them, and apply's calls on OpenZFS only.
func readAllow(t *testing.T, name, dataset string) *zfs.Perms {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "allow", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := zfs.ParseAllow(b, dataset)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReceiveAllowActions(t *testing.T) {
	rc := manifest.Receive{Parent: "backup/forge", User: "zfs-recv"}
	for _, tc := range []struct {
		name    string
		have    *zfs.Perms // nil: the parent is about to be created
		fixture string
		want    []Action
	}{
		{name: "new parent", want: []Action{
			{Kind: AllowLocal, Dataset: "backup/forge", User: "zfs-recv", To: "create,mount,receive"},
			{Kind: AllowCreate, Dataset: "backup/forge", User: "zfs-recv", To: "change-key,compression,destroy,mount,mountpoint,receive,rollback,send"},
		}},
		// Permissions of an ancestor (backup) are not counted: only what
		// is set on the parent itself.
		{name: "only an ancestor's", fixture: "none-here.txt", want: []Action{
			{Kind: AllowLocal, Dataset: "backup/forge", User: "zfs-recv", To: "create,mount,receive"},
			{Kind: AllowCreate, Dataset: "backup/forge", User: "zfs-recv", To: "change-key,compression,destroy,mount,mountpoint,receive,rollback,send"},
		}},
		// Only what is missing is added; other users, groups, sets and
		// extra permissions are left alone.
		{name: "partial", fixture: "partial.txt", want: []Action{
			{Kind: AllowLocal, Dataset: "backup/forge", User: "zfs-recv", To: "receive"},
			{Kind: AllowCreate, Dataset: "backup/forge", User: "zfs-recv", To: "change-key,compression,mountpoint,rollback,send"},
		}},
		// Idempotent: what apply set reads back as complete.
		{name: "complete", fixture: "complete.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := tc.have
			if tc.fixture != "" {
				have = readAllow(t, tc.fixture, rc.Parent)
			}
			got := allowActions(rc, have)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("actions\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// Another receive user on the same parent still needs its own grant.
	got := allowActions(manifest.Receive{Parent: "backup/forge", User: "other"}, readAllow(t, "complete.txt", "backup/forge"))
	if len(got) != 1 || got[0].Kind != AllowLocal || got[0].User != "other" {
		t.Errorf("other user: %+v", got)
	}
}

func TestParseAllow(t *testing.T) {
	p := readAllow(t, "partial.txt", "backup/forge")
	want := &zfs.Perms{
		CreateTime: map[string]bool{"destroy": true, "mount": true, "receive": true},
		Local: map[string]map[string]bool{
			"user zfs-recv": {"create": true, "mount": true},
			"group wheel":   {"mount": true},
			"everyone":      {"userprop": true},
		},
		Descendent: map[string]map[string]bool{
			"user zfs-recv": {"create": true, "mount": true},
			"group wheel":   {"mount": true},
			"everyone":      {"userprop": true},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("parsed\n got %+v\nwant %+v", p, want)
	}
	// Nothing delegated anywhere: zfs allow prints nothing.
	if p, err := zfs.ParseAllow(nil, "backup/forge"); err != nil || len(p.CreateTime)+len(p.Local) != 0 {
		t.Errorf("empty output: %+v, %v", p, err)
	}
	// A format it does not know is an error, not "nothing delegated".
	if _, err := zfs.ParseAllow([]byte("---- Permissions on backup/forge ----\nSomething new:\n\tuser x y\n"), "backup/forge"); err == nil {
		t.Error("unknown section accepted")
	}
	if _, err := zfs.ParseAllow([]byte("internal error: /usr/lib/zfs/pyzfs.py not found\n"), "backup/forge"); err == nil {
		t.Error("zfs-fuse's error text accepted as output")
	}
}

// allowShim is a zfs that keeps `zfs allow` in files and prints it in
// OpenZFS's format (zfs-fuse has no `zfs allow`); every other call goes to
// the real zfs. It records the allow calls in its log.
func allowShim(t *testing.T) (path, log string) {
	t.Helper()
	real, err := exec.LookPath("zfs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, log = filepath.Join(dir, "zfs"), filepath.Join(dir, "log")
	script := `#!/bin/sh
[ "$1" = allow ] || exec ` + real + ` "$@"
state=` + dir + `/state.$(echo "$(eval echo \${$#})" | tr / _)
echo "$*" >> ` + log + `
case "$2" in
-l) echo "L $4 $5" >> "$state" ;;
-c) echo "C $3" >> "$state" ;;
*) [ -f "$state" ] || exit 0
   awk -v ds="$2" 'BEGIN { printf "---- Permissions on %s ------------------------------------\n", ds }
     $1 == "C" { c = c (c ? "," : "") $2 }
     $1 == "L" { l[$2] = l[$2] (l[$2] ? "," : "") $3 }
     END { if (c) printf "Create time permissions:\n\t%s\n", c
           n = 0; for (u in l) { if (!n++) print "Local permissions:"; printf "\tuser %s %s\n", u, l[u] } }' "$state" ;;
esac
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

// Apply creates a missing receive parent (mountpoint=none), delegates what
// is missing with the exact zfs allow calls, and a second plan finds
// nothing to do. Also with the pool's root as the parent, which is never
// created.
func TestReceiveParentApplyIsIdempotent(t *testing.T) {
	p := zfstest.NewPool(t)
	shim, log := allowShim(t)
	r := &zfs.Runner{ZFS: shim}
	m := testManifest(p, p.Name+"/services")
	m.Receive = []manifest.Receive{{Parent: p.Name, User: "root2"}, {Parent: p.Name + "/replicas", User: "zfs-recv"}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	plan, err := Make(context.Background(), r, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range plan.Actions {
		got = append(got, Describe(a))
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		"create parent " + p.Name + "/replicas (mountpoint=none)",
		"allow zfs-recv on " + p.Name + "/replicas itself: create,mount,receive",
		"allow the creator of each dataset below " + p.Name + "/replicas: change-key,compression,destroy,mount,mountpoint,receive,rollback,send",
		"allow root2 on " + p.Name + " itself: create,mount,receive",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "create parent "+p.Name+" ") {
		t.Errorf("plan creates the pool's root:\n%s", text)
	}
	mustApply(t, r, m)
	if v := p.Prop(t, p.Name+"/replicas", "mountpoint"); v != "none" {
		t.Errorf("receive parent mountpoint = %s", v)
	}
	calls, _ := os.ReadFile(log)
	for _, want := range []string{
		"allow -l -u zfs-recv create,mount,receive " + p.Name + "/replicas\n",
		"allow -c change-key,compression,destroy,mount,mountpoint,receive,rollback,send " + p.Name + "/replicas\n",
		"allow -l -u root2 create,mount,receive " + p.Name + "\n",
	} {
		if !strings.Contains(string(calls), want) {
			t.Errorf("zfs calls lack %q:\n%s", want, calls)
		}
	}
	again, err := Make(context.Background(), r, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Actions) != 0 {
		t.Errorf("second plan: %+v", again.Actions)
	}
}
