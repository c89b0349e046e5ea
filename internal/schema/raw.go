package schema

import "github.com/hashicorp/hcl/v2"

// The raw* types mirror the HCL blocks one to one. gohcl decodes into them
// strictly (no "remain"), so unknown attributes and blocks get HCL's own
// "Unsupported argument ... Did you mean" diagnostics. The *Range fields hold
// the source range of each attribute (zero when the attribute is absent), so
// every validation error can point at what the user wrote. Lists and maps
// stay expressions until validation, so an error about one element can
// point at that element rather than at the whole attribute.

type rawFile struct {
	Hosts     []*rawHost     `hcl:"host,block"`
	Repos     []*rawRepo     `hcl:"restic_repository,block"`
	PgRepos   []*rawPgRepo   `hcl:"pgbackrest_repository,block"`
	Notifiers []*rawNotifier `hcl:"notifier,block"`
	Profiles  []*rawProfile  `hcl:"profile,block"`
	Policies  []*rawPolicy   `hcl:"snapshot_policy,block"`
	Services  []*rawService  `hcl:"service,block"`
}

type rawHost struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	ParentDataset       string         `hcl:"parent_dataset"`
	ParentDatasetRange  hcl.Range      `hcl:"parent_dataset,attr_range"`
	ParentMount         string         `hcl:"parent_mount"`
	ParentMountRange    hcl.Range      `hcl:"parent_mount,attr_range"`
	Services            hcl.Expression `hcl:"services,optional"`
	ServicesRange       hcl.Range      `hcl:"services,attr_range"`
	Addresses           hcl.Expression `hcl:"addresses,optional"`
	AddressesRange      hcl.Range      `hcl:"addresses,attr_range"`
	SSHHostKey          string         `hcl:"ssh_host_key,optional"`
	SSHHostKeyRange     hcl.Range      `hcl:"ssh_host_key,attr_range"`
	Jobs                *rawJobs       `hcl:"jobs,block"`
	Protect             []*rawProtect  `hcl:"protect,block"`
	SanoidInterval      string         `hcl:"sanoid_interval,optional"`
	SanoidIntervalRange hcl.Range      `hcl:"sanoid_interval,attr_range"`
	Alerts              *rawAlerts     `hcl:"alerts,block"`
}

// rawAlerts are the thresholds of the host's generated alert rules.
type rawAlerts struct {
	DefRange hcl.Range `hcl:",def_range"`

	ReplicationLagWarning       string    `hcl:"replication_lag_warning,optional"`
	ReplicationLagWarningRange  hcl.Range `hcl:"replication_lag_warning,attr_range"`
	ReplicationLagCritical      string    `hcl:"replication_lag_critical,optional"`
	ReplicationLagCriticalRange hcl.Range `hcl:"replication_lag_critical,attr_range"`
	BackupFailingWarning        string    `hcl:"backup_failing_warning,optional"`
	BackupFailingWarningRange   hcl.Range `hcl:"backup_failing_warning,attr_range"`
	BackupFailingCritical       string    `hcl:"backup_failing_critical,optional"`
	BackupFailingCriticalRange  hcl.Range `hcl:"backup_failing_critical,attr_range"`
	SnapshotAgeWarning          string    `hcl:"snapshot_age_warning,optional"`
	SnapshotAgeWarningRange     hcl.Range `hcl:"snapshot_age_warning,attr_range"`
	PruneAgeWarning             string    `hcl:"prune_age_warning,optional"`
	PruneAgeWarningRange        hcl.Range `hcl:"prune_age_warning,attr_range"`
	CheckAgeWarning             string    `hcl:"check_age_warning,optional"`
	CheckAgeWarningRange        hcl.Range `hcl:"check_age_warning,attr_range"`
	DrillAgeWarning             string    `hcl:"drill_age_warning,optional"`
	DrillAgeWarningRange        hcl.Range `hcl:"drill_age_warning,attr_range"`
	ScrubAgeWarning             string    `hcl:"scrub_age_warning,optional"`
	ScrubAgeWarningRange        hcl.Range `hcl:"scrub_age_warning,attr_range"`
	CapacityWarning             int       `hcl:"capacity_warning,optional"`
	CapacityWarningRange        hcl.Range `hcl:"capacity_warning,attr_range"`
	CapacityCritical            int       `hcl:"capacity_critical,optional"`
	CapacityCriticalRange       hcl.Range `hcl:"capacity_critical,attr_range"`
}

