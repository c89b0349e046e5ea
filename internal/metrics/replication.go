package metrics

import (
	"fmt"
	"path/filepath"
	"time"

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
// left as it is. lag.Newest is set to what was written.
func WriteReplicationLag(dir string, lag *ReplicationLag) error {
	if err := safefs.CheckName(lag.Service); err != nil {
		return fmt.Errorf("writing replication metrics: service name: %w", err)
	}
	path := ReplicationFile(dir, lag.Service)
	const tsName = "nixgen_replication_last_snapshot_timestamp_seconds"
	if lag.Newest.IsZero() {
		v, ok, _ := ReadGauge(path, tsName)
		if !ok {
			return nil
		}
		lag.Newest = time.Unix(0, int64(v*1e9))
	}
	l := [][2]string{{"host", lag.Host}, {"service", lag.Service}}
	gauges := []Gauge{
		{tsName, "Creation time of the newest snapshot that the replication target has (the last successful syncoid run's own snapshot).", l, float64(lag.Newest.UnixNano()) / 1e9},
		{"nixgen_replication_lag_seconds", "Age of the newest snapshot that the replication target has, when the last syncoid run ended.", l, lag.Now.Sub(lag.Newest).Seconds()},
	}
	if err := WriteTextfile(path, gauges); err != nil {
		return fmt.Errorf("writing replication metrics: %w", err)
	}
	return nil
}
