package zfs_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/zfs"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func TestParsePoolStatus(t *testing.T) {
	utc3 := time.FixedZone("UTC+3", 3*3600)
	at := func(y int, mo time.Month, d, h, mi, s int) time.Time { return time.Date(y, mo, d, h, mi, s, 0, utc3) }
	for _, c := range []struct {
		file string
		want map[string]*zfs.Scrub
	}{
		{"testdata/status-openzfs.txt", map[string]*zfs.Scrub{
			"backup": {End: at(2025, 12, 1, 3, 27, 9), Errors: 3},
			"old":    {End: at(2018, 1, 14, 0, 25, 2), Errors: 0},
			"tank":   {End: at(2025, 11, 30, 0, 36, 35), Errors: 0},
			// busy: in progress; fresh: never; resilvered: the resilver replaced the scrub record.
		}},
		{"testdata/status-zfs-fuse.txt", map[string]*zfs.Scrub{
			"ngtb652c4b7":  {End: at(2026, 12, 1, 22, 56, 10), Errors: 0},
			"ngtb652c4b7m": {End: at(2026, 11, 11, 9, 5, 0), Errors: 2},
		}},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		got := zfs.ParsePoolStatus(b, utc3)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:", c.file)
			for k, v := range got {
				t.Errorf("  got  %s: %+v", k, *v)
			}
			for k, v := range c.want {
				t.Errorf("  want %s: %+v", k, *v)
			}
		}
	}
}

func TestParsePoolList(t *testing.T) {
	exact := "tank\t1000204886016\t400088457216\t600116428800\tONLINE\nbad\t-\t-\t-\tFAULTED\n"
	got, err := zfs.ParsePoolList([]byte(exact))
	if err != nil {
		t.Fatal(err)
	}
	want := []zfs.Pool{
		{Name: "tank", Health: "ONLINE", Size: 1000204886016, Allocated: 400088457216, Free: 600116428800},
		{Name: "bad", Health: "FAULTED"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exact: %+v", got)
	}
	// zfs-fuse has no -p: sizes are rounded.
	got, err = zfs.ParsePoolList([]byte("p\t250M\t556K\t1.5G\tDEGRADED\n"))
	if err != nil || len(got) != 1 || got[0].Size != 250<<20 || got[0].Allocated != 556<<10 || got[0].Free != 3<<29 || got[0].Health != "DEGRADED" {
		t.Errorf("rounded: %+v, %v", got, err)
	}
	for _, bad := range []string{"tank\t1\t2\tONLINE\n", "tank\tlots\t1\t1\tONLINE\n"} {
		if _, err := zfs.ParsePoolList([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// On the real zpool: a fresh pool has no scrub record, a scrubbed one has.
func TestPoolsReal(t *testing.T) {
	p := zfstest.NewPool(t)
	r := &zfs.Runner{}
	ctx := context.Background()
	find := func() zfs.Pool {
		pools, err := r.Pools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range pools {
			if q.Name == p.Name {
				return q
			}
		}
		t.Fatalf("pool %s not listed: %+v", p.Name, pools)
		return zfs.Pool{}
	}
	q := find()
	if q.Health != "ONLINE" || q.Size == 0 || q.Free == 0 || q.Allocated == 0 || q.Allocated+q.Free > q.Size+q.Size/50 {
		t.Errorf("fresh pool: %+v", q)
	}
	if q.Scrub != nil {
		t.Errorf("fresh pool has a scrub record: %+v", *q.Scrub)
	}
	before := time.Now().Add(-2 * time.Second)
	p.ZPool(t, "scrub", p.Name)
	p.WaitScrub(t)
	q = find()
	if q.Scrub == nil || q.Scrub.Errors != 0 || q.Scrub.End.Before(before.Truncate(time.Second)) || q.Scrub.End.After(time.Now()) {
		t.Errorf("scrubbed pool: %+v %+v", q, q.Scrub)
	}
}
