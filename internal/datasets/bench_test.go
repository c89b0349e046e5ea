package datasets

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

var benchProps = map[string]string{"recordsize": "16K", "compression": "gzip", "atime": "off", "com.sun:auto-snapshot": "true"}

// BenchmarkNoChangeApply compares a no-change apply (bulk read, decide in
// Go) with the way hand-written activation scripts check datasets: one
// `zfs list` per dataset and one `zfs get` per property. Both see the same
// converged pool; zfs-procs/op is the number of zfs/zpool processes.
func BenchmarkNoChangeApply(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("datasets=%d", n), func(b *testing.B) {
			p := zfstest.NewPool(b)
			svcs := make([]manifest.Service, n)
			for i := range svcs {
				svcs[i] = manifest.Service{Name: fmt.Sprintf("svc%03d", i), Properties: benchProps}
			}
			m := testManifest(p, p.Name+"/services", svcs...)
			if _, err := Apply(context.Background(), &zfs.Runner{}, m, nil); err != nil {
				b.Fatal(err)
			}

			b.Run("bulk", func(b *testing.B) {
				var procs int64
				for i := 0; i < b.N; i++ {
					r := &zfs.Runner{} // a fresh runner per run, as in the CLI
					res, err := Apply(context.Background(), r, m, nil)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Done) != 0 {
						b.Fatalf("not a no-change apply: %v", res.Done)
					}
					procs += r.Started()
				}
				b.ReportMetric(float64(procs)/float64(b.N), "zfs-procs/op")
			})

			b.Run("per-dataset-baseline", func(b *testing.B) {
				var procs int64
				for i := 0; i < b.N; i++ {
					r := &zfs.Runner{}
					if changes := baselineCheck(b, r, m); changes != 0 {
						b.Fatalf("baseline found %d changes on a converged pool", changes)
					}
					procs += r.Started()
				}
				b.ReportMetric(float64(procs)/float64(b.N), "zfs-procs/op")
			})
		})
	}
}

// baselineCheck is the per-dataset, per-property check of typical
// activation scripts (`zfs list NAME || zfs create ...; [ "$(zfs get -H -o
// value P NAME)" = V ] || zfs set ...`), in Go so only the process count
// and zfs's own cost differ. It returns the number of differences found.
func baselineCheck(b *testing.B, r *zfs.Runner, m *manifest.Manifest) int {
	ctx := context.Background()
	changes := 0
	if _, err := r.PoolHealth(ctx, m.Parent.Pool); err != nil {
		b.Fatal(err)
	}
	if _, err := r.ZFSCmd(ctx, "list", "-H", "-o", "name", m.Parent.Dataset); err != nil {
		b.Fatal(err)
	}
	for _, s := range m.Services {
		if _, err := r.ZFSCmd(ctx, "list", "-H", "-o", "name", s.Dataset); err != nil {
			changes++
			continue
		}
		want := map[string]string{"mountpoint": s.Mountpoint, "mounted": "yes"}
		for k, v := range s.Properties {
			want[k] = v
		}
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out, err := r.ZFSCmd(ctx, "get", "-H", "-p", "-o", "value", k, s.Dataset)
			if err != nil {
				b.Fatal(err)
			}
			if zfs.Normalize(k, strings.TrimSpace(string(out))) != zfs.Normalize(k, want[k]) {
				changes++
			}
		}
	}
	return changes
}
