package pitr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/pgbackrest"
	"github.com/nixgen/nixgen/internal/restic"
)

// MetricsOptions say where to find pgbackrest and the running server.
type MetricsOptions struct {
	PgBackRest string // default "pgbackrest"
	Psql       string // default "psql"
	Socket     string // the server's unix socket directory; default "/run/postgresql"
	Port       int    // default 5432
	Grace      time.Duration
}

// Collect reads the stanza's newest backup of each type from `pgbackrest
// info` and the archiver's counters from pg_stat_archiver. A server that
// does not answer leaves Archiver nil and is returned as warn; a
// repository that does not answer is an error.
func Collect(ctx context.Context, st *pgbackrest.Stanza, o MetricsOptions) (p metrics.PgBackRest, warn, err error) {
	if o.PgBackRest == "" {
		o.PgBackRest = "pgbackrest"
	}
	if o.Psql == "" {
		o.Psql = "psql"
	}
	if o.Socket == "" {
		o.Socket = "/run/postgresql"
	}
	if o.Port == 0 {
		o.Port = 5432
	}
	p = metrics.PgBackRest{Service: st.Name, Backups: map[string]metrics.PgBackup{}}
	r, err := st.Runner(o.PgBackRest, st.DataDir, o.Grace)
	if err != nil {
		return p, nil, err
	}
	out, err := r.Output(ctx, "info", "--output=json")
	if err != nil {
		return p, nil, err
	}
	info, err := pgbackrest.ParseInfo(out)
	if err != nil {
		return p, nil, err
	}
	for _, b := range info.Backups { // oldest first: the newest of a type wins
		p.Backups[b.Type] = metrics.PgBackup{Stop: b.Stop, Size: b.Size, RepoSize: b.Repo}
	}
	psql := &restic.Runner{Command: st.AsOwner(o.Psql), Env: r.Env, Grace: o.Grace}
	q, err := psql.Output(ctx, "-X", "-h", o.Socket, "-p", strconv.Itoa(o.Port), "-d", "postgres", "-qAt", "-F", " ", "-c",
		"SELECT archived_count, failed_count, coalesce(extract(epoch FROM last_archived_time), 0), coalesce(extract(epoch FROM last_failed_time), 0) FROM pg_stat_archiver")
	if err != nil {
		return p, fmt.Errorf("pg_stat_archiver: %w", err), nil
	}
	f := strings.Fields(string(q))
	if len(f) != 4 {
		return p, nil, fmt.Errorf("pg_stat_archiver: unexpected output %q", q)
	}
	var n [4]float64
	for i, s := range f {
		if n[i], err = strconv.ParseFloat(s, 64); err != nil {
			return p, nil, fmt.Errorf("pg_stat_archiver: %q: %w", s, err)
		}
	}
	a := &metrics.PgArchiver{ArchivedCount: int64(n[0]), FailedCount: int64(n[1])}
	if n[2] > 0 {
		a.LastArchived = time.Unix(0, int64(n[2]*1e9))
	}
	if n[3] > 0 {
		a.LastFailed = time.Unix(0, int64(n[3]*1e9))
	}
	p.Archiver = a
	return p, nil, nil
}
