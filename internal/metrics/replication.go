package metrics

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nixgen/nixgen/internal/safefs"
)

// ReplicationLag is how far a service's replica is behind, as the sender
// sees it after a syncoid run.
type ReplicationLag struct {
	Host, Service string
	// Newest is the creation time of the newest snapshot the target has;
	// zero after a failed run, when WriteReplicationLag keeps the one the
	// file already holds.
	Newest time.Time
	Now    time.Time
}

// ReplicationFile is the textfile of a service's replication lag.
func ReplicationFile(dir, service string) string {
	return filepath.Join(dir, "nixgen_replication_"+service+".prom")
}

// WriteReplicationLag replaces the service's replication textfile:
// nixgen_replication_last_snapshot_timestamp_seconds (the newest snapshot
// the target has; alert on time() minus it, which keeps growing when
// replication stops running) and nixgen_replication_lag_seconds (its age
// when the last run ended). With l.Newest zero the timestamp is carried
// over from the file; if there is none, nothing is known and the file is
// left as it is. l.Newest is set to what was written.
func WriteReplicationLag(dir string, l *ReplicationLag) error {
	if err := safefs.CheckName(l.Service); err != nil {
		return fmt.Errorf("writing replication metrics: service name: %w", err)
	}
	path := ReplicationFile(dir, l.Service)
	const tsName = "nixgen_replication_last_snapshot_timestamp_seconds"
	if l.Newest.IsZero() {
		v, ok, _ := ReadGauge(path, tsName)
		if !ok {
			return nil
		}
		l.Newest = time.Unix(0, int64(v*1e9))
	}
	labels := []string{"host", "service"}
	ts := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: tsName,
		Help: "Creation time of the newest snapshot that the replication target has (the last successful syncoid run's own snapshot).",
	}, labels)
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nixgen_replication_lag_seconds",
		Help: "Age of the newest snapshot that the replication target has, when the last syncoid run ended.",
	}, labels)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ts, lag)
	ts.WithLabelValues(l.Host, l.Service).Set(float64(l.Newest.UnixNano()) / 1e9)
	lag.WithLabelValues(l.Host, l.Service).Set(l.Now.Sub(l.Newest).Seconds())
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("writing replication metrics: %w", err)
	}
	return nil
}
