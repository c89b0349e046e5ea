// Package model is the fully resolved spec: what internal/schema produces after
// decoding and validating the HCL files, and what internal/emit renders. Every
// default is already applied and every reference already checked, so the
// renderer never has to guess. Slices are sorted by name (hosts, services,
// repositories, notifiers, policies, properties) so output is deterministic.
package model

import (
	"strings"
	"time"
)

// Spec is the whole validated spec directory.
type Spec struct {
	Hosts        []*Host
	Repositories []*Repository
	// PgRepositories are the pgBackRest repositories, by name.
	PgRepositories []*PgRepository
	Notifiers      []*Notifier
	Policies       []*SnapshotPolicy
}

// Host is one NixOS machine. Its services are resolved for this host: dataset
// names and mountpoints depend on the host's parent dataset and mount.
type Host struct {
	Name          string
	ParentDataset string // e.g. "tank/services"; created with mountpoint=none if missing
	ParentMount   string // absolute; default mountpoint root
	// Addresses are other names (DNS names, IPv4 addresses) by which
	// replication targets reach this host; SSHHostKey is its ssh host key
	// ("type base64"), pinned on every host that replicates to it.
	Addresses  []string
	SSHHostKey string
	Services   []*Service
	// SanoidInterval is sanoid's timer (OnCalendar); "" leaves it to the
	// renderer (every 15 minutes when a policy keeps frequent snapshots,
	// else NixOS's default, hourly).
	SanoidInterval string
	Jobs           JobLimits
	Alerts         Alerts // thresholds of the generated alert rules, defaults applied
}

// Alerts are the thresholds of a host's generated Prometheus alert rules.
// Ages are how long since the last success (or, for snapshots and scrubs,
// since the newest one); capacities are percentages of a dataset's space.
type Alerts struct {
	ReplicationLagWarning, ReplicationLagCritical time.Duration
	BackupFailingWarning, BackupFailingCritical   time.Duration
	SnapshotAgeWarning                            time.Duration
	PruneAgeWarning, CheckAgeWarning              time.Duration
	DrillAgeWarning, ScrubAgeWarning              time.Duration
	CapacityWarning, CapacityCritical             int
}

// JobLimits bound nixgen's job units on a host, which all run in one slice
// (nixgen-jobs.slice): a stampede of backups must not starve the services.
type JobLimits struct {
	MemoryMax string // MemoryMax= of the slice ("4G", "20%"); "" for none
	CPUQuota  string // CPUQuota= of the slice ("200%"); "" for none
	IOWeight  int    // IOWeight= of the slice, 1..10000; 0 for systemd's default (100)
	// RandomizedDelay spreads the backup timers (RandomizedDelaySec=);
	// default 1h, so 50 daily backups do not start in the same minutes.
	RandomizedDelay time.Duration
}

// Known reports whether a replication target's host part names h: its
// name or one of its addresses (DNS names compare case-insensitively).
func (h *Host) Known(target string) bool {
	if strings.EqualFold(target, h.Name) {
		return true
	}
	for _, a := range h.Addresses {
		if strings.EqualFold(target, a) {
			return true
		}
	}
	return false
}

// Pool is the pool part of the parent dataset ("tank" of "tank/services").
func (h *Host) Pool() string {
	for i := 0; i < len(h.ParentDataset); i++ {
		if h.ParentDataset[i] == '/' {
			return h.ParentDataset[:i]
		}
	}
	return h.ParentDataset
}

