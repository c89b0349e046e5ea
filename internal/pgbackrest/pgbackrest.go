// Package pgbackrest turns a service's stanza, as the manifest declares it,
// into pgbackrest invocations that depend on no configuration file: every
// setting travels as a PGBACKREST_* environment variable (pgbackrest
// ignores those a command does not take, where a command-line option it
// does not take is an error), and --no-config keeps a host's
// /etc/pgbackrest/pgbackrest.conf — absent before the first switch, or
// naming other stanzas — out of it. pgbackrest runs as the cluster's owner
// (runuser), as PostgreSQL's archive_command does, so the repository keeps
// one owner.
package pgbackrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/rules"
)

// Stanza is one service's pgBackRest stanza.
type Stanza struct {
	Name    string // the service name
	DataDir string // pg1-path
	User    string // the cluster's owner, who runs pgbackrest
	Repo    manifest.PgRepository
}

// ForService returns the stanza of a service with postgresql.pitr.
func ForService(m *manifest.Manifest, name string) (*Stanza, error) {
	s := m.Service(name)
	if s == nil {
		return nil, fmt.Errorf("service %q is not in the manifest", name)
	}
	if s.PostgreSQL == nil || s.PostgreSQL.PITR == nil {
		return nil, fmt.Errorf("service %q has no postgresql.pitr block", name)
	}
	repo, ok := m.PgRepositories[s.PostgreSQL.PITR.Repository]
	if !ok {
		return nil, fmt.Errorf("pgbackrest repository %q is not in the manifest", s.PostgreSQL.PITR.Repository)
	}
	return &Stanza{Name: s.Name, DataDir: s.PostgreSQL.DataDir, User: s.User, Repo: repo}, nil
}

// Env is the environment pgbackrest runs with: the helper's own without
// PGBACKREST_* variables (but PGBACKREST_LOCK_PATH), the repository's environment file (S3 keys and
// the like), then the stanza's settings, which win. pg1-path is dataDir:
// the stanza's data directory, or a scratch directory for a drill.
func (s *Stanza) Env(dataDir string) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		// Only where pgbackrest keeps its lock files may come from the
		// helper's environment (tests running at once use their own).
		if !strings.HasPrefix(kv, "PGBACKREST_") || strings.HasPrefix(kv, "PGBACKREST_LOCK_PATH=") {
			env = append(env, kv)
		}
	}
	if s.Repo.EnvironmentFile != "" {
		fileEnv, err := restic.ReadEnvFile(s.Repo.EnvironmentFile)
		if err != nil {
			return nil, err
		}
		env = append(env, fileEnv...)
	}
	set := func(k, v string) {
		if v != "" {
			env = append(env, "PGBACKREST_"+k+"="+v)
		}
	}
	set("STANZA", s.Name)
	set("PG1_PATH", dataDir)
	set("REPO1_TYPE", s.Repo.Type)
	set("REPO1_PATH", s.Repo.Path)
	set("REPO1_RETENTION_FULL", strconv.Itoa(s.Repo.RetentionFull))
	set("REPO1_S3_BUCKET", s.Repo.S3Bucket)
	set("REPO1_S3_ENDPOINT", s.Repo.S3Endpoint)
	set("REPO1_S3_REGION", s.Repo.S3Region)
	set("REPO1_SFTP_HOST", s.Repo.SFTPHost)
	set("REPO1_SFTP_HOST_USER", s.Repo.SFTPHostUser)
	set("REPO1_SFTP_PRIVATE_KEY_FILE", s.Repo.SFTPKeyFile)
	if s.Repo.CipherPassFile != "" {
		pass, err := readPass(s.Repo.CipherPassFile)
		if err != nil {
			return nil, err
		}
		set("REPO1_CIPHER_TYPE", "aes-256-cbc")
		set("REPO1_CIPHER_PASS", pass)
	}
	// Errors and warnings on stderr, where the runner quotes them; no log
	// file (its default directory may not exist or be writable).
	set("LOG_LEVEL_CONSOLE", "off")
	set("LOG_LEVEL_STDERR", "warn")
	set("LOG_LEVEL_FILE", "off")
	return env, nil
}

// readPass reads the repository passphrase: one line, from a file that
// other users cannot change (they could otherwise make a restore decrypt
// with their key, or a backup encrypt with it).
func readPass(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cipher_pass_file: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("cipher_pass_file: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o002 != 0 {
		return "", fmt.Errorf("cipher_pass_file %s must be root's and not writable by others", path)
	}
	pass := strings.TrimRight(string(b), "\r\n")
	if pass == "" || strings.ContainsAny(pass, "\n\x00") {
		return "", fmt.Errorf("cipher_pass_file %s must hold one line: the passphrase", path)
	}
	return pass, nil
}

// Runner returns a runner of pgbackrest as the stanza's user, with the
// stanza's environment for data directory dataDir. prog is the pgbackrest
// program; runuser switches user (as root) and is left out when the helper
// already runs as that user.
func (s *Stanza) Runner(prog, dataDir string, grace time.Duration) (*restic.Runner, error) {
	env, err := s.Env(dataDir)
	if err != nil {
		return nil, err
	}
	cmd := s.AsOwner(prog, "--no-config")
	return &restic.Runner{Command: cmd, Env: env, Grace: grace}, nil
}

// AsOwner is argv run as the cluster's owner: through runuser, unless the
// helper already runs as that user.
func (s *Stanza) AsOwner(argv ...string) []string {
	if u, err := user.Current(); err == nil && u.Username == s.User {
		return argv
	}
	return append([]string{"runuser", "-u", s.User, "--"}, argv...)
}

