// Package manifest is the JSON contract between nixgen (which writes
// generated/<host>/manifest.json) and nixgen-helper (which reads it on the
// host). The generator marshals these types; the helper decodes them strictly
// and validates them before it runs any zfs command, since a manifest is the
// only input the helper trusts.
package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
)

// Version is bumped whenever a field changes meaning.
const Version = 1

// Manifest is everything the helper needs to know about one host.
type Manifest struct {
	// Generated carries the generated-file marker: JSON has no comments, and
	// `nixgen render` removes only files that carry it.
	Generated    string                `json:"_generated"`
	Version      int                   `json:"version"`
	Host         string                `json:"host"`
	Parent       Parent                `json:"parent"`
	Services     []Service             `json:"services"` // sorted by name
	Repositories map[string]Repository `json:"repositories,omitempty"`
	Notifiers    map[string]Notifier   `json:"notifiers,omitempty"`
	// Jobs are the generated units whose outcome `nixgen-helper notify`
	// reports (OnFailure=/OnSuccess= hooks pass only the unit name).
	Jobs []Job `json:"jobs,omitempty"` // sorted by unit
	// Replicas are datasets that other hosts of the specs replicate into
	// this host; `datasets apply` keeps them canmount=noauto.
	Replicas []Replica `json:"replicas,omitempty"` // sorted by dataset
}

// Replica is a dataset received from another host by syncoid.
type Replica struct {
	Dataset string `json:"dataset"` // on this host
	Source  string `json:"source"`  // "host:dataset" it comes from
}

// Job kinds.
const (
	JobBackup      = "backup"      // restic backup of a service
	JobPrune       = "prune"       // restic forget --prune of a repository
	JobCheck       = "check"       // restic check of a repository
	JobDrill       = "drill"       // restore drill of a repository
	JobSnapshot    = "snapshot"    // sanoid
	JobReplication = "replication" // syncoid of a service
)

// Job is one generated unit whose result is reported.
type Job struct {
	Unit       string   `json:"unit"` // full unit name, e.g. "restic-backups-sonarr.service"
	Kind       string   `json:"kind"`
	Service    string   `json:"service,omitempty"`    // backup, replication
	Repository string   `json:"repository,omitempty"` // backup, prune, check, drill
	Notify     []string `json:"notify,omitempty"`     // notifier names
	// NotifySuccess: success is reported too, for jobs where silence must be
	// noticed (a backup that stops running is as bad as one that fails).
	NotifySuccess bool `json:"notify_success,omitempty"`
}

// Parent is the dataset under which every service dataset lives.
type Parent struct {
	Dataset string `json:"dataset"` // created with mountpoint=none when missing
	Pool    string `json:"pool"`
}

// Service is one service's dataset and data-protection settings.
type Service struct {
	Name       string            `json:"name"`
	Unit       string            `json:"unit"`
	Dataset    string            `json:"dataset"`
	Mountpoint string            `json:"mountpoint"`
	User       string            `json:"user"`
	Group      string            `json:"group"`
	Mode       string            `json:"mode"`       // octal, e.g. "0750"
	Properties map[string]string `json:"properties"` // without mountpoint; JSON sorts keys
	// CreateOnly lists the property names in Properties that ZFS accepts only
	// at creation; apply reports a difference instead of setting them.
	CreateOnly  []string     `json:"create_only,omitempty"`
	Preseed     *Preseed     `json:"preseed,omitempty"`
	Backup      *Backup      `json:"backup,omitempty"`
	Replication *Replication `json:"replication,omitempty"`
	Notify      []string     `json:"notify,omitempty"`
}

// Preseed is the restore plan for a service whose data is missing.
type Preseed struct {
	Methods        []string `json:"methods"`
	TimeoutSeconds int64    `json:"timeout_seconds"` // per method
	OnFailure      string   `json:"on_failure"`      // "block" | "start-empty"
}

// Backup names the restic repository and the paths recorded there.
type Backup struct {
	Repository string   `json:"repository"`
	Paths      []string `json:"paths"`
	Tags       []string `json:"tags,omitempty"`
}

// Replication is where syncoid sends the dataset (and where preseed pulls it back from).
type Replication struct {
	Target  string `json:"target"`         // "[user@]host:pool/dataset" or "pool/dataset"
	User    string `json:"user,omitempty"` // ssh user, "" for none
	Host    string `json:"host,omitempty"` // "" for a local target
	Dataset string `json:"dataset"`        // dataset on the target
	SSHKey  string `json:"ssh_key,omitempty"`
}

// Repository is a restic repository; secrets stay in files on the host.
type Repository struct {
	URL             string `json:"url"`
	PasswordFile    string `json:"password_file"`
	EnvironmentFile string `json:"environment_file,omitempty"`
}

// Notifier is an ntfy topic or a webhook.
type Notifier struct {
	Type      string `json:"type"` // "ntfy" | "webhook"
	URL       string `json:"url"`
	TokenFile string `json:"token_file,omitempty"`
}

// GeneratedMarker is what Marshal puts into the "_generated" field; it matches
// the header of the generated .nix files.
const GeneratedMarker = "Code generated by nixgen. DO NOT EDIT."

