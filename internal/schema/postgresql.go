package schema

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/rules"
)

// Defaults of pgbackrest_repository and postgresql.pitr.
const (
	DefaultPgRepoType        = "posix"
	DefaultRetentionFull     = 2
	DefaultFullSchedule      = "Sun *-*-* 03:00:00"
	DefaultDiffSchedule      = "Mon..Sat *-*-* 03:00:00"
	DefaultArchiveTimeout    = 5 * time.Minute
	DefaultPgBackupTimeout   = 12 * time.Hour
	DefaultPgDrillSchedule   = "weekly"
	DefaultPgDrillTimeout    = 12 * time.Hour
	maxArchiveTimeoutSeconds = 1<<30 - 1 // PostgreSQL's limit for archive_timeout
)

// PgRepoTypes are the pgBackRest repository types nixgen renders.
var PgRepoTypes = []string{"posix", "s3", "sftp"}

func resolvePgRepo(c *checker, r *rawPgRepo) *model.PgRepository {
	out := &model.PgRepository{
		Name: r.Name, Type: DefaultPgRepoType, Path: r.Path, RetentionFull: DefaultRetentionFull,
		CipherPassFile:  optPath(c, r.CipherPassFile, r.CipherPassFileRange, "cipher_pass_file"),
		EnvironmentFile: optPath(c, r.EnvironmentFile, r.EnvironmentFileRange, "environment_file"),
		S3Bucket:        r.S3Bucket, S3Endpoint: r.S3Endpoint, S3Region: r.S3Region,
		SFTPHost: r.SFTPHost, SFTPHostUser: r.SFTPHostUser,
		SFTPPrivateKeyFile: optPath(c, r.SFTPPrivateKeyFile, r.SFTPPrivateKeyFileRange, "sftp_private_key_file"),
		DrillSchedule:      calendar(c, r.DrillSchedule, r.DrillScheduleRange, DefaultPgDrillSchedule),
		DrillTimeout:       c.timeout(r.DrillTimeout, r.DrillTimeoutRange, DefaultPgDrillTimeout),
	}
	if set(r.TypeRange) {
		out.Type = r.Type
		if c.nonEmpty(r.Type, r.TypeRange, "repository type") && !slices.Contains(PgRepoTypes, r.Type) {
			c.errorf(r.TypeRange, "Invalid repository type", "%q is not a pgBackRest repository type nixgen supports: use %s.%s", r.Type, quoteList(PgRepoTypes), suggest(r.Type, PgRepoTypes))
		}
	}
	// pgBackRest requires an absolute repo path for every type (for s3 and
	// sftp it is the path in the bucket or on the server).
	c.absPath(r.Path, r.PathRange, "repository path")
	if set(r.RetentionFullRange) {
		out.RetentionFull = r.RetentionFull
		if r.RetentionFull < 1 {
			c.errorf(r.RetentionFullRange, "Invalid retention_full", "retention_full must be at least 1: pgBackRest expires every full backup beyond it, and the WAL archive with them.")
		}
	}
	// The files reach systemd units (Environment=, EnvironmentFile=) and
	// the helper; never the store.
	for _, f := range []struct {
		v    string
		rng  hcl.Range
		what string
	}{{out.CipherPassFile, r.CipherPassFileRange, "cipher_pass_file"}, {out.EnvironmentFile, r.EnvironmentFileRange, "environment_file"}, {out.SFTPPrivateKeyFile, r.SFTPPrivateKeyFileRange, "sftp_private_key_file"}} {
		if f.v != "" {
			c.unitPath(f.v, f.rng, f.what)
		}
	}
	// Settings of one type are an error on another: they would be ignored.
	typeAttrs := map[string][]struct {
		v    string
		rng  hcl.Range
		name string
	}{
		"s3":   {{r.S3Bucket, r.S3BucketRange, "s3_bucket"}, {r.S3Endpoint, r.S3EndpointRange, "s3_endpoint"}, {r.S3Region, r.S3RegionRange, "s3_region"}},
		"sftp": {{r.SFTPHost, r.SFTPHostRange, "sftp_host"}, {r.SFTPHostUser, r.SFTPHostUserRange, "sftp_host_user"}, {r.SFTPPrivateKeyFile, r.SFTPPrivateKeyFileRange, "sftp_private_key_file"}},
	}
	for typ, attrs := range typeAttrs {
		for _, a := range attrs {
			switch {
			case typ == out.Type && !set(a.rng):
				c.errorf(r.DefRange, "Missing argument", "A pgbackrest_repository of type %q needs %s.", typ, a.name)
			case typ == out.Type:
				if c.text(a.v, a.rng, a.name) && c.nonEmpty(a.v, a.rng, a.name) && a.name != "sftp_private_key_file" {
					if msg := rules.ShellWord(a.v); msg != "" {
						c.errorf(a.rng, "Invalid "+a.name, "The %s %q %s.", a.name, a.v, msg)
					}
				}
			case set(a.rng):
				c.errorf(a.rng, "Setting of another repository type", "%s applies to repositories of type %q; this one is %q.", a.name, typ, out.Type)
			}
		}
	}
	return out
}

