package preseed

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/zfs"
)

// The gate's proofs, on states as `zfs get -p -d 1` reports them.
func TestCheckProof(t *testing.T) {
	ds := "tank/services/app"
	tree := func(rows ...[3]string) zfs.Tree {
		t := zfs.Tree{}
		for _, r := range rows {
			d := t[r[0]]
			if d == nil {
				d = &zfs.Dataset{Name: r[0], Props: map[string]zfs.Prop{}}
				t[r[0]] = d
			}
			d.Props[r[1]] = zfs.Prop{Value: r[2], Source: "-"}
		}
		return t
	}
	replica := map[string]bool{"111": true, "222": true}
	received := [][3]string{
		{ds, "referenced", "5000"}, {ds, "guid", "9"},
		{ds + "@a", "guid", "111"}, {ds + "@a", "createtxg", "10"}, {ds + "@a", "used", "0"}, {ds + "@a", "referenced", "4000"},
		{ds + "@b", "guid", "222"}, {ds + "@b", "createtxg", "20"}, {ds + "@b", "used", "0"}, {ds + "@b", "referenced", "5000"},
	}
	with := func(base [][3]string, extra ...[3]string) zfs.Tree {
		return tree(append(append([][3]string(nil), base...), extra...)...)
	}
	cases := []struct {
		name string
		p    proof
		t    zfs.Tree
		ok   bool
	}{
		{"partial receive, unwritten", proof{kind: proofPartialReceive, target: ds, replica: replica}, tree(received...), true},
		{"a snapshot not the replica's", proof{kind: proofPartialReceive, target: ds, replica: map[string]bool{"111": true}}, tree(received...), false},
		{"written since the newest (zfs-fuse sizes)", proof{kind: proofPartialReceive, target: ds, replica: replica}, with(received, [3]string{ds, "referenced", "7000"}), false},
		{"overwritten since the newest", proof{kind: proofPartialReceive, target: ds, replica: replica}, with(received, [3]string{ds + "@b", "used", "4096"}), false},
		{"written > 0 where zfs has it", proof{kind: proofPartialReceive, target: ds, replica: replica}, with(received, [3]string{ds, "written", "512"}), false},
		{"no snapshot at all", proof{kind: proofPartialReceive, target: ds, replica: replica}, tree([3]string{ds, "referenced", "5000"}), false},
		{"a dataset below it", proof{kind: proofPartialReceive, target: ds, replica: replica}, with(received, [3]string{ds + "/kid", "guid", "5"}), false},
		{"another dataset", proof{kind: proofPartialReceive, target: "tank/home", replica: replica}, tree([3]string{"tank/home", "referenced", "1"}), false},

		{"empty aside", proof{kind: proofEmptyAside, target: ds + asideSuffix}, tree([3]string{ds + asideSuffix, PropAside, ds}, [3]string{ds + asideSuffix, PropAsideRef, "100"}, [3]string{ds + asideSuffix, "referenced", "100"}), true},
		{"aside grew", proof{kind: proofEmptyAside, target: ds + asideSuffix}, tree([3]string{ds + asideSuffix, PropAside, ds}, [3]string{ds + asideSuffix, PropAsideRef, "100"}, [3]string{ds + asideSuffix, "referenced", "9000"}), false},
		{"aside with a snapshot", proof{kind: proofEmptyAside, target: ds + asideSuffix}, tree([3]string{ds + asideSuffix, PropAside, ds}, [3]string{ds + asideSuffix, PropAsideRef, "100"}, [3]string{ds + asideSuffix, "referenced", "100"}, [3]string{ds + asideSuffix + "@s", "guid", "1"}), false},
		{"aside not ours", proof{kind: proofEmptyAside, target: ds + asideSuffix}, tree([3]string{ds + asideSuffix, PropAside, "-"}, [3]string{ds + asideSuffix, PropAsideRef, "100"}, [3]string{ds + asideSuffix, "referenced", "100"}), false},
		{"aside without a recorded size", proof{kind: proofEmptyAside, target: ds + asideSuffix}, tree([3]string{ds + asideSuffix, PropAside, ds}, [3]string{ds + asideSuffix, "referenced", "100"}), false},

		{"probe clone", proof{kind: proofProbeClone, target: ds + probeSuffix}, tree([3]string{ds + probeSuffix, PropProbe, ds + "@a"}, [3]string{ds + probeSuffix, "origin", ds + "@a"}, [3]string{ds + probeSuffix, "readonly", "on"}), true},
		{"probe with a snapshot", proof{kind: proofProbeClone, target: ds + probeSuffix}, tree([3]string{ds + probeSuffix, PropProbe, ds + "@a"}, [3]string{ds + probeSuffix, "origin", ds + "@a"}, [3]string{ds + probeSuffix + "@x", "guid", "1"}), false},
		{"probe of another origin", proof{kind: proofProbeClone, target: ds + probeSuffix}, tree([3]string{ds + probeSuffix, PropProbe, ds + "@a"}, [3]string{ds + probeSuffix, "origin", "tank/home@x"}, [3]string{ds + probeSuffix, "readonly", "on"}), false},
		{"not a clone", proof{kind: proofProbeClone, target: ds + probeSuffix}, tree([3]string{ds + probeSuffix, PropProbe, "-"}, [3]string{ds + probeSuffix, "origin", "-"}, [3]string{ds + probeSuffix, "readonly", "on"}), false},

		{"rollback to an older snapshot", proof{kind: proofRollbackEmpty, target: ds + "@a"}, tree(received...), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsName := c.p.target
			if c.p.kind == proofRollbackEmpty {
				dsName = ds
			}
			err := checkProof(c.p, dsName, c.t, ds, "/nonexistent")
			if c.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !c.ok && !errors.Is(err, errNoProof) {
				t.Errorf("err %v, want errNoProof", err)
			}
		})
	}
}

// start-empty may apply only when every method was unavailable.
func TestFailedAttempts(t *testing.T) {
	if got := failedAttempts([]Attempt{{Method: "syncoid", Status: "unavailable"}, {Method: "local", Status: "unavailable"}}); got != "" {
		t.Errorf("all unavailable: %q", got)
	}
	if got := failedAttempts([]Attempt{{Method: "syncoid", Status: "unavailable"}, {Method: "restic", Status: "failed"}}); got != "restic" {
		t.Errorf("restic failed (ENOSPC, timeout, ...): %q", got)
	}
	if got := failedAttempts(nil); got != "" {
		t.Errorf("no methods: %q", got)
	}
}

func TestStatusTableListsAsides(t *testing.T) {
	var b strings.Builder
	err := WriteStatusTable(&b, []Status{{Service: "app", Dataset: "tank/s/app", Exists: true, Mounted: true, Complete: true,
		Asides: []Aside{{Dataset: "tank/s/app.nixgen-aside-20261201T221500Z", Reason: "replaced by a syncoid restore", Time: "2026-12-01T22:15:00Z"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "set aside: tank/s/app.nixgen-aside-20261201T221500Z") || !strings.Contains(b.String(), "replaced by a syncoid restore") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestAsideName(t *testing.T) {
	if got := asideName("tank/s/app", time.Date(2026, 12, 1, 23, 15, 0, 0, time.FixedZone("x", 3600))); got != "tank/s/app.nixgen-aside-20261201T221500Z" {
		t.Errorf("asideName = %s", got)
	}
}