// Marshal renders the manifest as indented JSON with a trailing newline.
func Marshal(m *Manifest) ([]byte, error) {
	withMarker := *m
	withMarker.Generated = GeneratedMarker
	m = &withMarker
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads a manifest strictly (unknown fields are errors) and validates it.
func Decode(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks what the helper relies on before touching the system.
func (m *Manifest) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if m.Version != Version {
		bad("version %d is not supported (want %d)", m.Version, Version)
	}
	if m.Parent.Dataset == "" || m.Parent.Pool == "" {
		bad("parent.dataset and parent.pool are required")
	} else if m.Parent.Dataset != m.Parent.Pool && !strings.HasPrefix(m.Parent.Dataset, m.Parent.Pool+"/") {
		bad("parent.dataset %q is not in pool %q", m.Parent.Dataset, m.Parent.Pool)
	}
	seen := map[string]bool{}
	for i, s := range m.Services {
		where := fmt.Sprintf("services[%d] (%s)", i, s.Name)
		if s.Name == "" || seen[s.Name] {
			bad("%s: missing or duplicate name", where)
		}
		seen[s.Name] = true
		if !strings.HasPrefix(s.Dataset, m.Parent.Dataset+"/") {
			bad("%s: dataset %q is not below parent %q", where, s.Dataset, m.Parent.Dataset)
		}
		if !isAbs(s.Mountpoint) {
			bad("%s: mountpoint %q is not an absolute, clean path", where, s.Mountpoint)
		}
		if s.User == "" || s.Group == "" {
			bad("%s: user and group are required", where)
		}
		if !isOctalMode(s.Mode) {
			bad("%s: mode %q is not an octal mode like 0750", where, s.Mode)
		}
		if _, ok := s.Properties["mountpoint"]; ok {
			bad("%s: mountpoint belongs in the mountpoint field, not in properties", where)
		}
		for _, c := range s.CreateOnly {
			if _, ok := s.Properties[c]; !ok {
				bad("%s: create_only names %q, which is not in properties", where, c)
			}
		}
		if s.Backup != nil {
			if _, ok := m.Repositories[s.Backup.Repository]; !ok {
				bad("%s: backup repository %q is not declared", where, s.Backup.Repository)
			}
			for _, p := range s.Backup.Paths {
				if !isAbs(p) {
					bad("%s: backup path %q is not absolute", where, p)
				}
			}
		}
		if s.Preseed != nil {
			if s.Preseed.OnFailure != "block" && s.Preseed.OnFailure != "start-empty" {
				bad("%s: preseed on_failure %q is not block or start-empty", where, s.Preseed.OnFailure)
			}
			if s.Preseed.TimeoutSeconds <= 0 {
				bad("%s: preseed timeout_seconds must be positive", where)
			}
			for _, meth := range s.Preseed.Methods {
				switch meth {
				case "syncoid":
					if s.Replication == nil {
						bad("%s: preseed method syncoid needs replication", where)
					}
				case "restic":
					if s.Backup == nil {
						bad("%s: preseed method restic needs backup", where)
					}
				case "local":
				default:
					bad("%s: unknown preseed method %q", where, meth)
				}
			}
		}
		if s.Replication != nil && s.Replication.SSHKey != "" && !isAbs(s.Replication.SSHKey) {
			bad("%s: replication ssh_key %q is not absolute", where, s.Replication.SSHKey)
		}
		for _, n := range s.Notify {
			if _, ok := m.Notifiers[n]; !ok {
				bad("%s: notifier %q is not declared", where, n)
			}
		}
	}
	for name, r := range m.Repositories {
		if r.URL == "" || !isAbs(r.PasswordFile) {
			bad("repositories.%s: url and an absolute password_file are required", name)
		}
		if r.EnvironmentFile != "" && !isAbs(r.EnvironmentFile) {
			bad("repositories.%s: environment_file %q is not absolute", name, r.EnvironmentFile)
		}
	}
	for name, n := range m.Notifiers {
		if n.Type != "ntfy" && n.Type != "webhook" {
			bad("notifiers.%s: type %q is not ntfy or webhook", name, n.Type)
		}
		if n.TokenFile != "" && !isAbs(n.TokenFile) {
			bad("notifiers.%s: token_file %q is not absolute", name, n.TokenFile)
		}
	}
	for i, r := range m.Replicas {
		if r.Dataset == "" || strings.HasPrefix(r.Dataset, "/") || strings.HasSuffix(r.Dataset, "/") {
			bad("replicas[%d]: dataset %q is not a dataset name", i, r.Dataset)
		}
	}
	units := map[string]bool{}
	for i, j := range m.Jobs {
		where := fmt.Sprintf("jobs[%d] (%s)", i, j.Unit)
		if j.Unit == "" || units[j.Unit] {
			bad("%s: missing or duplicate unit", where)
		}
		units[j.Unit] = true
		switch j.Kind {
		case JobBackup, JobPrune, JobCheck, JobDrill, JobSnapshot, JobReplication:
		default:
			bad("%s: unknown kind %q", where, j.Kind)
		}
		if j.Service != "" && !seen[j.Service] {
			bad("%s: service %q is not in the manifest", where, j.Service)
		}
		if _, ok := m.Repositories[j.Repository]; j.Repository != "" && !ok {
			bad("%s: repository %q is not declared", where, j.Repository)
		}
		for _, n := range j.Notify {
			if _, ok := m.Notifiers[n]; !ok {
				bad("%s: notifier %q is not declared", where, n)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("manifest is invalid:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// Service returns the named service, or nil.
func (m *Manifest) Service(name string) *Service {
	for i := range m.Services {
		if m.Services[i].Name == name {
			return &m.Services[i]
		}
	}
	return nil
}

func isAbs(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p
}

func isOctalMode(s string) bool {
	if len(s) < 3 || len(s) > 4 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}
