package metrics

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nixgen/nixgen/internal/safefs"
)

// PgBackRest is the state of one service's stanza and WAL archive.
type PgBackRest struct {
	Service string
	// Backups by type ("full", "diff", "incr"): the newest of each.
	Backups map[string]PgBackup
	// Archiver is PostgreSQL's pg_stat_archiver; nil when the server could
	// not be asked (not running), and the archive metrics are left out.
	Archiver *PgArchiver
}

// PgBackup is the newest backup of one type.
type PgBackup struct {
	Stop     time.Time
	Size     int64 // database size
	RepoSize int64 // size in the repository
}

// PgArchiver is the part of pg_stat_archiver that alerts need.
type PgArchiver struct {
	ArchivedCount, FailedCount int64
	LastArchived, LastFailed   time.Time // zero: never
}

// PgBackRestFile is the textfile of a service's stanza metrics.
func PgBackRestFile(dir, service string) string {
	return filepath.Join(dir, "nixgen_pgbackrest_"+service+".prom")
}

// WritePgBackRest replaces the service's stanza textfile with p.
func WritePgBackRest(dir string, p PgBackRest) error {
	if err := safefs.CheckName(p.Service); err != nil {
		return fmt.Errorf("writing pgbackrest metrics: service name: %w", err)
	}
	const (
		lastHelp = "Unix time at which the newest backup of this type finished."
		sizeHelp = "Database size in the newest backup of this type."
		repoHelp = "Size in the repository of the newest backup of this type."
	)
	var gauges []Gauge
	for typ, b := range p.Backups {
		l := [][2]string{{"service", p.Service}, {"type", typ}}
		gauges = append(gauges,
			Gauge{"nixgen_pgbackrest_last_backup_timestamp_seconds", lastHelp, l, float64(b.Stop.Unix())},
			Gauge{"nixgen_pgbackrest_last_backup_size_bytes", sizeHelp, l, float64(b.Size)},
			Gauge{"nixgen_pgbackrest_last_backup_repository_size_bytes", repoHelp, l, float64(b.RepoSize)})
	}
	if a := p.Archiver; a != nil {
		l := [][2]string{{"service", p.Service}}
		gauges = append(gauges,
			Gauge{"nixgen_pgbackrest_archived_count", "WAL segments PostgreSQL archived since its statistics were reset (pg_stat_archiver).", l, float64(a.ArchivedCount)},
			Gauge{"nixgen_pgbackrest_archive_failed_count", "Failed archive_command runs since the statistics were reset (pg_stat_archiver).", l, float64(a.FailedCount)},
			Gauge{"nixgen_pgbackrest_archive_last_archived_timestamp_seconds", "Unix time of the last archived WAL segment; 0: none.", l, unixOrZero(a.LastArchived)},
			Gauge{"nixgen_pgbackrest_archive_last_failed_timestamp_seconds", "Unix time of the last failed archive_command; 0: none.", l, unixOrZero(a.LastFailed)})
	}
	if err := WriteTextfile(PgBackRestFile(dir, p.Service), gauges); err != nil {
		return fmt.Errorf("writing pgbackrest metrics: %w", err)
	}
	return nil
}

func unixOrZero(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
