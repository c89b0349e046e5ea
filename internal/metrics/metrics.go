// Package metrics writes nixgen's Prometheus metrics as node-exporter
// textfiles. Each writer owns one file (one per service for preseed) so that
// concurrent units never overwrite each other's metrics, and every write
// goes to a temporary file that is then renamed, so the exporter never reads
// half a file.
package metrics

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/safefs"
)

// DefaultTextfileDir is where the generated node exporter configuration
// collects textfiles from.
const DefaultTextfileDir = hostfacts.TextfileDir

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
	method := p.Method
	if method == "" {
		method = "none"
	}
	labels := [][2]string{{"service", p.Service}, {"method", method}}
	gauges := []Gauge{
		{"nixgen_preseed_status", "Outcome of the last preseed: 0 failed (blocked), 1 restored, 2 skipped (already complete), 3 adopted existing data, 4 started empty after all methods failed.", labels, float64(p.Status)},
		{"nixgen_preseed_last_duration_seconds", "Wall time of the last preseed run.", labels, p.Duration.Seconds()},
		{"nixgen_preseed_last_completion_timestamp_seconds", "Unix time at which the last preseed run finished.", labels, float64(p.Finished.UnixNano()) / 1e9},
	}
	if p.PoolHealth != "" {
		v := 0.0
		if p.PoolHealth != "ONLINE" {
			v = 1
		}
		gauges = append(gauges, Gauge{"nixgen_preseed_pool_degraded", "1 when the pool of the service's dataset was not ONLINE at the last preseed (a restore is refused; complete data still starts), else 0.", [][2]string{{"service", p.Service}, {"pool", p.Pool}}, v})
	}
	if err := WriteTextfile(PreseedFile(dir, p.Service), gauges); err != nil {
		return fmt.Errorf("writing preseed metrics: %w", err)
	}
	return nil
}