// Service is one service as deployed on one host.
type Service struct {
	Name string
	Unit string // systemd unit of the service itself, e.g. "sonarr.service"; "" for a container
	// Container names a virtualisation.oci-containers.containers entry;
	// its unit (podman-NAME.service or docker-NAME.service) depends on the
	// backend, which only the NixOS evaluation knows. "" when Unit is set.
	Container string
	// Protect marks an existing host dataset from a host's protect block:
	// backed up, snapshotted and replicated, never created, changed or
	// preseeded (no unit, owner, mode, properties or preseed).
	Protect    bool
	User       string // owner of the mountpoint root
	Group      string
	Mode       string // four-digit octal, e.g. "0750"
	Dataset    string // full ZFS name, e.g. "tank/services/sonarr"
	Mountpoint string // absolute

	Profile    string     // name of the profile the dataset settings came from, "" if none
	Properties []Property // resolved ZFS properties, sorted by name; never includes mountpoint

	Backup      *Backup      // nil: no restic job
	Snapshots   *Snapshots   // nil: no sanoid entry
	Replication *Replication // nil: no syncoid command
	Preseed     *Preseed     // nil: no preseed unit
	PostgreSQL  *PostgreSQL  // nil: not a PostgreSQL service
	Notify      []string     // notifier names, in spec order
}

// Property is one ZFS property to set on a service's dataset.
type Property struct {
	Name  string
	Value string
	// CreateOnly marks properties ZFS only accepts at creation time
	// (casesensitivity, normalization, utf8only, encryption, ...).
	CreateOnly bool
}

// Backup is a restic job for one service.
type Backup struct {
	// Repositories are the names of the repositories it is backed up to,
	// in the spec's order: one restic job each.
	Repositories []string
	// PerRepository: the spec gave a list (repositories = [...]), so each
	// job is named "<service>-<repository>"; a single `repository` keeps the
	// job name "<service>".
	PerRepository bool
	Paths         []string // absolute paths recorded in restic; default [Mountpoint]
	Exclude       []string
	Tags          []string
	Schedule      string // systemd OnCalendar expression; default "daily"
	// Timeout bounds one backup run (TimeoutStartSec of its restic unit):
	// a hung backup must not hold the service's lock, and with it the
	// replication, forever. Default 12h.
	Timeout time.Duration
}

// Job is the restic job name for repository repo of service svc.
func (b *Backup) Job(svc, repo string) string {
	if b.PerRepository {
		return svc + "-" + repo
	}
	return svc
}

// Uses reports whether the backup goes to repository repo.
func (b *Backup) Uses(repo string) bool {
	for _, r := range b.Repositories {
		if r == repo {
			return true
		}
	}
	return false
}

// Snapshots attaches a sanoid policy to the service's dataset.
type Snapshots struct {
	Policy string // name of a SnapshotPolicy
}

// Replication is a syncoid push of the service's dataset.
type Replication struct {
	Target        string // as written: "[user@]host:pool/dataset" or "pool/dataset" (local)
	TargetUser    string // "" when not given
	TargetHost    string // "" for a local target
	TargetDataset string
	SSHKey        string // absolute path, "" for none
	// SSHPublicKey is the public half of SSHKey ("type base64"), which a
	// receiving host of the specs authorizes for ReceiveUser.
	SSHPublicKey string
	// KnownHostKey is the target's ssh host key ("type base64"): the
	// receiving host's ssh_host_key, or known_host_key for a machine
	// outside the specs; "" when none is known.
	KnownHostKey string
	// Receiver is the host of the specs that the target names (by name or
	// address), "" for a machine outside the specs and for local targets.
	Receiver string
	// ReceiveUser is the ssh user on the target: TargetUser, or "syncoid"
	// (the user NixOS's syncoid units run as, which ssh logs in as when
	// the target names none). "" for local targets.
	ReceiveUser string
	Schedule    string // systemd OnCalendar; default "hourly"
	// SendOptions is syncoid's --sendoptions (zfs send flags as letters);
	// default "w" (raw sends).
	SendOptions string
	// Timeout bounds one syncoid run: a target that keeps the ssh session
	// alive while `zfs receive` hangs would otherwise block replication (and,
	// through the shared lock, backups) forever. Default 12h.
	Timeout time.Duration
}

// Preseed says how to restore the service's data before it first starts.
type Preseed struct {
	Methods   []string      // "pgbackrest", "syncoid", "local", "restic", in order
	Timeout   time.Duration // per method; default 30m
	OnFailure string        // "block" or "start-empty"; default "block"
}

