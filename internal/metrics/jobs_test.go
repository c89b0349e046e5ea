package metrics

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
)

func TestWriteJobEveryKind(t *testing.T) {
	dir := t.TempDir()
	at := time.Unix(1700000000, 0)
	for kind, prefix := range jobPrefixes {
		unit := "unit-" + kind + ".service"
		j := Job{Kind: kind, Host: "h", Unit: unit, Service: "svc", Repository: "repo", Success: true, Finished: at, Duration: 90 * time.Second}
		if err := WriteJob(dir, j); err != nil {
			t.Fatal(err)
		}
		path := JobFile(dir, unit)
		for name, want := range map[string]float64{
			"_status": 1, "_last_run_timestamp_seconds": 1700000000,
			"_last_success_timestamp_seconds": 1700000000, "_duration_seconds": 90,
		} {
			v, ok, err := ReadGauge(path, prefix+name)
			if err != nil || !ok || v != want {
				t.Errorf("%s: %s%s = %v, %v, %v; want %v", kind, prefix, name, v, ok, err, want)
			}
		}
		b, _ := os.ReadFile(path)
		if got := strings.Contains(string(b), `service="svc"`); got != (kind == manifest.JobBackup || kind == manifest.JobReplication || kind == manifest.JobPgBackup || kind == manifest.JobPgDrill) {
			t.Errorf("%s: service label present = %v:\n%s", kind, got, b)
		}
	}
}

func TestWriteJobFailureAfterUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	unit := "syncoid-app.service"
	if err := os.WriteFile(JobFile(dir, unit), []byte("this is { not a textfile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j := Job{Kind: manifest.JobReplication, Host: "h", Unit: unit, Service: "app", Finished: time.Unix(1700000000, 0)}
	if err := WriteJob(dir, j); err != nil {
		t.Fatalf("a corrupt previous file stopped the failure being recorded: %v", err)
	}
	path := JobFile(dir, unit)
	if v, ok, err := ReadGauge(path, "nixgen_replication_status"); err != nil || !ok || v != 0 {
		t.Errorf("status %v %v %v", v, ok, err)
	}
	if _, ok, _ := ReadGauge(path, "nixgen_replication_last_success_timestamp_seconds"); ok {
		t.Error("a last success was invented")
	}
	if _, ok, _ := ReadGauge(path, "nixgen_replication_duration_seconds"); ok {
		t.Error("an unknown duration was written")
	}
}

func TestWriteJobRejects(t *testing.T) {
	dir := t.TempDir()
	for _, j := range []Job{
		{Kind: "nope", Unit: "x.service"},
		{Kind: manifest.JobBackup, Unit: "../x.service"},
		{Kind: manifest.JobBackup, Unit: ""},
	} {
		if err := WriteJob(dir, j); err == nil {
			t.Errorf("%+v accepted", j)
		}
	}
}
