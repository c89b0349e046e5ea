package emit

import (
	"fmt"
	"strings"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
)

// pgView is what service.nix.tmpl needs of a PostgreSQL service with pitr:
// nixpkgs' services.postgresql and services.pgbackrest options
// (nixos/modules/services/databases/postgresql.nix,
// nixos/modules/services/backup/pgbackrest.nix).
type pgView struct {
	DataDir string
	PITR    bool

	Stanza  string
	Repo    *model.PgRepository
	Cipher  bool   // the repository is encrypted: pgbackrest runs through a wrapper
	MainSvc string // attribute under systemd.services of the PostgreSQL unit

	User, Group       string
	ArchiveTimeoutSec int64
	FullSchedule      string
	DiffSchedule      string
	JobTimeoutSec     int64

	Jobs            []pgJob
	StanzaUnit      string // attribute name under systemd.services
	StanzaService   string // StanzaUnit with its suffix
	DrillUnit       string
	MetricsUnit     string
	DrillSchedule   string
	DrillTimeout    string // the helper's --timeout, systemd-quoted
	DrillTimeoutSec int64  // the unit's: drillMargin later
	Service         string // the service name, systemd-quoted for an Exec line
}

// pgJob is one scheduled backup of a stanza: the unit NixOS creates for
// services.pgbackrest.stanzas.<stanza>.jobs.<type>.
type pgJob struct{ Unit, Type string }

// Unit names of the pgBackRest jobs. NixOS's module names a job's unit
// "pgbackrest-<stanza>-<job>"; the stanza is the service's name.
func pgJobUnit(svc, job string) string { return "pgbackrest-" + svc + "-" + job }
func pgStanzaUnit(svc string) string   { return "nixgen-pgbackrest-stanza-" + svc }
func pgDrillUnit(svc string) string    { return "nixgen-pgdrill-" + svc }

func pgViewFor(spec *model.Spec, s *model.Service) (*pgView, error) {
	pg := s.PostgreSQL
	v := &pgView{DataDir: pg.DataDir, Stanza: s.Name, User: s.User, Group: s.Group}
	t := pg.PITR
	if t == nil {
		return v, nil
	}
	v.PITR = true
	if v.Repo = spec.PgRepository(t.Repository); v.Repo == nil {
		return nil, fmt.Errorf("pgbackrest repository %q is not declared", t.Repository)
	}
	if !strings.HasSuffix(s.Unit, ".service") || strings.Contains(s.Unit, "@") {
		return nil, fmt.Errorf("a postgresql service needs a plain .service unit, not %q", s.Unit)
	}
	if t.Timeout < 1e9 || t.ArchiveTimeout < 1e9 {
		return nil, fmt.Errorf("pitr timeouts must be at least one second")
	}
	for _, p := range []string{v.Repo.CipherPassFile, v.Repo.EnvironmentFile, v.Repo.SFTPPrivateKeyFile} {
		if strings.IndexByte(p, '%') >= 0 {
			return nil, fmt.Errorf("pgbackrest repository %q: path %q contains %%, which systemd would expand as a specifier", v.Repo.Name, p)
		}
	}
	v.Cipher = v.Repo.CipherPassFile != ""
	v.MainSvc = strings.TrimSuffix(s.Unit, ".service")
	v.ArchiveTimeoutSec = seconds(t.ArchiveTimeout)
	v.JobTimeoutSec = seconds(t.Timeout)
	v.FullSchedule, v.DiffSchedule = t.FullSchedule, t.DiffSchedule
	v.Jobs = []pgJob{{pgJobUnit(s.Name, "full"), "full"}}
	if t.DiffSchedule != "" {
		v.Jobs = append(v.Jobs, pgJob{pgJobUnit(s.Name, "diff"), "diff"})
	}
	v.StanzaUnit = pgStanzaUnit(s.Name)
	v.StanzaService = v.StanzaUnit + ".service"
	if v.Repo.DrillTimeout < 1e9 {
		return nil, fmt.Errorf("pgbackrest repository %q: drill timeout must be at least one second", v.Repo.Name)
	}
	v.DrillUnit, v.DrillSchedule = pgDrillUnit(s.Name), v.Repo.DrillSchedule
	v.MetricsUnit = "nixgen-pgmetrics-" + s.Name
	v.DrillTimeout = fmt.Sprintf("%ds", seconds(v.Repo.DrillTimeout))
	v.DrillTimeoutSec = seconds(v.Repo.DrillTimeout + drillMargin)
	var err error
	v.Service, err = sdExecArg(s.Name)
	return v, err
}

// pgManifest adds a service's PostgreSQL settings, and its repository, to m.
func pgManifest(spec *model.Spec, m *manifest.Manifest, s *model.Service, ms *manifest.Service) error {
	pg := s.PostgreSQL
	if pg == nil {
		return nil
	}
	ms.PostgreSQL = &manifest.PostgreSQL{DataDir: pg.DataDir}
	if pg.PITR == nil {
		return nil
	}
	r := spec.PgRepository(pg.PITR.Repository)
	if r == nil {
		return fmt.Errorf("service %q: pgbackrest repository %q is not declared", s.Name, pg.PITR.Repository)
	}
	ms.PostgreSQL.PITR = &manifest.PITR{Repository: r.Name}
	if m.PgRepositories == nil {
		m.PgRepositories = map[string]manifest.PgRepository{}
	}
	m.PgRepositories[r.Name] = manifest.PgRepository{
		Type: r.Type, Path: r.Path, RetentionFull: r.RetentionFull,
		CipherPassFile: r.CipherPassFile, EnvironmentFile: r.EnvironmentFile,
		S3Bucket: r.S3Bucket, S3Endpoint: r.S3Endpoint, S3Region: r.S3Region,
		SFTPHost: r.SFTPHost, SFTPHostUser: r.SFTPHostUser, SFTPKeyFile: r.SFTPPrivateKeyFile,
	}
	return nil
}

// pgJobs are the reported units of a PITR service: its full and diff
// backups and its restore drill.
func pgJobs(s *model.Service) []manifest.Job {
	pg := s.PostgreSQL
	if pg == nil || pg.PITR == nil {
		return nil
	}
	var jobs []manifest.Job
	for _, j := range []string{"full", "diff"} {
		jobs = append(jobs, manifest.Job{Unit: pgJobUnit(s.Name, j) + ".service", Kind: manifest.JobPgBackup,
			Service: s.Name, Repository: pg.PITR.Repository, Notify: s.Notify})
	}
	jobs = append(jobs, manifest.Job{Unit: pgDrillUnit(s.Name) + ".service", Kind: manifest.JobPgDrill,
		Service: s.Name, Repository: pg.PITR.Repository, Notify: s.Notify})
	return jobs
}

// pgBackupExclude is what restic leaves out of a service whose data
// directory pgBackRest backs up: a copy of a running cluster's files is
// not consistent, and the directory is restored by pgbackrest instead.
func pgBackupExclude(s *model.Service) []string {
	pg := s.PostgreSQL
	if pg == nil || pg.PITR == nil || s.Backup == nil {
		return nil
	}
	for _, p := range s.Backup.Paths {
		if p == pg.DataDir || strings.HasPrefix(pg.DataDir, strings.TrimSuffix(p, "/")+"/") {
			return []string{resticFilesFromPath(pg.DataDir)}
		}
	}
	return nil
}
