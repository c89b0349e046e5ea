package datasets

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
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
