package manifest

import (
	"slices"

	"github.com/nixgen/nixgen/internal/rules"
)

// PostgreSQL describes a service that is a PostgreSQL cluster.
type PostgreSQL struct {
	DataDir string `json:"data_dir"` // inside the mountpoint
	PITR    *PITR  `json:"pitr,omitempty"`
}

// PITR is the service's pgBackRest stanza; the stanza is named after the
// service and uses the repository as its repo1.
type PITR struct {
	Repository string `json:"repository"`
}

// PgRepository is a pgBackRest repository. Secrets stay in files on the
// host; the helper passes these settings to pgbackrest as options, so it
// never depends on /etc/pgbackrest/pgbackrest.conf.
type PgRepository struct {
	Type            string `json:"type"` // "posix" | "s3" | "sftp"
	Path            string `json:"path"`
	RetentionFull   int    `json:"retention_full"`
	CipherPassFile  string `json:"cipher_pass_file,omitempty"`
	EnvironmentFile string `json:"environment_file,omitempty"`
	S3Bucket        string `json:"s3_bucket,omitempty"`
	S3Endpoint      string `json:"s3_endpoint,omitempty"`
	S3Region        string `json:"s3_region,omitempty"`
	SFTPHost        string `json:"sftp_host,omitempty"`
	SFTPHostUser    string `json:"sftp_host_user,omitempty"`
	SFTPKeyFile     string `json:"sftp_private_key_file,omitempty"`
}

// PgRepoTypes are the repository types the helper accepts.
var PgRepoTypes = []string{"posix", "s3", "sftp"}

func (v *validator) postgresql(where string, s *Service, pg *PostgreSQL, mpOK bool) {
	if v.path(where, "postgresql data_dir", pg.DataDir) && mpOK && !rules.Within(pg.DataDir, s.Mountpoint, "/") {
		v.bad("%s: postgresql data_dir %q is not inside the mountpoint %q", where, pg.DataDir, s.Mountpoint)
	}
	if t := pg.PITR; t != nil {
		if _, ok := v.m.PgRepositories[t.Repository]; !ok {
			v.bad("%s: pitr repository %q is not declared", where, t.Repository)
		}
	}
}

func (v *validator) pgRepository(name string, r PgRepository) {
	where := "pgbackrest_repositories." + name
	v.name(where, "name", name)
	if !slices.Contains(PgRepoTypes, r.Type) {
		v.bad("%s: type %q is not one of %v", where, r.Type, PgRepoTypes)
	}
	v.path(where, "path", r.Path)
	if r.RetentionFull < 1 {
		v.bad("%s: retention_full must be at least 1", where)
	}
	for _, f := range [][2]string{{"cipher_pass_file", r.CipherPassFile}, {"environment_file", r.EnvironmentFile}, {"sftp_private_key_file", r.SFTPKeyFile}} {
		if f[1] != "" {
			v.path(where, f[0], f[1])
		}
	}
	// pgbackrest gets these as --repo1-*=VALUE arguments, never through a
	// shell; still, an option value must not be able to look like another option.
	for _, f := range [][2]string{{"s3_bucket", r.S3Bucket}, {"s3_endpoint", r.S3Endpoint}, {"s3_region", r.S3Region}, {"sftp_host", r.SFTPHost}, {"sftp_host_user", r.SFTPHostUser}} {
		if f[1] != "" {
			if msg := rules.ShellWord(f[1]); msg != "" {
				v.bad("%s: %s %q %s", where, f[0], f[1], msg)
			}
		}
	}
}