// PostgreSQL marks a service as a PostgreSQL cluster.
type PostgreSQL struct {
	DataDir string // absolute, inside the mountpoint; default the mountpoint
	PITR    *PITR  // nil: no WAL archive
}

// PITR is continuous archiving with pgBackRest: the stanza is the service's
// name, its repo1 the named repository.
type PITR struct {
	Repository     string // name of a PgRepository
	FullSchedule   string // OnCalendar of the full backup
	DiffSchedule   string // OnCalendar of the differential backup; "" for none
	ArchiveTimeout time.Duration
	// Timeout bounds one backup run (TimeoutStartSec). Default 12h.
	Timeout time.Duration
}

// PgRepository is a pgBackRest repository.
type PgRepository struct {
	Name           string
	Type           string // "posix", "s3" or "sftp"
	Path           string // repo1-path: absolute
	RetentionFull  int    // repo1-retention-full, >= 1
	CipherPassFile string // "" for an unencrypted repository
	// EnvironmentFile holds PGBACKREST_* variables with secrets (S3 keys);
	// "" for none.
	EnvironmentFile                string
	S3Bucket, S3Endpoint, S3Region string
	SFTPHost, SFTPHostUser         string
	SFTPPrivateKeyFile             string
	DrillSchedule                  string // OnCalendar of the restore drill; default "weekly"
	DrillTimeout                   time.Duration
}

// Repository is a restic repository.
type Repository struct {
	Name string
	// URL is the repository string; "" when RepositoryFile names a file
	// that holds it (exactly one of the two is set). A URL with a secret
	// in it is a spec error: it would be world-readable in the Nix store.
	URL             string
	RepositoryFile  string // absolute path, "" for none
	PasswordFile    string
	EnvironmentFile string // "" for none
	Retention       *Retention
	PruneSchedule   string // OnCalendar of `restic forget --prune`; default "weekly"
	CheckSchedule   string // OnCalendar of `restic check`; default "monthly"
	CheckSubset     string // --read-data-subset value, e.g. "5%"; default "5%"
	DrillSchedule   string // OnCalendar of the restore drill; default "weekly"
	// Time limits of the prune, check and drill units (TimeoutStartSec;
	// the drill's also bounds nixgen-helper restore-test). Default 12h each.
	PruneTimeout, CheckTimeout, DrillTimeout time.Duration
	// Initialize lets a backup run `restic init` when the repository does
	// not exist yet. Default false: a missing mount or bucket must fail, not
	// become a new, empty repository.
	Initialize bool
}

// Retention is restic's forget --keep-* policy. Zero means "not set".
type Retention struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
}

// Notifier is where outcomes are reported.
type Notifier struct {
	Name      string
	Type      string // "ntfy" or "webhook"
	URL       string // "" when URLFile is set (exactly one of the two is)
	URLFile   string // absolute path of a file holding the URL, "" for none
	TokenFile string // "" for none
	// Events are the rules.NotifierEvents it is told about, in spec order;
	// default rules.DefaultNotifierEvents.
	Events []string
}

// SnapshotPolicy is a sanoid template. Zero counts are written as 0.
type SnapshotPolicy struct {
	Name                                               string
	Frequently, Hourly, Daily, Weekly, Monthly, Yearly int
	Autosnap                                           bool // default true
	Autoprune                                          bool // default true
}

// Lookup helpers used by the renderer.

// Repository returns the repository with the given name, or nil.
func (s *Spec) Repository(name string) *Repository {
	for _, r := range s.Repositories {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// PgRepository returns the pgBackRest repository with the given name, or nil.
func (s *Spec) PgRepository(name string) *PgRepository {
	for _, r := range s.PgRepositories {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Notifier returns the notifier with the given name, or nil.
func (s *Spec) Notifier(name string) *Notifier {
	for _, n := range s.Notifiers {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Policy returns the snapshot policy with the given name, or nil.
func (s *Spec) Policy(name string) *SnapshotPolicy {
	for _, p := range s.Policies {
		if p.Name == name {
			return p
		}
	}
	return nil
}
