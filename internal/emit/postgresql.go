package emit

import (
	"fmt"
	"strings"

	"github.com/nixgen/nixgen/internal/hostfacts"
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

func pgViewFor(spec *model.Spec, s *model.Service) *pgView {
	pg := s.PostgreSQL
	v := &pgView{DataDir: pg.DataDir, Stanza: s.Name, User: s.User, Group: s.Group}
	t := pg.PITR
	if t == nil {
		return v
	}
	v.PITR = true
	v.Repo = spec.PgRepository(t.Repository)
	v.Cipher = v.Repo.CipherPassFile != ""
	v.MainSvc = strings.TrimSuffix(s.Unit, ".service")
	v.ArchiveTimeoutSec = seconds(t.ArchiveTimeout)
	v.JobTimeoutSec = seconds(t.Timeout)
	v.FullSchedule, v.DiffSchedule = t.FullSchedule, t.DiffSchedule
	v.Jobs = []pgJob{{hostfacts.PgBackupUnit(s.Name, "full"), "full"}}
	if t.DiffSchedule != "" {
		v.Jobs = append(v.Jobs, pgJob{hostfacts.PgBackupUnit(s.Name, "diff"), "diff"})
	}
	v.StanzaUnit = hostfacts.PgStanzaUnit(s.Name)
	v.StanzaService = v.StanzaUnit + ".service"
	v.DrillUnit, v.DrillSchedule = hostfacts.PgDrillUnit(s.Name), v.Repo.DrillSchedule
	v.MetricsUnit = hostfacts.PgMetricsUnit(s.Name)
	v.DrillTimeout = fmt.Sprintf("%ds", seconds(v.Repo.DrillTimeout))
	v.DrillTimeoutSec = seconds(v.Repo.DrillTimeout + drillMargin)
	v.Service = must(sdExecArg(s.Name))
	return v
}

// pgManifest adds a service's PostgreSQL settings, and its repository, to m.
func pgManifest(spec *model.Spec, m *manifest.Manifest, s *model.Service, ms *manifest.Service) {
	pg := s.PostgreSQL
	if pg == nil {
		return
	}
	ms.PostgreSQL = &manifest.PostgreSQL{DataDir: pg.DataDir}
	if pg.PITR == nil {
		return
	}
	r := spec.PgRepository(pg.PITR.Repository)
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
