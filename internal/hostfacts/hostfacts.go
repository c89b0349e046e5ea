// Package hostfacts holds what the generator and nixgen-helper must agree on
// about a host: the names of the generated units and jobs, the paths under
// /run/nixgen and /var/lib they share, and the bounds of ssh connections
// and lock waits. internal/emit renders these facts into the NixOS modules
// and manifest; the helper uses them as its defaults. Each is written once.
package hostfacts

import (
	"strings"
	"time"
)

// Prefix starts the name of every unit, restic job and sanoid template that
// nixgen generates; a service or its unit must not take it.
const Prefix = "nixgen-"

// Paths on the host.
const (
	// RunDir holds the helper's lock files (preseed-<service>.lock,
	// datasets.lock): its --lock-dir default.
	RunDir = "/run/nixgen"
	// BackupRunDir holds one read-only clone per service while its backup
	// runs (backup-snapshot --run-dir); the restic unit binds it over the
	// mountpoint.
	BackupRunDir = RunDir + "/backup"
	// JobLockDir holds the flock files that serialise a service's backup
	// and replication.
	JobLockDir = RunDir + "/locks"
	// TextfileDir is where NixOS's node exporter textfile collector looks
	// (services.prometheus.exporters.node): the helper's --textfile-dir
	// default, writable by the notify units.
	TextfileDir = "/var/lib/prometheus-node-exporter-text"
	// ManifestEtc is the host's manifest.json where datasets.nix installs it
	// (environment.etc): the helper's --manifest default, for commands run
	// by hand. The generated units pass their store path.
	ManifestEtc  = "nixgen/manifest.json"
	ManifestPath = "/etc/" + ManifestEtc
)

// LockWait is how long the helper waits, by default, for another run's
// lock (a preseed or datasets apply started by hand while the unit runs);
// the generated units' time limits leave room for it.
const LockWait = 10 * time.Minute

// SSHOptions are those of every ssh connection to a remote replica: the
// generated syncoid commands (as --sshoption), the replication probe and
// preseed (after the user's own --ssh-option values). A dead host fails in
// seconds (ConnectTimeout also covers the banner exchange), a server that
// stops answering later within a minute (ServerAlive*); a host key not
// already known (the specs pin it through programs.ssh.knownHosts) is
// refused, never trusted on first use, whatever root's ssh config says.
var SSHOptions = []string{"ConnectTimeout=10", "ServerAliveInterval=15", "ServerAliveCountMax=4", "StrictHostKeyChecking=yes"}

// DatasetsUnit creates and tunes the datasets (nixgen-helper datasets apply).
const DatasetsUnit = Prefix + "datasets"

// Units and jobs named after a service.
func PreseedUnit(service string) string      { return Prefix + "preseed-" + service }
func BackupWrapper(service string) string    { return Prefix + "backup-" + service }
func ReplicateWrapper(service string) string { return Prefix + "replicate-" + service }
func JobLockFile(service string) string      { return JobLockDir + "/" + service + ".lock" }
func BackupRunPath(service string) string    { return BackupRunDir + "/" + service }

// Jobs and units named after a repository or a snapshot policy.
func PruneJob(repo string) string          { return Prefix + "prune-" + repo }
func CheckJob(repo string) string          { return Prefix + "check-" + repo }
func DrillUnit(repo string) string         { return Prefix + "drill-" + repo }
func ReplicaTemplate(policy string) string { return Prefix + "replica-" + policy }

// JobSlice holds every nixgen job unit of a host (systemd.slices, with the
// host's jobs limits).
const JobSlice = Prefix + "jobs"

// PostgreSQL point-in-time recovery units of a service: NixOS's pgbackrest
// module names its backup jobs pgbackrest-<stanza>-<job>.
func PgBackupUnit(service, job string) string { return "pgbackrest-" + service + "-" + job }
func PgStanzaUnit(service string) string      { return Prefix + "pgbackrest-stanza-" + service }
func PgDrillUnit(service string) string       { return Prefix + "pgdrill-" + service }
func PgMetricsUnit(service string) string     { return Prefix + "pgmetrics-" + service }

// ResticUnit is the unit NixOS's restic module creates for job name.
func ResticUnit(job string) string { return "restic-backups-" + job }

// SyncoidUnit is the unit NixOS's syncoid module creates for command name:
// nixpkgs' syncoid.nix escapeUnitName turns every run of characters outside
// [a-zA-Z0-9_.-] into one "-".
func SyncoidUnit(command string) string {
	var b strings.Builder
	run := false
	for i := 0; i < len(command); i++ {
		c := command[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			b.WriteByte(c)
			run = false
		} else if !run {
			b.WriteByte('-')
			run = true
		}
	}
	return "syncoid-" + b.String()
}
