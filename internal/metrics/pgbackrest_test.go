package metrics

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestWritePgBackRest(t *testing.T) {
	dir := t.TempDir()
	stop := time.Unix(1700000000, 0)
	p := PgBackRest{Service: "pg", Backups: map[string]PgBackup{"full": {Stop: stop, Size: 100, RepoSize: 40}, "diff": {Stop: stop.Add(time.Hour), Size: 120, RepoSize: 5}},
		Archiver: &PgArchiver{ArchivedCount: 7, FailedCount: 2, LastArchived: stop, LastFailed: time.Time{}}}
	if err := WritePgBackRest(dir, p); err != nil {
		t.Fatal(err)
	}
	path := PgBackRestFile(dir, "pg")
	for name, want := range map[string]float64{
		"nixgen_pgbackrest_archive_failed_count":                    2,
		"nixgen_pgbackrest_archived_count":                          7,
		"nixgen_pgbackrest_archive_last_failed_timestamp_seconds":   0,
		"nixgen_pgbackrest_archive_last_archived_timestamp_seconds": 1700000000,
	} {
		if v, ok, err := ReadGauge(path, name); err != nil || !ok || v != want {
			t.Errorf("%s = %v, %v, %v; want %v", name, v, ok, err, want)
		}
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{
		`nixgen_pgbackrest_last_backup_timestamp_seconds{service="pg",type="diff"} 1.7000036e+09`,
		`nixgen_pgbackrest_last_backup_size_bytes{service="pg",type="full"} 100`,
		`nixgen_pgbackrest_last_backup_repository_size_bytes{service="pg",type="diff"} 5`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
	// Without the server, the archive metrics are left out, not zero.
	p.Archiver = nil
	if err := WritePgBackRest(dir, p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "archive_failed") {
		t.Errorf("archive metrics without a server:\n%s", b)
	}
	if err := WritePgBackRest(dir, PgBackRest{Service: "../x"}); err == nil {
		t.Error("a service name with a slash was accepted")
	}
}
