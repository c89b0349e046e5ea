package specref

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/schema"
)

// doc is the human text for one block or attribute. Every block and
// attribute that Walk finds must have a Desc (the tests enforce it).
type doc struct {
	Desc    string // one line of Markdown
	Default string // optional attributes: what applies when it is absent ("" = nothing)
	Type    string // the HCL type of attributes kept as hcl.Expression
}

const (
	listString = "list(string)"
	mapString  = "map(string)"
)

// docs is keyed by the dotted path of a block or attribute. Defaults come
// from schema's constants wherever the code has one.
var docs = map[string]doc{
	"host":                 {Desc: "A NixOS machine and the services it runs."},
	"host.parent_dataset":  {Desc: "ZFS dataset every service dataset is created below; created with `mountpoint=none` when missing. A pool root is allowed."},
	"host.parent_mount":    {Desc: "Absolute path: the root of the services' default mountpoints; not inside a directory other users can write to."},
	"host.services":        {Desc: "Names of declared services this host runs, no duplicates; `[]` for a host that only receives replicas.", Default: "every declared service", Type: listString},
	"host.addresses":       {Desc: "Other names and IPv4 addresses of the host (DNS names or IPv4, each naming one host): a replication target whose host part is one of them, or the host's name, is received by this host.", Type: listString},
	"host.ssh_host_key":    {Desc: "The host's ssh host key (`ssh-ed25519 AAAA…`, the content of `/etc/ssh/ssh_host_ed25519_key.pub`); every host that replicates to it pins it in `programs.ssh.knownHosts` under its name and addresses."},
	"host.sanoid_interval": {Desc: "OnCalendar schedule of sanoid's timer (`services.sanoid.interval`), such as `\"*:0/5\"`.", Default: "every 15 minutes when a policy keeps `frequently` snapshots, else hourly"},

	"host.jobs":                  {Desc: "Limits of `nixgen-jobs.slice`, the slice of every backup, replication, prune, check, drill and sanoid unit of the host."},
	"host.jobs.memory_max":       {Desc: "`MemoryMax=` of the slice: bytes with an optional K, M, G or T suffix, a percentage, or `\"infinity\"`."},
	"host.jobs.cpu_quota":        {Desc: "`CPUQuota=` of the slice: a percentage of one CPU (`\"200%\"`)."},
	"host.jobs.io_weight":        {Desc: "`IOWeight=` of the slice, 1 to 10000 (systemd's default is 100)."},
	"host.jobs.randomized_delay": {Desc: "`RandomizedDelaySec=` of the backup timers, at least 1s.", Default: lit(duration(schema.DefaultRandomizedDelay))},

	"host.protect":            {Desc: "An existing host dataset (`/persist`, `/home`) backed up, snapshotted and replicated like a service's, never created, changed or preseeded."},
	"host.protect.dataset":    {Desc: "Full ZFS dataset name; must not overlap `parent_dataset`."},
	"host.protect.mountpoint": {Desc: "Absolute path where the dataset is mounted; not `/`."},
	"host.protect.notify":     {Desc: "Names of declared notifiers told about its jobs.", Type: listString},

	"host.alerts":                          {Desc: "Thresholds of the host's generated Prometheus alert rules (`alerts.rules.yml`, see docs/alerts.md). Ages are durations such as `\"12h\"` or `\"9d\"`, at least 10m; each warning must be below its critical."},
	"host.alerts.replication_lag_warning":  {Desc: "Warn when syncoid has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.ReplicationLagWarning))},
	"host.alerts.replication_lag_critical": {Desc: "Critical when syncoid has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.ReplicationLagCritical))},
	"host.alerts.backup_failing_warning":   {Desc: "Warn when a restic backup has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.BackupFailingWarning))},
	"host.alerts.backup_failing_critical":  {Desc: "Critical when a restic backup has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.BackupFailingCritical))},
	"host.alerts.snapshot_age_warning":     {Desc: "Warn when the newest snapshot of a dataset with a snapshot policy is this old (or there is none), and when sanoid has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.SnapshotAgeWarning))},
	"host.alerts.prune_age_warning":        {Desc: "Warn when a repository's prune has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.PruneAgeWarning))},
	"host.alerts.check_age_warning":        {Desc: "Warn when a repository's `restic check` has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.CheckAgeWarning))},
	"host.alerts.drill_age_warning":        {Desc: "Warn when a repository's restore drill has not succeeded for this long.", Default: lit(duration(schema.DefaultAlerts.DrillAgeWarning))},
	"host.alerts.scrub_age_warning":        {Desc: "Warn when a pool's last completed scrub ended this long ago.", Default: lit(duration(schema.DefaultAlerts.ScrubAgeWarning))},
	"host.alerts.capacity_warning":         {Desc: "Warn when a service dataset has used this percentage (1–100) of its space (used / (used + available)).", Default: code(fmt.Sprint(schema.DefaultAlerts.CapacityWarning))},
	"host.alerts.capacity_critical":        {Desc: "Critical at this percentage of a dataset's space.", Default: code(fmt.Sprint(schema.DefaultAlerts.CapacityCritical))},

	"restic_repository":                  {Desc: "A restic repository that `backup` blocks refer to."},
	"restic_repository.url":              {Desc: "Any restic repository string (free text, not empty) without a secret in it: a password (`user:pass@`), a token-like query parameter or an rclone credential is an error. Exactly one of `url` and `repository_file`.", Default: "none: `repository_file`"},
	"restic_repository.repository_file":  {Desc: "Absolute path of a root-only file holding the repository string (NixOS `repositoryFile`), for one with a secret in it; no `%`.", Default: "none: `url`"},
	"restic_repository.password_file":    {Desc: "Absolute path of the file holding the repository password."},
	"restic_repository.environment_file": {Desc: "Absolute path of an environment file for restic (S3 credentials and the like)."},
	"restic_repository.prune_schedule":   {Desc: "OnCalendar schedule of `restic forget --prune`.", Default: lit(schema.DefaultPruneSchedule)},
	"restic_repository.check_schedule":   {Desc: "OnCalendar schedule of `restic check`.", Default: lit(schema.DefaultCheckSchedule)},
	"restic_repository.check_subset":     {Desc: "`--read-data-subset` of the check: a percentage (`\"5%\"`), a fraction `n/t`, or a size (`\"500M\"`).", Default: lit(schema.DefaultCheckSubset)},
	"restic_repository.drill_schedule":   {Desc: "OnCalendar schedule of the restore drill.", Default: lit(schema.DefaultDrillSchedule)},
	"restic_repository.prune_timeout":    {Desc: "Time limit of the prune job (`TimeoutStartSec`), at least 1s.", Default: lit(duration(schema.DefaultPruneTimeout))},
	"restic_repository.check_timeout":    {Desc: "Time limit of the check job (`TimeoutStartSec`), at least 1s.", Default: lit(duration(schema.DefaultCheckTimeout))},
	"restic_repository.initialize":       {Desc: "Whether a backup may create the repository (`restic init`) when there is none; off, a missing repository fails the backup.", Default: "`false`"},
	"restic_repository.drill_timeout":    {Desc: "Time limit of the restore drill (`restore-test --timeout`; the unit's `TimeoutStartSec` is 5 minutes more), at least 1s.", Default: lit(duration(schema.DefaultDrillTimeout))},

	"restic_repository.retention":         {Desc: "The `restic forget --keep-*` policy. Without it no forget policy is set; with it at least one count must be above 0."},
	"restic_repository.retention.last":    {Desc: "Keep the last N snapshots (≥ 0).", Default: "`0`"},
	"restic_repository.retention.hourly":  {Desc: "Keep N hourly snapshots (≥ 0).", Default: "`0`"},
	"restic_repository.retention.daily":   {Desc: "Keep N daily snapshots (≥ 0).", Default: "`0`"},
	"restic_repository.retention.weekly":  {Desc: "Keep N weekly snapshots (≥ 0).", Default: "`0`"},
	"restic_repository.retention.monthly": {Desc: "Keep N monthly snapshots (≥ 0).", Default: "`0`"},
	"restic_repository.retention.yearly":  {Desc: "Keep N yearly snapshots (≥ 0).", Default: "`0`"},

	"pgbackrest_repository":                       {Desc: "A pgBackRest repository that `postgresql.pitr` blocks refer to (repo1 of their stanzas); one per host. See docs/postgresql.md."},
	"pgbackrest_repository.type":                  {Desc: "`\"posix\"` (a directory: local disk, NFS), `\"s3\"` or `\"sftp\"`.", Default: lit(schema.DefaultPgRepoType)},
	"pgbackrest_repository.path":                  {Desc: "Absolute path of the repository (`repo1-path`): a directory, or the path in the bucket or on the sftp server."},
	"pgbackrest_repository.retention_full":        {Desc: "Full backups kept (`repo1-retention-full`, ≥ 1); older ones expire with the WAL they need.", Default: fmt.Sprintf("`%d`", schema.DefaultRetentionFull)},
	"pgbackrest_repository.cipher_pass_file":      {Desc: "Absolute path of a file holding the repository passphrase; encrypts the repository (`aes-256-cbc`). Readable by root and the `postgres` group; never in the store; no `%`.", Default: "unencrypted"},
	"pgbackrest_repository.environment_file":      {Desc: "Absolute path of an environment file with `PGBACKREST_REPO1_*` secrets (S3 keys, an sftp key passphrase); no `%`."},
	"pgbackrest_repository.s3_bucket":             {Desc: "`type = \"s3\"` only: the bucket (`repo1-s3-bucket`)."},
	"pgbackrest_repository.s3_endpoint":           {Desc: "`type = \"s3\"` only: the endpoint host (`repo1-s3-endpoint`)."},
	"pgbackrest_repository.s3_region":             {Desc: "`type = \"s3\"` only: the region (`repo1-s3-region`)."},
	"pgbackrest_repository.sftp_host":             {Desc: "`type = \"sftp\"` only: the server (`repo1-sftp-host`)."},
	"pgbackrest_repository.sftp_host_user":        {Desc: "`type = \"sftp\"` only: the user on the server (`repo1-sftp-host-user`)."},
	"pgbackrest_repository.sftp_private_key_file": {Desc: "`type = \"sftp\"` only: absolute path of the private key (`repo1-sftp-private-key-file`)."},
	"pgbackrest_repository.drill_schedule":        {Desc: "OnCalendar schedule of the restore drill of each stanza in the repository.", Default: lit(schema.DefaultPgDrillSchedule)},
	"pgbackrest_repository.drill_timeout":         {Desc: "Time limit of one stanza's drill, at least 1s.", Default: lit(duration(schema.DefaultPgDrillTimeout))},

	"notifier":            {Desc: "Where preseed outcomes are reported."},
	"notifier.type":       {Desc: "`\"ntfy\"` or `\"webhook\"`."},
	"notifier.url":        {Desc: "`http://` or `https://` URL with a host, without credentials (`user:pass@`, `token@`) or a token-like query parameter (`?auth=`, `?token=`, ...). Exactly one of `url` and `url_file`.", Default: "none: `url_file`"},
	"notifier.url_file":   {Desc: "Absolute path of a root-only file holding the URL, for one with a secret in it (Slack, Discord, Matrix webhooks); no `%`.", Default: "none: `url`"},
	"notifier.token_file": {Desc: "Absolute path of the root-only file holding the access token (sent as `Authorization: Bearer`); no `%`."},
	"notifier.events":     {Desc: "What the notifier is told about: " + codeList(rules.NotifierEvents) + " (recovery: the first success after a failure; success: every successful run).", Default: codeList(rules.DefaultNotifierEvents), Type: listString},

	"profile":             {Desc: "Reusable dataset settings. A profile named like a built-in one replaces it entirely."},
	"profile.recordsize":  {Desc: "ZFS `recordsize`: a power of two from 512 to 16M (`\"16K\"`)."},
	"profile.compression": {Desc: "ZFS `compression` (`\"lz4\"`, `\"zstd\"`, `\"gzip-9\"`, ...)."},
	"profile.properties":  {Desc: "Other ZFS properties, native or user (`module:name`); `mountpoint` is not allowed.", Type: mapString},

	"snapshot_policy":            {Desc: "A sanoid template that `snapshots` blocks refer to."},
	"snapshot_policy.frequently": {Desc: "Frequent snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.hourly":     {Desc: "Hourly snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.daily":      {Desc: "Daily snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.weekly":     {Desc: "Weekly snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.monthly":    {Desc: "Monthly snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.yearly":     {Desc: "Yearly snapshots sanoid keeps (≥ 0).", Default: "`0`"},
	"snapshot_policy.autosnap":   {Desc: "Whether sanoid takes snapshots.", Default: "`true`"},
	"snapshot_policy.autoprune":  {Desc: "Whether sanoid prunes old snapshots.", Default: "`true`"},

	"service":            {Desc: "One service: its dataset, backups, snapshots, replication and preseed."},
	"service.unit":       {Desc: "The systemd unit of the service, which the preseed or datasets unit is ordered before; the generated module asserts that something else defines it.", Default: lit("<name>.service")},
	"service.container":  {Desc: "Instead of `unit`: the `virtualisation.oci-containers.containers` name; the unit is `podman-<name>.service` or `docker-<name>.service` by the backend."},
	"service.user":       {Desc: "Owner of the mountpoint root: a unix user name or a numeric id.", Default: lit(schema.DefaultUser)},
	"service.group":      {Desc: "Group of the mountpoint root: a unix group name or a numeric id.", Default: lit(schema.DefaultGroup)},
	"service.mode":       {Desc: "Octal mode of the mountpoint root, 3 or 4 digits.", Default: lit(schema.DefaultMode)},
	"service.mountpoint": {Desc: "Absolute path where the dataset is mounted; not `/`, a system directory, or inside a directory other users can write to (`/tmp`, `/var/tmp`, ...).", Default: lit("<parent_mount>/<name>")},
	"service.notify":     {Desc: "Names of declared notifiers told about preseed outcomes.", Type: listString},

	"service.dataset":             {Desc: "The service's ZFS dataset. The profile's properties apply first; this block's attributes win."},
	"service.dataset.name":        {Desc: "Dataset name relative to the host's `parent_dataset` (may contain `/`).", Default: "the service name"},
	"service.dataset.profile":     {Desc: "A built-in or declared profile."},
	"service.dataset.recordsize":  {Desc: "ZFS `recordsize`, overriding the profile's.", Default: "the profile's"},
	"service.dataset.compression": {Desc: "ZFS `compression`, overriding the profile's.", Default: "the profile's"},
	"service.dataset.properties":  {Desc: "Other ZFS properties, overriding the profile's.", Type: mapString},

	"service.backup":              {Desc: "Restic backups of the service's data (NixOS `services.restic.backups`)."},
	"service.backup.repository":   {Desc: "A declared `restic_repository`; the job is named after the service. Exactly one of `repository` and `repositories`."},
	"service.backup.repositories": {Desc: "Several declared repositories (offsite copies): one job `<service>-<repository>` each; preseed tries them in this order.", Type: listString},
	"service.backup.paths":        {Desc: "Absolute paths inside the mountpoint to back up, no duplicates.", Default: "`[mountpoint]`", Type: listString},
	"service.backup.exclude":      {Desc: "restic exclude patterns.", Type: listString},
	"service.backup.tags":         {Desc: "restic tags, without commas or whitespace.", Type: listString},
	"service.backup.schedule":     {Desc: "OnCalendar schedule of the backup.", Default: lit(schema.DefaultBackupSchedule)},
	"service.backup.timeout":      {Desc: "Time limit of one backup run (`TimeoutStartSec` of `restic-backups-<service>`), at least 1s; a replication of the same dataset waits for a running backup at most this long plus 15 minutes.", Default: lit(duration(schema.DefaultBackupTimeout))},

	"service.snapshots":        {Desc: "Sanoid snapshots of the dataset (NixOS `services.sanoid`)."},
	"service.snapshots.policy": {Desc: "A declared `snapshot_policy`."},

	"service.replication":                {Desc: "Syncoid replication of the dataset (NixOS `services.syncoid`)."},
	"service.replication.target":         {Desc: "`[user@]host:pool/dataset` (remote) or `pool/dataset` (local)."},
	"service.replication.ssh_key":        {Desc: "Absolute path of the ssh key; remote targets only; only letters, digits and `_.,:/@+=-` (syncoid hands it to a shell)."},
	"service.replication.ssh_public_key": {Desc: "The public half of `ssh_key` (`ssh-ed25519 AAAA…`); a receiving host of the specs authorizes it for the receive user. Remote targets only."},
	"service.replication.known_host_key": {Desc: "The target's ssh host key, for a target outside the specs (for a host of the specs, set its `ssh_host_key`); pinned in `programs.ssh.knownHosts`. Remote targets only."},
	"service.replication.schedule":       {Desc: "OnCalendar schedule of the replication.", Default: lit(schema.DefaultReplicationSchedule)},
	"service.replication.timeout":        {Desc: "Time limit of one syncoid run (the unit's `TimeoutStartSec`), so a target that hangs in `zfs receive` cannot stall replication and backups.", Default: lit(duration(schema.DefaultReplicationTimeout))},
	"service.replication.send_options":   {Desc: "syncoid `sendOptions`: `zfs send` flags as letters from `D L P c e h p v w`, each once (`\"wp\"`).", Default: lit(schema.DefaultSendOptions)},

	"service.postgresql":                      {Desc: "The service is a PostgreSQL cluster (NixOS `services.postgresql`). See docs/postgresql.md."},
	"service.postgresql.data_dir":             {Desc: "Absolute path of the data directory (`services.postgresql.dataDir`, pgBackRest's `pg1-path`), inside the mountpoint.", Default: "the mountpoint"},
	"service.postgresql.pitr":                 {Desc: "Continuous WAL archiving and base backups with pgBackRest, for point-in-time recovery; the stanza is the service's name. restic then leaves the data directory out."},
	"service.postgresql.pitr.repository":      {Desc: "A declared `pgbackrest_repository`."},
	"service.postgresql.pitr.full_schedule":   {Desc: "OnCalendar schedule of the full backup.", Default: lit(schema.DefaultFullSchedule)},
	"service.postgresql.pitr.diff_schedule":   {Desc: "OnCalendar schedule of the differential backup.", Default: lit(schema.DefaultDiffSchedule)},
	"service.postgresql.pitr.archive_timeout": {Desc: "PostgreSQL `archive_timeout`: a WAL segment is archived at least this often, which bounds the data a lost host loses.", Default: lit(duration(schema.DefaultArchiveTimeout))},
	"service.postgresql.pitr.timeout":         {Desc: "Time limit of one backup run (`TimeoutStartSec`), at least 1s.", Default: lit(duration(schema.DefaultPgBackupTimeout))},

	"service.preseed":            {Desc: "A unit that restores the data before the service starts when it is missing. Without this block there is none."},
	"service.preseed.methods":    {Desc: "Restore methods tried in order: `pgbackrest` (needs `postgresql.pitr`), `syncoid` (needs `replication`), `local`, `restic` (needs `backup`).", Default: "the usable ones of " + codeList(schema.PreseedMethods), Type: listString},
	"service.preseed.timeout":    {Desc: "Time limit of each method (`\"30m\"`, `\"1h 30min\"`).", Default: lit(duration(schema.DefaultPreseedTimeout))},
	"service.preseed.on_failure": {Desc: "When every method fails: `\"block\"` (the service stays down) or `\"start-empty\"`.", Default: lit(schema.DefaultOnFailure)},
}

// The protect block of a host takes a service's backup, snapshots and
// replication blocks as they are.
func init() {
	shared := map[string]doc{}
	for path, d := range docs {
		for _, b := range []string{"backup", "snapshots", "replication"} {
			if path == "service."+b || strings.HasPrefix(path, "service."+b+".") {
				shared["host.protect."+strings.TrimPrefix(path, "service.")] = d
			}
		}
	}
	maps.Copy(docs, shared)
}

// lit is a string literal as written in a spec.
func lit(s string) string { return code(`"` + s + `"`) }

func code(s string) string { return "`" + s + "`" }

func codeList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

// duration prints d the way a spec would write it ("30m", not "30m0s").
func duration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d > 24*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
