package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/safefs"
)

// Job is the result of one run of a generated unit (backup, prune, check,
// restore drill, sanoid, syncoid), as `nixgen-helper notify` records it.
type Job struct {
	Kind       string // a manifest.Job* kind
	Host       string
	Unit       string
	Service    string // for backup and replication
	Repository string // for backup, prune, check and drill
	Success    bool
	Finished   time.Time
	Duration   time.Duration // 0: unknown, the metric is left out
}

// jobPrefixes maps a job kind to its metric name prefix.
var jobPrefixes = map[string]string{
	manifest.JobBackup:      "nixgen_backup",
	manifest.JobPrune:       "nixgen_restic_prune",
	manifest.JobCheck:       "nixgen_restic_check",
	manifest.JobDrill:       "nixgen_restore_drill",
	manifest.JobSnapshot:    "nixgen_snapshot",
	manifest.JobReplication: "nixgen_replication",
	manifest.JobPgBackup:    "nixgen_pgbackrest_backup",
	manifest.JobPgDrill:     "nixgen_pgbackrest_drill",
}

// JobPrefix returns the metric name prefix of a job kind.
func JobPrefix(kind string) (string, error) {
	p, ok := jobPrefixes[kind]
	if !ok {
		return "", fmt.Errorf("unknown job kind %q", kind)
	}
	return p, nil
}

// jobLabels are the label names of a kind's metrics. They depend on the kind
// only, never on the job: node exporter refuses one metric family with
// different label names across textfiles.
func jobLabels(kind string) []string {
	l := []string{"host", "unit"}
	switch kind {
	case manifest.JobBackup, manifest.JobPgBackup, manifest.JobPgDrill:
		l = append(l, "service", "repository")
	case manifest.JobReplication:
		l = append(l, "service")
	case manifest.JobPrune, manifest.JobCheck, manifest.JobDrill:
		l = append(l, "repository")
	}
	return l
}

// JobFile is the textfile of one unit's metrics. Unit names never contain
// "/" (systemd forbids it) and the caller checks that.
func JobFile(dir, unit string) string {
	return filepath.Join(dir, "nixgen_job_"+unit+".prom")
}

// WriteJob replaces the unit's textfile with j. The last success timestamp
// of a failed run is carried over from the file it replaces, so a failure
// never makes an old success look recent, nor erases it.
func WriteJob(dir string, j Job) error {
	prefix, err := JobPrefix(j.Kind)
	if err != nil {
		return err
	}
	if safefs.CheckName(j.Unit) != nil || strings.HasPrefix(j.Unit, ".") {
		return fmt.Errorf("unit name %q cannot name a metrics file", j.Unit)
	}
	path := JobFile(dir, j.Unit)
	finished := float64(j.Finished.UnixNano()) / 1e9
	lastSuccess, haveLast := finished, j.Success
	if !j.Success {
		// An unreadable previous file must not stop the failure being recorded.
		lastSuccess, haveLast, _ = ReadGauge(path, prefix+"_last_success_timestamp_seconds")
	}

	values := map[string]string{"host": j.Host, "unit": j.Unit, "service": j.Service, "repository": j.Repository}
	var labels [][2]string
	for _, n := range jobLabels(j.Kind) {
		labels = append(labels, [2]string{n, values[n]})
	}
	var gauges []Gauge
	add := func(name, help string, v float64) {
		gauges = append(gauges, Gauge{Name: prefix + "_" + name, Help: help, Labels: labels, Value: v})
	}
	status := 0.0
	if j.Success {
		status = 1
	}
	add("status", "Result of the last run: 1 success, 0 failure.", status)
	add("last_run_timestamp_seconds", "Unix time at which the last run was reported.", finished)
	if haveLast {
		add("last_success_timestamp_seconds", "Unix time of the last successful run; kept across failed runs.", lastSuccess)
	}
	if j.Duration > 0 {
		add("duration_seconds", "Run time of the last run's main process.", j.Duration.Seconds())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing job metrics: %w", err)
	}
	if err := WriteTextfile(path, gauges); err != nil {
		return fmt.Errorf("writing job metrics: %w", err)
	}
	return nil
}
