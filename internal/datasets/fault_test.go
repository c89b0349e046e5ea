package datasets

import (
	"context"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// A zfs call that fails in the middle of an apply stops it with the error;
// the next apply starts from what is there and completes.
func TestFailingZFSMidApplyIsCompletedByNextApply(t *testing.T) {
	// Changing calls from nothing: 1 create parent, 2 create app, 3 create db.
	for _, n := range []int{1, 2, 3} {
		t.Run("fail call "+itoa(uint32(n)), func(t *testing.T) {
			p := zfstest.NewPool(t)
			m := testManifest(p, p.Name+"/services",
				manifest.Service{Name: "app", Properties: map[string]string{"compression": "gzip"}},
				manifest.Service{Name: "db", Mode: "0700"})
			w := zfstest.NewWrapper(t, zfstest.WrapOptions{FailAt: n})
			res, err := Apply(context.Background(), &zfs.Runner{ZFS: w.Path}, m, nil)
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("apply with failing zfs: err = %v", err)
			}
			if len(res.Done) != n-1 {
				t.Errorf("done before the failure = %d, want %d", len(res.Done), n-1)
			}

			res = mustApply(t, &zfs.Runner{}, m)
			if len(res.Done) == 0 {
				t.Error("second apply had nothing left to do")
			}
			for _, s := range m.Services {
				if got := p.Prop(t, s.Dataset, "mounted"); got != "yes" {
					t.Errorf("%s mounted = %s", s.Dataset, got)
				}
			}
			if _, _, mode := statOf(t, m.Services[1].Mountpoint); mode != 0o700 {
				t.Errorf("db mode = %o", mode)
			}
			if res := mustApply(t, &zfs.Runner{}, m); len(res.Done) != 0 {
				t.Errorf("third apply still changed %v", res.Done)
			}
		})
	}
}
