package metrics

import (
	"os"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestWritePreseedParses(t *testing.T) {
	dir := t.TempDir()
	fin := time.Unix(1795630827, 500_000_000)
	if err := WritePreseed(dir, Preseed{Service: "sonarr", Method: "restic", Status: StatusRestored, Duration: 1500 * time.Millisecond, Finished: fin}); err != nil {
		t.Fatal(err)
	}
	// A second write replaces the first (no stale series for another method).
	if err := WritePreseed(dir, Preseed{Service: "sonarr", Status: StatusSkipped, Duration: 20 * time.Millisecond, Finished: fin}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(PreseedFile(dir, "sonarr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"nixgen_preseed_status":                            StatusSkipped,
		"nixgen_preseed_last_duration_seconds":             0.02,
		"nixgen_preseed_last_completion_timestamp_seconds": 1795630827.5,
	}
	for name, v := range want {
		fam, ok := fams[name]
		if !ok || len(fam.Metric) != 1 {
			t.Fatalf("%s: family missing or not exactly one series: %v", name, fam)
		}
		m := fam.Metric[0]
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["service"] != "sonarr" || labels["method"] != "none" {
			t.Errorf("%s labels = %v", name, labels)
		}
		if got := m.GetGauge().GetValue(); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

func TestPreseedPoolDegraded(t *testing.T) {
	dir := t.TempDir()
	for health, want := range map[string]float64{"DEGRADED": 1, "ONLINE": 0} {
		if err := WritePreseed(dir, Preseed{Service: "sonarr", Status: StatusSkipped, Finished: time.Unix(1, 0), Pool: "tank", PoolHealth: health}); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := ReadGauge(PreseedFile(dir, "sonarr"), "nixgen_preseed_pool_degraded"); err != nil || !ok || v != want {
			t.Errorf("%s: nixgen_preseed_pool_degraded = %v (present %v, %v), want %v", health, v, ok, err, want)
		}
	}
	// Health not read (the lock was refused): no series.
	if err := WritePreseed(dir, Preseed{Service: "sonarr", Status: StatusFailed, Finished: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ReadGauge(PreseedFile(dir, "sonarr"), "nixgen_preseed_pool_degraded"); ok {
		t.Error("a pool series without a health reading")
	}
}
