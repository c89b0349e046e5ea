package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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
	case manifest.JobBackup:
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

	names := jobLabels(j.Kind)
	values := map[string]string{"host": j.Host, "unit": j.Unit, "service": j.Service, "repository": j.Repository}
	lv := make([]string, len(names))
	for i, n := range names {
		lv[i] = values[n]
	}
	reg := prometheus.NewPedanticRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + "_" + name, Help: help}, names)
		reg.MustRegister(g)
		g.WithLabelValues(lv...).Set(v)
	}
	status := 0.0
	if j.Success {
		status = 1
	}
	gauge("status", "Result of the last run: 1 success, 0 failure.", status)
	gauge("last_run_timestamp_seconds", "Unix time at which the last run was reported.", finished)
	if haveLast {
		gauge("last_success_timestamp_seconds", "Unix time of the last successful run; kept across failed runs.", lastSuccess)
	}
	if j.Duration > 0 {
		gauge("duration_seconds", "Run time of the last run's main process.", j.Duration.Seconds())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing job metrics: %w", err)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("writing job metrics: %w", err)
	}
	return nil
}

// ReadGauge parses a textfile and returns the value of the first sample of
// the named gauge; ok is false when the file or the metric is missing.
func ReadGauge(path, name string) (v float64, ok bool, err error) {
	fams, err := ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	fam := fams[name]
	if fam == nil || len(fam.Metric) == 0 || fam.Metric[0].Gauge == nil {
		return 0, false, nil
	}
	return fam.Metric[0].Gauge.GetValue(), true, nil
}

// ReadFile parses a textfile the way the node exporter does.
func ReadFile(path string) (map[string]*dto.MetricFamily, error) {
	// Not through a symlink: the file is ours, and whatever a link points
	// at is not a metrics file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fams, nil
}