// rawJobs is a host's limits for nixgen's job units (backups,
// replication, prune, check, drills, sanoid).
type rawJobs struct {
	DefRange             hcl.Range `hcl:",def_range"`
	MemoryMax            string    `hcl:"memory_max,optional"`
	MemoryMaxRange       hcl.Range `hcl:"memory_max,attr_range"`
	CPUQuota             string    `hcl:"cpu_quota,optional"`
	CPUQuotaRange        hcl.Range `hcl:"cpu_quota,attr_range"`
	IOWeight             int       `hcl:"io_weight,optional"`
	IOWeightRange        hcl.Range `hcl:"io_weight,attr_range"`
	RandomizedDelay      string    `hcl:"randomized_delay,optional"`
	RandomizedDelayRange hcl.Range `hcl:"randomized_delay,attr_range"`
}

// rawProtect is an existing host dataset that nixgen protects but does
// not manage (protect "NAME" in a host block).
type rawProtect struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Dataset         string         `hcl:"dataset"`
	DatasetRange    hcl.Range      `hcl:"dataset,attr_range"`
	Mountpoint      string         `hcl:"mountpoint"`
	MountpointRange hcl.Range      `hcl:"mountpoint,attr_range"`
	Notify          hcl.Expression `hcl:"notify,optional"`
	NotifyRange     hcl.Range      `hcl:"notify,attr_range"`

	Backup      *rawBackup      `hcl:"backup,block"`
	Snapshots   *rawSnapshots   `hcl:"snapshots,block"`
	Replication *rawReplication `hcl:"replication,block"`
}

type rawRepo struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	URL                  string        `hcl:"url,optional"`
	URLRange             hcl.Range     `hcl:"url,attr_range"`
	RepositoryFile       string        `hcl:"repository_file,optional"`
	RepositoryFileRange  hcl.Range     `hcl:"repository_file,attr_range"`
	PasswordFile         string        `hcl:"password_file"`
	PasswordFileRange    hcl.Range     `hcl:"password_file,attr_range"`
	EnvironmentFile      string        `hcl:"environment_file,optional"`
	EnvironmentFileRange hcl.Range     `hcl:"environment_file,attr_range"`
	PruneSchedule        string        `hcl:"prune_schedule,optional"`
	PruneScheduleRange   hcl.Range     `hcl:"prune_schedule,attr_range"`
	CheckSchedule        string        `hcl:"check_schedule,optional"`
	CheckScheduleRange   hcl.Range     `hcl:"check_schedule,attr_range"`
	CheckSubset          string        `hcl:"check_subset,optional"`
	CheckSubsetRange     hcl.Range     `hcl:"check_subset,attr_range"`
	DrillSchedule        string        `hcl:"drill_schedule,optional"`
	DrillScheduleRange   hcl.Range     `hcl:"drill_schedule,attr_range"`
	PruneTimeout         string        `hcl:"prune_timeout,optional"`
	PruneTimeoutRange    hcl.Range     `hcl:"prune_timeout,attr_range"`
	CheckTimeout         string        `hcl:"check_timeout,optional"`
	CheckTimeoutRange    hcl.Range     `hcl:"check_timeout,attr_range"`
	DrillTimeout         string        `hcl:"drill_timeout,optional"`
	DrillTimeoutRange    hcl.Range     `hcl:"drill_timeout,attr_range"`
	Initialize           *bool         `hcl:"initialize,optional"`
	Retention            *rawRetention `hcl:"retention,block"`
}

