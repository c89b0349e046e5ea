// Package metrics writes nixgen's Prometheus metrics as node-exporter
// textfiles. Each writer owns one file (one per service for preseed) so that
// concurrent units never overwrite each other's metrics, and every write goes
// through prometheus.WriteToTextfile, which writes a temporary file and
// renames it, so the exporter never reads half a file.
package metrics

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nixgen/nixgen/internal/safefs"
)

// DefaultTextfileDir is where NixOS's node exporter textfile collector looks
// by default in nixgen's generated configuration.
const DefaultTextfileDir = "/var/lib/prometheus-node-exporter-text"

// Preseed status values of nixgen_preseed_status.
const (
	StatusFailed     = 0 // all methods failed and on_failure = "block"
	StatusRestored   = 1
	StatusSkipped    = 2 // already marked complete
	StatusAdopted    = 3 // existing unmarked data was adopted
	StatusStartEmpty = 4 // all methods failed, on_failure = "start-empty"
)

// Preseed is the outcome of one preseed run.
type Preseed struct {
	Service  string
	Method   string // the method that restored, or "none"
	Status   int    // one of the Status* constants
	Duration time.Duration
	Finished time.Time
	// Pool and PoolHealth ("ONLINE", "DEGRADED", ...) give
	// nixgen_preseed_pool_degraded; no such series when PoolHealth is "".
	Pool       string
	PoolHealth string
}

// PreseedFile is the textfile name for a service's preseed metrics.
func PreseedFile(dir, service string) string {
	return filepath.Join(dir, "nixgen_preseed_"+service+".prom")
}

// WritePreseed replaces the service's preseed textfile with p. The file is
// written under a new temporary name (O_EXCL) and renamed into place, so a
// symlink planted under its name is replaced, never followed; a service
// name that is not a single file name is refused.
func WritePreseed(dir string, p Preseed) error {
	if err := safefs.CheckName(p.Service); err != nil {
		return fmt.Errorf("writing preseed metrics: service name: %w", err)
	}
	labels := []string{"service", "method"}
	status := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nixgen_preseed_status",
		Help: "Outcome of the last preseed: 0 failed (blocked), 1 restored, 2 skipped (already complete), 3 adopted existing data, 4 started empty after all methods failed.",
	}, labels)
	duration := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nixgen_preseed_last_duration_seconds",
		Help: "Wall time of the last preseed run.",
	}, labels)
	completion := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nixgen_preseed_last_completion_timestamp_seconds",
		Help: "Unix time at which the last preseed run finished.",
	}, labels)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(status, duration, completion)
	if p.PoolHealth != "" {
		degraded := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nixgen_preseed_pool_degraded",
			Help: "1 when the pool of the service's dataset was not ONLINE at the last preseed (a restore is refused; complete data still starts), else 0.",
		}, []string{"service", "pool"})
		v := 0.0
		if p.PoolHealth != "ONLINE" {
			v = 1
		}
		degraded.WithLabelValues(p.Service, p.Pool).Set(v)
		reg.MustRegister(degraded)
	}
	method := p.Method
	if method == "" {
		method = "none"
	}
	status.WithLabelValues(p.Service, method).Set(float64(p.Status))
	duration.WithLabelValues(p.Service, method).Set(p.Duration.Seconds())
	completion.WithLabelValues(p.Service, method).Set(float64(p.Finished.UnixNano()) / 1e9)
	if err := prometheus.WriteToTextfile(PreseedFile(dir, p.Service), reg); err != nil {
		return fmt.Errorf("writing preseed metrics: %w", err)
	}
	return nil
}