// RestoreCommand is the restore_command a restored cluster fetches WAL
// with: the stanza's repository given on the command line, so recovery
// works without /etc/pgbackrest/pgbackrest.conf, and the passphrase read
// from its file. PostgreSQL runs it through /bin/sh, and pgbackrest
// writes it single-quoted into postgresql.auto.conf, so every value in it
// must be a plain shell word.
//
// prog is resolved on PATH: the server that runs restore_command has a
// PATH of its own (on NixOS, without pgbackrest).
// dataDir is where the restored cluster will run: archive-get needs
// pg1-path.
func (s *Stanza) RestoreCommand(prog, dataDir string) (string, error) {
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", fmt.Errorf("restore_command: %w", err)
		}
		prog = p
	}
	args := []string{prog, "--no-config", "--stanza=" + s.Name, "--pg1-path=" + dataDir, "--repo1-type=" + s.Repo.Type, "--repo1-path=" + s.Repo.Path}
	for _, o := range [][2]string{{"s3-bucket", s.Repo.S3Bucket}, {"s3-endpoint", s.Repo.S3Endpoint}, {"s3-region", s.Repo.S3Region},
		{"sftp-host", s.Repo.SFTPHost}, {"sftp-host-user", s.Repo.SFTPHostUser}, {"sftp-private-key-file", s.Repo.SFTPKeyFile}} {
		if o[1] != "" {
			args = append(args, "--repo1-"+o[0]+"="+o[1])
		}
	}
	if s.Repo.CipherPassFile != "" {
		args = append(args, "--repo1-cipher-type=aes-256-cbc")
	}
	for _, a := range args {
		if msg := rules.ShellWord(a); msg != "" {
			return "", fmt.Errorf("restore_command: %q %s", a, msg)
		}
	}
	cmd := strings.Join(args, " ") + ` archive-get %f "%p"`
	if f := s.Repo.CipherPassFile; f != "" {
		if msg := rules.ShellWord(f); msg != "" {
			return "", fmt.Errorf("restore_command: cipher_pass_file %q %s", f, msg)
		}
		cmd = `PGBACKREST_REPO1_CIPHER_PASS="$(cat ` + f + `)" ` + cmd
	}
	return cmd, nil
}

// Backup is one backup in `pgbackrest info --output=json`.
type Backup struct {
	Label string    `json:"label"`
	Type  string    `json:"type"` // "full", "diff" or "incr"
	Start time.Time `json:"-"`
	Stop  time.Time `json:"-"`
	Size  int64     `json:"-"` // database size
	Repo  int64     `json:"-"` // size in the repository
	Error bool      `json:"error"`
}

// Info is what nixgen reads of one stanza's `pgbackrest info --output=json`.
type Info struct {
	Backups     []Backup // oldest first
	ArchiveMin  string
	ArchiveMax  string
	StatusCode  int
	StatusMsg   string
	NoStanza    bool // the repository has no such stanza yet
	NoBackupSet bool // the stanza exists, with no backup
}

// ErrNoBackup is returned by Latest when the repository holds no backup of
// the stanza: a restore has nothing to start from.
var ErrNoBackup = errors.New("no backup in the repository")

// ParseInfo reads `pgbackrest info --output=json` for one stanza.
func ParseInfo(b []byte) (*Info, error) {
	var raw []struct {
		Archive []struct {
			Min string `json:"min"`
			Max string `json:"max"`
		} `json:"archive"`
		Backup []struct {
			Label string `json:"label"`
			Type  string `json:"type"`
			Error bool   `json:"error"`
			Info  struct {
				Size       int64 `json:"size"`
				Repository struct {
					Size int64 `json:"size"`
				} `json:"repository"`
			} `json:"info"`
			Timestamp struct {
				Start int64 `json:"start"`
				Stop  int64 `json:"stop"`
			} `json:"timestamp"`
		} `json:"backup"`
		Status struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("pgbackrest info --output=json: %w", err)
	}
	if len(raw) != 1 {
		return nil, fmt.Errorf("pgbackrest info --output=json: %d stanzas, want 1", len(raw))
	}
	r := raw[0]
	in := &Info{StatusCode: r.Status.Code, StatusMsg: r.Status.Message}
	// pgBackRest's status codes: 1 missing stanza path, 2 no valid backups.
	in.NoStanza = r.Status.Code == 1
	in.NoBackupSet = r.Status.Code == 2
	for _, a := range r.Archive {
		in.ArchiveMin, in.ArchiveMax = a.Min, a.Max
	}
	for _, x := range r.Backup {
		in.Backups = append(in.Backups, Backup{Label: x.Label, Type: x.Type, Error: x.Error,
			Start: time.Unix(x.Timestamp.Start, 0).UTC(), Stop: time.Unix(x.Timestamp.Stop, 0).UTC(),
			Size: x.Info.Size, Repo: x.Info.Repository.Size})
	}
	sort.SliceStable(in.Backups, func(i, j int) bool { return in.Backups[i].Stop.Before(in.Backups[j].Stop) })
	return in, nil
}

// Latest returns the newest backup of the given type ("" for any).
func (in *Info) Latest(typ string) (Backup, error) {
	for i := len(in.Backups) - 1; i >= 0; i-- {
		if b := in.Backups[i]; typ == "" || b.Type == typ {
			return b, nil
		}
	}
	return Backup{}, ErrNoBackup
}

// TargetTime checks a --target-time: a date, a time and an explicit UTC
// offset, the form pgbackrest hands to PostgreSQL's recovery_target_time.
// The offset is required: at 3 a.m. nobody should have to guess which
// zone "12:00" meant.
func TargetTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05Z07", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999Z07", "2006-01-02 15:04:05.999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("target time %q is not \"YYYY-MM-DD HH:MM:SS+HH\" (an explicit UTC offset, such as +00, is required)", s)
}