// rawPgRepo is a pgBackRest repository (repo1 of the stanzas that use it).
type rawPgRepo struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Type                    string    `hcl:"type,optional"`
	TypeRange               hcl.Range `hcl:"type,attr_range"`
	Path                    string    `hcl:"path"`
	PathRange               hcl.Range `hcl:"path,attr_range"`
	RetentionFull           int       `hcl:"retention_full,optional"`
	RetentionFullRange      hcl.Range `hcl:"retention_full,attr_range"`
	CipherPassFile          string    `hcl:"cipher_pass_file,optional"`
	CipherPassFileRange     hcl.Range `hcl:"cipher_pass_file,attr_range"`
	EnvironmentFile         string    `hcl:"environment_file,optional"`
	EnvironmentFileRange    hcl.Range `hcl:"environment_file,attr_range"`
	S3Bucket                string    `hcl:"s3_bucket,optional"`
	S3BucketRange           hcl.Range `hcl:"s3_bucket,attr_range"`
	S3Endpoint              string    `hcl:"s3_endpoint,optional"`
	S3EndpointRange         hcl.Range `hcl:"s3_endpoint,attr_range"`
	S3Region                string    `hcl:"s3_region,optional"`
	S3RegionRange           hcl.Range `hcl:"s3_region,attr_range"`
	SFTPHost                string    `hcl:"sftp_host,optional"`
	SFTPHostRange           hcl.Range `hcl:"sftp_host,attr_range"`
	SFTPHostUser            string    `hcl:"sftp_host_user,optional"`
	SFTPHostUserRange       hcl.Range `hcl:"sftp_host_user,attr_range"`
	SFTPPrivateKeyFile      string    `hcl:"sftp_private_key_file,optional"`
	SFTPPrivateKeyFileRange hcl.Range `hcl:"sftp_private_key_file,attr_range"`
	DrillSchedule           string    `hcl:"drill_schedule,optional"`
	DrillScheduleRange      hcl.Range `hcl:"drill_schedule,attr_range"`
	DrillTimeout            string    `hcl:"drill_timeout,optional"`
	DrillTimeoutRange       hcl.Range `hcl:"drill_timeout,attr_range"`
}

type rawRetention struct {
	DefRange     hcl.Range `hcl:",def_range"`
	Last         int       `hcl:"last,optional"`
	LastRange    hcl.Range `hcl:"last,attr_range"`
	Hourly       int       `hcl:"hourly,optional"`
	HourlyRange  hcl.Range `hcl:"hourly,attr_range"`
	Daily        int       `hcl:"daily,optional"`
	DailyRange   hcl.Range `hcl:"daily,attr_range"`
	Weekly       int       `hcl:"weekly,optional"`
	WeeklyRange  hcl.Range `hcl:"weekly,attr_range"`
	Monthly      int       `hcl:"monthly,optional"`
	MonthlyRange hcl.Range `hcl:"monthly,attr_range"`
	Yearly       int       `hcl:"yearly,optional"`
	YearlyRange  hcl.Range `hcl:"yearly,attr_range"`
}

type rawNotifier struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Type           string         `hcl:"type"`
	TypeRange      hcl.Range      `hcl:"type,attr_range"`
	URL            string         `hcl:"url,optional"`
	URLRange       hcl.Range      `hcl:"url,attr_range"`
	URLFile        string         `hcl:"url_file,optional"`
	URLFileRange   hcl.Range      `hcl:"url_file,attr_range"`
	TokenFile      string         `hcl:"token_file,optional"`
	TokenFileRange hcl.Range      `hcl:"token_file,attr_range"`
	Events         hcl.Expression `hcl:"events,optional"`
	EventsRange    hcl.Range      `hcl:"events,attr_range"`
}

