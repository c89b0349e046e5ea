package zfs_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

// TestZFSSizeAgreesWithZFS: rules.ZFSSize, the parser behind both the spec
// check and the helper's comparison of declared with actual sizes, accepts
// what `zfs set` accepts and reads it as the same number of bytes.
func TestZFSSizeAgreesWithZFS(t *testing.T) {
	p := zfstest.NewPool(t)
	ctx := context.Background()
	r := &zfs.Runner{}
	ds := p.Name + "/sizes"
	if err := r.Create(ctx, ds, map[string]string{"mountpoint": "none"}, false); err != nil {
		t.Fatal(err)
	}
	values := []string{"64M", "64m", "64MB", "64mb", "1.5G", ".5G", "2.25T", "1073741824", "3G",
		"1BB", "1 G", "1GG", "1.5.5G", "-1G", "G", "1Q"}
	// OpenZFS accepts "GiB" for "G" (str2shift); zfs-fuse's older libzfs
	// does not, and there rules.ZFSSize is only held to the others.
	if err := r.Set(ctx, ds, "quota", "1GiB"); err == nil {
		values = append(values, "64MiB", "64mib", "1.5GiB")
	} else {
		t.Logf("this zfs refuses the iB suffix (%v): not compared", err)
	}
	for _, v := range values {
		want, parsed := rules.ZFSSize(v)
		err := r.Set(ctx, ds, "quota", v)
		if (err == nil) != parsed {
			t.Errorf("quota=%q: zfs set err = %v, rules.ZFSSize ok = %v", v, err, parsed)
			continue
		}
		if err != nil {
			continue
		}
		if got := p.Prop(t, ds, "quota"); got != strconv.FormatUint(want, 10) {
			t.Errorf("quota=%q: zfs reads %s bytes, rules.ZFSSize %d", v, got, want)
		}
	}
}