// resolvePostgreSQL reads a service's postgresql block; data_dir is
// checked against the mountpoint per host (checkPostgreSQL).
func resolvePostgreSQL(c *checker, p *rawPostgreSQL, pgRepos map[string]*rawPgRepo) *model.PostgreSQL {
	out := &model.PostgreSQL{}
	if set(p.DataDirRange) && c.absPath(p.DataDir, p.DataDirRange, "data_dir") {
		out.DataDir = p.DataDir
	}
	if t := p.PITR; t != nil {
		ref(c, pgRepos, t.Repository, t.RepositoryRange, "pgbackrest_repository")
		out.PITR = &model.PITR{
			Repository:     t.Repository,
			FullSchedule:   calendar(c, t.FullSchedule, t.FullScheduleRange, DefaultFullSchedule),
			DiffSchedule:   calendar(c, t.DiffSchedule, t.DiffScheduleRange, DefaultDiffSchedule),
			ArchiveTimeout: c.timeout(t.ArchiveTimeout, t.ArchiveTimeoutRange, DefaultArchiveTimeout),
			Timeout:        c.timeout(t.Timeout, t.TimeoutRange, DefaultPgBackupTimeout),
		}
		if out.PITR.ArchiveTimeout > maxArchiveTimeoutSeconds*time.Second {
			c.errorf(t.ArchiveTimeoutRange, "Invalid archive_timeout", "PostgreSQL accepts at most %d seconds.", maxArchiveTimeoutSeconds)
		}
	}
	return out
}

// checkPostgreSQL applies the per-host rules of a service's postgresql
// block once its mountpoint is known: the data directory lies inside the
// dataset; restic leaves it to pgBackRest; a host writes one repo1.
func checkPostgreSQL(c *checker, h string, t *serviceTmpl, svc *model.Service, mpOK bool) {
	pg := svc.PostgreSQL
	if pg == nil {
		return
	}
	raw := t.raw.PostgreSQL
	if pg.DataDir == "" {
		pg.DataDir = svc.Mountpoint
	} else if mpOK && !within(pg.DataDir, svc.Mountpoint, "/") {
		c.errorf(raw.DataDirRange, "Data directory outside the dataset", "On host %q, data_dir %q is not inside the service's mountpoint %q; the dataset, its snapshots and its preseed hold only what is below it.", h, pg.DataDir, svc.Mountpoint)
	}
	// The archive and backup units order themselves against the cluster's
	// own systemd.services entry, which a container, template instance or
	// other unit type does not have.
	if pg.PITR != nil && (!strings.HasSuffix(svc.Unit, ".service") || strings.Contains(svc.Unit, "@")) {
		rng := raw.PITR.DefRange
		if set(t.raw.UnitRange) {
			rng = t.raw.UnitRange
		}
		what := fmt.Sprintf("unit %q", svc.Unit)
		if svc.Container != "" {
			what = fmt.Sprintf("container %q", svc.Container)
		}
		c.errorf(rng, "PITR needs a plain service", "On host %q, service %q runs as %s; pitr needs a plain .service unit (not a container, a template instance or another unit type): its backup and archive units are ordered against the PostgreSQL service.", h, svc.Name, what)
	}
	if pg.PITR == nil || svc.Backup == nil || !mpOK {
		return
	}
	warned := false
	for i, p := range svc.Backup.Paths {
		rng := t.raw.Backup.DefRange
		if i < len(t.pathRanges) {
			rng = t.pathRanges[i]
		}
		switch {
		case within(p, pg.DataDir, "/"):
			c.errorf(rng, "Backup path inside the data directory", "On host %q, %q is inside the PostgreSQL data directory %q, which pgBackRest backs up with pitr (restic's copy of a running cluster is not consistent); remove the path.", h, p, pg.DataDir)
		case within(pg.DataDir, p, "/") && !warned:
			warned = true
			c.warnf(rng, "Data directory left to pgBackRest", "On host %q the backup of service %q covers the PostgreSQL data directory %q; with pitr, pgBackRest backs it up (restic's copy of a running cluster is not consistent), so restic excludes it.", h, svc.Name, pg.DataDir)
		}
	}
}

// checkOnePgRepo reports a host whose PITR services use two pgBackRest
// repositories: NixOS writes services.pgbackrest.repos into the global
// section, where every stanza of the host would archive to all of them.
func checkOnePgRepo(c *checker, h *model.Host, tmpls map[string]*serviceTmpl) {
	first := map[string]string{} // repository -> service
	var names []string
	for _, s := range h.Services {
		if s.PostgreSQL == nil || s.PostgreSQL.PITR == nil {
			continue
		}
		r := s.PostgreSQL.PITR.Repository
		if _, ok := first[r]; !ok {
			first[r] = s.Name
			names = append(names, r)
		}
		if len(names) > 1 && r != names[0] {
			c.errorf(tmpls[s.Name].raw.PostgreSQL.PITR.RepositoryRange, "Two pgBackRest repositories on one host", "On host %q, service %q archives to %q while %q archives to %q; pgBackRest's repositories are global on a host, so its services must share one.", h.Name, s.Name, r, first[names[0]], names[0])
			return
		}
	}
}