type rawProfile struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Recordsize       string         `hcl:"recordsize,optional"`
	RecordsizeRange  hcl.Range      `hcl:"recordsize,attr_range"`
	Compression      string         `hcl:"compression,optional"`
	CompressionRange hcl.Range      `hcl:"compression,attr_range"`
	Properties       hcl.Expression `hcl:"properties,optional"`
	PropertiesRange  hcl.Range      `hcl:"properties,attr_range"`
}

type rawPolicy struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Frequently      int       `hcl:"frequently,optional"`
	FrequentlyRange hcl.Range `hcl:"frequently,attr_range"`
	Hourly          int       `hcl:"hourly,optional"`
	HourlyRange     hcl.Range `hcl:"hourly,attr_range"`
	Daily           int       `hcl:"daily,optional"`
	DailyRange      hcl.Range `hcl:"daily,attr_range"`
	Weekly          int       `hcl:"weekly,optional"`
	WeeklyRange     hcl.Range `hcl:"weekly,attr_range"`
	Monthly         int       `hcl:"monthly,optional"`
	MonthlyRange    hcl.Range `hcl:"monthly,attr_range"`
	Yearly          int       `hcl:"yearly,optional"`
	YearlyRange     hcl.Range `hcl:"yearly,attr_range"`
	Autosnap        *bool     `hcl:"autosnap,optional"`
	Autoprune       *bool     `hcl:"autoprune,optional"`
}

type rawService struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Unit            string         `hcl:"unit,optional"`
	UnitRange       hcl.Range      `hcl:"unit,attr_range"`
	Container       string         `hcl:"container,optional"`
	ContainerRange  hcl.Range      `hcl:"container,attr_range"`
	User            string         `hcl:"user,optional"`
	UserRange       hcl.Range      `hcl:"user,attr_range"`
	Group           string         `hcl:"group,optional"`
	GroupRange      hcl.Range      `hcl:"group,attr_range"`
	Mode            string         `hcl:"mode,optional"`
	ModeRange       hcl.Range      `hcl:"mode,attr_range"`
	Mountpoint      string         `hcl:"mountpoint,optional"`
	MountpointRange hcl.Range      `hcl:"mountpoint,attr_range"`
	Notify          hcl.Expression `hcl:"notify,optional"`
	NotifyRange     hcl.Range      `hcl:"notify,attr_range"`

	Dataset     *rawDataset     `hcl:"dataset,block"`
	Backup      *rawBackup      `hcl:"backup,block"`
	Snapshots   *rawSnapshots   `hcl:"snapshots,block"`
	Replication *rawReplication `hcl:"replication,block"`
	Preseed     *rawPreseed     `hcl:"preseed,block"`
	PostgreSQL  *rawPostgreSQL  `hcl:"postgresql,block"`
}

type rawDataset struct {
	DefRange hcl.Range `hcl:",def_range"`

	Name             string         `hcl:"name,optional"`
	NameRange        hcl.Range      `hcl:"name,attr_range"`
	Profile          string         `hcl:"profile,optional"`
	ProfileRange     hcl.Range      `hcl:"profile,attr_range"`
	Recordsize       string         `hcl:"recordsize,optional"`
	RecordsizeRange  hcl.Range      `hcl:"recordsize,attr_range"`
	Compression      string         `hcl:"compression,optional"`
	CompressionRange hcl.Range      `hcl:"compression,attr_range"`
	Properties       hcl.Expression `hcl:"properties,optional"`
	PropertiesRange  hcl.Range      `hcl:"properties,attr_range"`
}

