package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/zfstest"
)

func families(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	// Parsed the way the node exporter parses textfiles.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fams
}

// sample returns the value of the series of name whose labels include
// want; ok is false when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (v float64, ok bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

// countingPath puts zfs and zpool wrappers first on PATH that log each
// call and run the real program; it returns the PATH value and the log.
func countingPath(t *testing.T) (pathEnv, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	for _, prog := range []string{"zfs", "zpool"} {
		real, err := exec.LookPath(prog)
		if err != nil {
			t.Fatal(err)
		}
		script := "#!/bin/sh\necho \"" + prog + " $*\" >> '" + log + "'\nexec '" + real + "' \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, prog), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// metricsRun runs `nixgen-helper metrics` as its own process with the
// counting wrappers on PATH and returns the zfs/zpool calls it made.
func metricsRunCounted(t *testing.T, mf, textDir string) []string {
	t.Helper()
	pathEnv, log := countingPath(t)
	cmd := helperCmd("metrics", "--manifest", mf, "--textfile-dir", textDir)
	cmd.Env = append(cmd.Env, "PATH="+pathEnv)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("metrics: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestMetricsPoolDatasetsSnapshotsAndStaleFiles(t *testing.T) {
	p := zfstest.NewPool(t)
	m := poolManifest(p, "alpha", "beta")
	m.Services[0].Snapshots, m.Services[1].Snapshots = true, true
	m.Services[1].Preseed = &manifest.Preseed{Methods: []string{"local"}, TimeoutSeconds: 60, OnFailure: "block"}
	m.Jobs = []manifest.Job{
		{Unit: "sanoid.service", Kind: manifest.JobSnapshot},
		{Unit: "syncoid-alpha.service", Kind: manifest.JobReplication, Service: "alpha"},
	}
	m.Services[0].Replication = &manifest.Replication{Target: p.Name + "/replica/alpha", Dataset: p.Name + "/replica/alpha"}
	mf := writeManifest(t, m)
	if code, out, errb := runHelper(t, "datasets", "apply", "--manifest", mf, "--lock-dir", t.TempDir()); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	alpha, beta := m.Services[0].Dataset, m.Services[1].Dataset
	p.ZFS(t, "snapshot", alpha+"@one")
	p.ZFS(t, "snapshot", alpha+"@two")
	p.ZFS(t, "snapshot", alpha+"@nixgen-backup") // nixgen's own, not counted
	p.ZFS(t, "set", "quota=64M", alpha)
	p.ZFS(t, "set", "compression=off", beta) // drift: the manifest says gzip

	textDir := t.TempDir()
	stale := []string{"nixgen_job_syncoid-gone.service.prom", "nixgen_preseed_gone.prom", "nixgen_preseed_alpha.prom"}
	kept := []string{"nixgen_job_sanoid.service.prom", "nixgen_job_syncoid-alpha.service.prom", "nixgen_preseed_beta.prom",
		"nixgen_job_x.service.prom.123456" /* a write in progress */, "other.prom"}
	for _, n := range append(append([]string{}, stale...), kept...) {
		if err := os.WriteFile(filepath.Join(textDir, n), []byte("# x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errb := runHelper(t, "metrics", "--manifest", mf, "--textfile-dir", textDir)
	if code != 0 {
		t.Fatalf("metrics: exit %d\n%s%s", code, out, errb)
	}
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(textDir, n)); !os.IsNotExist(err) {
			t.Errorf("%s (of a removed job or preseed) is still there: %v", n, err)
		}
		if !strings.Contains(out, "removed "+n) {
			t.Errorf("removal of %s not reported:\n%s", n, out)
		}
	}
	for _, n := range kept {
		if _, err := os.Lstat(filepath.Join(textDir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}

	fams := families(t, metrics.HostFile(textDir))
	pool := map[string]string{"host": "test", "pool": p.Name}
	for state, want := range map[string]float64{"ONLINE": 1, "DEGRADED": 0, "FAULTED": 0, "MISSING": 0} {
		l := map[string]string{"host": "test", "pool": p.Name, "state": state}
		if v, ok := sample(fams, "nixgen_pool_health", l); !ok || v != want {
			t.Errorf("nixgen_pool_health%v = %v (%v), want %v", l, v, ok, want)
		}
	}
	size, _ := sample(fams, "nixgen_pool_size_bytes", pool)
	alloc, _ := sample(fams, "nixgen_pool_allocated_bytes", pool)
	free, _ := sample(fams, "nixgen_pool_free_bytes", pool)
	if size < 200<<20 || alloc <= 0 || free <= 0 || alloc+free > size*1.02 {
		t.Errorf("pool size %v, allocated %v, free %v", size, alloc, free)
	}
	if _, ok := sample(fams, "nixgen_pool_last_scrub_end_timestamp_seconds", pool); ok {
		t.Error("a scrub end for a pool never scrubbed")
	}

	creation, _ := strconv.ParseFloat(p.Prop(t, alpha+"@two", "creation"), 64)
	for _, c := range []struct {
		name string
		ds   map[string]string
		want float64
	}{
		{"nixgen_dataset_snapshots", map[string]string{"dataset": alpha, "service": "alpha"}, 2},
		{"nixgen_dataset_newest_snapshot_timestamp_seconds", map[string]string{"dataset": alpha, "service": "alpha"}, creation},
		{"nixgen_dataset_quota_bytes", map[string]string{"dataset": alpha}, 64 << 20},
		{"nixgen_dataset_property_drift", map[string]string{"dataset": alpha}, 0},
		{"nixgen_dataset_snapshots", map[string]string{"dataset": beta, "service": "beta"}, 0},
		{"nixgen_dataset_newest_snapshot_timestamp_seconds", map[string]string{"dataset": beta}, 0},
		{"nixgen_dataset_quota_bytes", map[string]string{"dataset": beta}, 0},
		{"nixgen_dataset_property_drift", map[string]string{"dataset": beta}, 1},
		{"nixgen_job_info", map[string]string{"host": "test", "unit": "sanoid.service", "kind": "snapshot", "service": ""}, 1},
		{"nixgen_job_info", map[string]string{"host": "test", "unit": "syncoid-alpha.service", "kind": "replication", "service": "alpha"}, 1},
	} {
		if v, ok := sample(fams, c.name, c.ds); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.ds, v, ok, c.want)
		}
	}
	for _, ds := range []string{alpha, beta} {
		used, _ := sample(fams, "nixgen_dataset_used_bytes", map[string]string{"dataset": ds})
		avail, _ := sample(fams, "nixgen_dataset_available_bytes", map[string]string{"dataset": ds})
		if used <= 0 || avail <= 0 || (ds == alpha && used+avail > 64<<20) {
			t.Errorf("%s: used %v, available %v", ds, used, avail)
		}
	}
	if n := len(fams["nixgen_job_info"].GetMetric()); n != 2 {
		t.Errorf("%d nixgen_job_info series, want 2", n)
	}

	// A scrub shows up on the next run.
	p.ZPool(t, "scrub", p.Name)
	p.WaitScrub(t)
	if code, out, errb := runHelper(t, "metrics", "--manifest", mf, "--textfile-dir", textDir); code != 0 {
		t.Fatalf("metrics: exit %d\n%s%s", code, out, errb)
	}
	fams = families(t, metrics.HostFile(textDir))
	if v, ok := sample(fams, "nixgen_pool_last_scrub_end_timestamp_seconds", pool); !ok || v < creation {
		t.Errorf("scrub end %v (%v), want after %v", v, ok, creation)
	}
	if v, ok := sample(fams, "nixgen_pool_scrub_errors", pool); !ok || v != 0 {
		t.Errorf("scrub errors %v (%v)", v, ok)
	}
}

func TestMetricsDegradedMirrorAndMissingPool(t *testing.T) {
	p := zfstest.NewMirrorPool(t)
	m := poolManifest(p, "alpha")
	m.Replicas = []manifest.Replica{{Dataset: "ngtnosuchpool/replica", Source: "elsewhere:tank/x"}}
	mf := writeManifest(t, m)
	textDir := t.TempDir()
	check := func(pool, current string) {
		t.Helper()
		fams := families(t, metrics.HostFile(textDir))
		for _, state := range []string{"ONLINE", "DEGRADED", "MISSING"} {
			want := 0.0
			if state == current {
				want = 1
			}
			l := map[string]string{"pool": pool, "state": state}
			if v, ok := sample(fams, "nixgen_pool_health", l); !ok || v != want {
				t.Errorf("nixgen_pool_health%v = %v (%v), want %v", l, v, ok, want)
			}
		}
	}
	if code, out, errb := runHelper(t, "metrics", "--manifest", mf, "--textfile-dir", textDir); code != 0 {
		t.Fatalf("metrics: exit %d\n%s%s", code, out, errb)
	}
	check(p.Name, "ONLINE")
	check("ngtnosuchpool", "MISSING")
	p.ZPool(t, "offline", p.Name, p.Vdevs[1])
	if code, out, errb := runHelper(t, "metrics", "--manifest", mf, "--textfile-dir", textDir); code != 0 {
		t.Fatalf("metrics: exit %d\n%s%s", code, out, errb)
	}
	check(p.Name, "DEGRADED")
}

// The zfs and zpool processes of one run do not grow with the number of
// datasets: 10 and 200 datasets, counted by wrappers on PATH.
func TestMetricsProcessCountConstant(t *testing.T) {
	p := zfstest.NewPool(t)
	counts := map[int]int{}
	created := 0
	for _, n := range []int{10, 200} {
		var names []string
		for i := 0; i < n; i++ {
			names = append(names, fmt.Sprintf("s%03d", i))
		}
		m := poolManifest(p, names...)
		for i, s := range m.Services[created:] {
			// Not mounted: 200 zfs-fuse mounts make creating and destroying slow.
			p.ZFS(t, "create", "-p", "-o", "canmount=off", "-o", "mountpoint="+s.Mountpoint, s.Dataset)
			if i < 10 { // snapshots are read by the same call
				p.ZFS(t, "snapshot", s.Dataset+"@a")
			}
		}
		created = n
		calls := metricsRunCounted(t, writeManifest(t, m), t.TempDir())
		counts[n] = len(calls)
		t.Logf("%d datasets: %d processes: %q", n, len(calls), calls)
	}
	if counts[10] != counts[200] || counts[10] > 4 {
		t.Errorf("processes per run: %v; want the same small number for 10 and 200 datasets", counts)
	}
}
