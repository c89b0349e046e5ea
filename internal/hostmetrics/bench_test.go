package hostmetrics

import (
	"context"
	"fmt"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// BenchmarkCollect is one metrics read (Collect) over N service datasets
// with one snapshot each, on a fresh runner per run (as each
// `nixgen-helper metrics` process has), reporting zfs/zpool processes per
// run. Setting up 200 datasets on zfs-fuse takes about a minute.
func BenchmarkCollect(b *testing.B) {
	p := zfstest.NewPool(b)
	m := &manifest.Manifest{Version: manifest.Version, Host: "bench",
		Parent: manifest.Parent{Dataset: p.Name + "/services", Pool: p.Name}}
	for _, n := range []int{10, 200} {
		for i := len(m.Services); i < n; i++ {
			name := fmt.Sprintf("s%03d", i)
			s := manifest.Service{Name: name, Unit: name + ".service", Dataset: p.Name + "/services/" + name,
				Mountpoint: p.Path("srv", name), User: "root", Group: "root", Mode: "0750", Snapshots: true,
				Properties: map[string]string{"compression": "gzip", "recordsize": "16K"}}
			// canmount=off: 200 zfs-fuse mounts make creating and destroying slow.
			p.ZFS(b, "create", "-p", "-o", "canmount=off", "-o", "mountpoint="+s.Mountpoint, "-o", "compression=gzip", "-o", "recordsize=16K", s.Dataset)
			p.ZFS(b, "snapshot", s.Dataset+"@a")
			m.Services = append(m.Services, s)
		}
		b.Run(fmt.Sprintf("datasets=%d", n), func(b *testing.B) {
			var procs int64
			for range b.N {
				r := &zfs.Runner{}
				st, err := Collect(context.Background(), r, m)
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Datasets) != n {
					b.Fatalf("%d datasets read, want %d", len(st.Datasets), n)
				}
				procs += r.Started()
			}
			b.ReportMetric(float64(procs)/float64(b.N), "processes/op")
		})
	}
}