type rawBackup struct {
	DefRange hcl.Range `hcl:",def_range"`

	Repository        string         `hcl:"repository,optional"`
	RepositoryRange   hcl.Range      `hcl:"repository,attr_range"`
	Repositories      hcl.Expression `hcl:"repositories,optional"`
	RepositoriesRange hcl.Range      `hcl:"repositories,attr_range"`
	Paths             hcl.Expression `hcl:"paths,optional"`
	PathsRange        hcl.Range      `hcl:"paths,attr_range"`
	Exclude           hcl.Expression `hcl:"exclude,optional"`
	ExcludeRange      hcl.Range      `hcl:"exclude,attr_range"`
	Tags              hcl.Expression `hcl:"tags,optional"`
	TagsRange         hcl.Range      `hcl:"tags,attr_range"`
	Schedule          string         `hcl:"schedule,optional"`
	ScheduleRange     hcl.Range      `hcl:"schedule,attr_range"`
	Timeout           string         `hcl:"timeout,optional"`
	TimeoutRange      hcl.Range      `hcl:"timeout,attr_range"`
}

type rawSnapshots struct {
	DefRange    hcl.Range `hcl:",def_range"`
	Policy      string    `hcl:"policy"`
	PolicyRange hcl.Range `hcl:"policy,attr_range"`
}

type rawReplication struct {
	DefRange    hcl.Range `hcl:",def_range"`
	Target      string    `hcl:"target"`
	TargetRange hcl.Range `hcl:"target,attr_range"`
	SSHKey      string    `hcl:"ssh_key,optional"`
	SSHKeyRange hcl.Range `hcl:"ssh_key,attr_range"`
	// The public half of ssh_key, which a receiving host of the specs
	// authorizes, and the target's host key for targets outside the specs.
	SSHPublicKey      string    `hcl:"ssh_public_key,optional"`
	SSHPublicKeyRange hcl.Range `hcl:"ssh_public_key,attr_range"`
	KnownHostKey      string    `hcl:"known_host_key,optional"`
	KnownHostKeyRange hcl.Range `hcl:"known_host_key,attr_range"`
	Schedule          string    `hcl:"schedule,optional"`
	ScheduleRange     hcl.Range `hcl:"schedule,attr_range"`
	Timeout           string    `hcl:"timeout,optional"`
	TimeoutRange      hcl.Range `hcl:"timeout,attr_range"`
	SendOptions       string    `hcl:"send_options,optional"`
	SendOptionsRange  hcl.Range `hcl:"send_options,attr_range"`
}

type rawPostgreSQL struct {
	DefRange     hcl.Range `hcl:",def_range"`
	DataDir      string    `hcl:"data_dir,optional"`
	DataDirRange hcl.Range `hcl:"data_dir,attr_range"`
	PITR         *rawPITR  `hcl:"pitr,block"`
}

type rawPITR struct {
	DefRange            hcl.Range `hcl:",def_range"`
	Repository          string    `hcl:"repository"`
	RepositoryRange     hcl.Range `hcl:"repository,attr_range"`
	FullSchedule        string    `hcl:"full_schedule,optional"`
	FullScheduleRange   hcl.Range `hcl:"full_schedule,attr_range"`
	DiffSchedule        string    `hcl:"diff_schedule,optional"`
	DiffScheduleRange   hcl.Range `hcl:"diff_schedule,attr_range"`
	ArchiveTimeout      string    `hcl:"archive_timeout,optional"`
	ArchiveTimeoutRange hcl.Range `hcl:"archive_timeout,attr_range"`
	Timeout             string    `hcl:"timeout,optional"`
	TimeoutRange        hcl.Range `hcl:"timeout,attr_range"`
}

type rawPreseed struct {
	DefRange       hcl.Range      `hcl:",def_range"`
	Methods        hcl.Expression `hcl:"methods,optional"`
	MethodsRange   hcl.Range      `hcl:"methods,attr_range"`
	Timeout        string         `hcl:"timeout,optional"`
	TimeoutRange   hcl.Range      `hcl:"timeout,attr_range"`
	OnFailure      string         `hcl:"on_failure,optional"`
	OnFailureRange hcl.Range      `hcl:"on_failure,attr_range"`
}

// set reports whether an attribute was present in the source.
func set(r hcl.Range) bool { return r.Filename != "" }
