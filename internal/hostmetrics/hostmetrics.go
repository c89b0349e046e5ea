// Package hostmetrics reads the state that jobs cannot report because it
// fails silently — pool health and capacity, scrubs, dataset space,
// snapshot age, property drift — and writes it with one info series per
// expected job as the node-exporter textfile nixgen_host.prom.
//
// The state is read in bulk, a constant number of processes whatever the
// number of datasets: `zpool list` and `zpool status` for every pool, one
// `zfs get -r` over the parent dataset for the datasets and their
// snapshots.
package hostmetrics

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nixgen/nixgen/internal/backupsnap"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Missing is the nixgen_pool_health state of a pool that the manifest
// uses but that is not imported.
const Missing = "MISSING"

// PoolStates are the states nixgen_pool_health always has a series for
// (zpool's health values, then Missing); a state zpool reports that is not
// listed gets a series too.
var PoolStates = []string{"ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED", "SUSPENDED", Missing}

// State is what one run read.
type State struct {
	Pools    []zfs.Pool // imported pools, and manifest pools with Health Missing
	Datasets []Dataset  // the services' datasets that exist, by service name
}

// Dataset is one service dataset.
type Dataset struct {
	Service, Name          string
	Used, Available, Quota uint64 // bytes; Quota 0: none
	Snapshots              int    // without nixgen's own backup snapshot
	// Newest is the creation time (Unix seconds) of the newest snapshot;
	// 0 when there is none.
	Newest int64
	// Snapshotted: sanoid should be taking snapshots (manifest.Service.Snapshots).
	Snapshotted bool
	Drift       int // managed properties (mountpoint included) whose value differs
}

// Collect reads the pools and the manifest's datasets.
func Collect(ctx context.Context, r *zfs.Runner, m *manifest.Manifest) (*State, error) {
	pools, err := r.Pools(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading pools: %w", err)
	}
	st := &State{Pools: pools}
	imported := map[string]bool{}
	for _, p := range pools {
		imported[p.Name] = true
	}
	want := []string{m.Parent.Pool}
	for _, rep := range m.Replicas {
		want = append(want, rules.Pool(rep.Dataset))
	}
	for _, name := range want {
		if !imported[name] {
			imported[name] = true
			st.Pools = append(st.Pools, zfs.Pool{Name: name, Health: Missing})
		}
	}
	sort.Slice(st.Pools, func(i, j int) bool { return st.Pools[i].Name < st.Pools[j].Name })
	if len(m.Services) == 0 {
		return st, nil
	}

	// One read of the datasets and their snapshots (-r without -t lists
	// both, on OpenZFS as on zfs-fuse).
	args := []string{"get", "-H", "-p", "-r", "-o", "name,property,value,source", strings.Join(propList(m), ","), m.Parent.Dataset}
	out, err := r.ZFSCmd(ctx, args...)
	if zfs.NotExist(err) {
		return st, nil // nothing created yet: no dataset metrics
	}
	if err != nil {
		return nil, fmt.Errorf("reading datasets under %s: %w", m.Parent.Dataset, err)
	}
	tree, err := zfs.ParseGet(out)
	if err != nil {
		return nil, err
	}
	type snaps struct {
		n      int
		newest int64
	}
	bySet := map[string]*snaps{}
	for name, d := range tree {
		ds, snap, ok := strings.Cut(name, "@")
		if !ok || snap == backupsnap.SnapshotName {
			continue
		}
		s := bySet[ds]
		if s == nil {
			s = &snaps{}
			bySet[ds] = s
		}
		s.n++
		if c, err := strconv.ParseInt(d.Props["creation"].Value, 10, 64); err == nil && c > s.newest {
			s.newest = c
		}
	}
	for _, svc := range m.Services {
		d := tree[svc.Dataset]
		if d == nil || d.Type() != "filesystem" {
			continue
		}
		ds := Dataset{
			Service: svc.Name, Name: svc.Dataset, Snapshotted: svc.Snapshots,
			Used: size(d, "used"), Available: size(d, "available"), Quota: size(d, "quota"),
			Drift: drift(svc, d),
		}
		if s := bySet[svc.Dataset]; s != nil {
			ds.Snapshots, ds.Newest = s.n, s.newest
		}
		st.Datasets = append(st.Datasets, ds)
	}
	return st, nil
}

func size(d *zfs.Dataset, prop string) uint64 {
	n, _ := strconv.ParseUint(d.Props[prop].Value, 10, 64)
	return n
}

// drift counts the managed properties whose value is not the manifest's,
// compared the way `datasets apply` compares them (zfs.Normalize).
func drift(s manifest.Service, d *zfs.Dataset) int {
	n := 0
	if d.Props["mountpoint"].Value != s.Mountpoint {
		n++
	}
	for k, v := range s.Properties {
		have, ok := d.Props[k]
		if !ok || zfs.Normalize(k, have.Value) != zfs.Normalize(k, v) {
			n++
		}
	}
	return n
}

// propList is what the bulk read asks for: space, snapshot creation and
// every managed property, sorted and without duplicates.
func propList(m *manifest.Manifest) []string {
	set := map[string]bool{"type": true, "used": true, "available": true, "quota": true, "creation": true, "mountpoint": true}
	for _, s := range m.Services {
		for k := range s.Properties {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Write replaces dir/nixgen_host.prom (metrics.HostFile) with st and one
// nixgen_job_info series per job of m. Every series carries the host
// label, as the job metrics do, so one Prometheus can hold several hosts.
func Write(dir string, m *manifest.Manifest, st *State) error {
	var gauges []metrics.Gauge
	add := func(name, help string, v float64, labels ...string) {
		l := [][2]string{{"host", m.Host}}
		for i := 0; i+1 < len(labels); i += 2 {
			l = append(l, [2]string{labels[i], labels[i+1]})
		}
		gauges = append(gauges, metrics.Gauge{Name: name, Help: help, Labels: l, Value: v})
	}

	for _, p := range st.Pools {
		states := PoolStates
		if !slices.Contains(states, p.Health) {
			states = append(slices.Clone(states), p.Health)
		}
		for _, s := range states {
			v := 0.0
			if s == p.Health {
				v = 1
			}
			add("nixgen_pool_health", "1 for the pool's current state, 0 for the others (MISSING: used by the manifest, not imported).", v, "pool", p.Name, "state", s)
		}
		if p.Health == Missing {
			continue
		}
		add("nixgen_pool_size_bytes", "Pool size (zpool list).", float64(p.Size), "pool", p.Name)
		add("nixgen_pool_allocated_bytes", "Allocated space in the pool.", float64(p.Allocated), "pool", p.Name)
		add("nixgen_pool_free_bytes", "Free space in the pool.", float64(p.Free), "pool", p.Name)
		if p.Scrub != nil {
			add("nixgen_pool_last_scrub_end_timestamp_seconds", "Unix time at which the last completed scrub ended; absent when none is known.", float64(p.Scrub.End.Unix()), "pool", p.Name)
			add("nixgen_pool_scrub_errors", "Errors found by the last completed scrub.", float64(p.Scrub.Errors), "pool", p.Name)
		}
	}

	for _, d := range st.Datasets {
		l := []string{"dataset", d.Name, "service", d.Service}
		add("nixgen_dataset_used_bytes", "Space used by the dataset, its snapshots and children.", float64(d.Used), l...)
		add("nixgen_dataset_available_bytes", "Space available to the dataset (quota and pool free space).", float64(d.Available), l...)
		add("nixgen_dataset_quota_bytes", "The dataset's quota; 0 for none.", float64(d.Quota), l...)
		add("nixgen_dataset_snapshots", "Number of snapshots of the dataset (without nixgen's backup snapshot).", float64(d.Snapshots), l...)
		add("nixgen_dataset_property_drift", "Number of managed properties whose value differs from the manifest.", float64(d.Drift), l...)
		if d.Snapshotted {
			add("nixgen_dataset_newest_snapshot_timestamp_seconds", "Creation time of the newest snapshot, for datasets sanoid snapshots; 0 when there is none.", float64(d.Newest), l...)
		}
	}

	for _, j := range m.Jobs {
		add("nixgen_job_info", "1 for every job unit the manifest expects: a job without a last success never succeeded.", 1, "unit", j.Unit, "kind", j.Kind, "service", j.Service)
	}
	if err := metrics.WriteTextfile(metrics.HostFile(dir), gauges); err != nil {
		return fmt.Errorf("writing host metrics: %w", err)
	}
	return nil
}
