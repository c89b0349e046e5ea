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
	"maps"
	"slices"
	"strings"

	"github.com/nixgen/nixgen/internal/rules"
)

// Version is bumped whenever the manifest's shape changes: a field added,
// removed or changing meaning. The helper decodes strictly, so a manifest
// of another version is refused, with both versions named.
//
// 2: everything added while the version stayed 1: jobs, replicas, receive,
// create_only, repository_file, url_file, token_file, notifier events,
// protect, container, a backup's repositories, postgresql and
// pgbackrest_repositories.
const Version = 2

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
	// PgRepositories are the pgBackRest repositories of the host's stanzas.
	PgRepositories map[string]PgRepository `json:"pgbackrest_repositories,omitempty"`
	Notifiers      map[string]Notifier     `json:"notifiers,omitempty"`
	// Jobs are the generated units whose outcome `nixgen-helper notify`
	// reports (OnFailure=/OnSuccess= hooks pass only the unit name).
	Jobs []Job `json:"jobs,omitempty"` // sorted by unit
	// Replicas are datasets that other hosts of the specs replicate into
	// this host; `datasets apply` keeps them canmount=noauto.
	Replicas []Replica `json:"replicas,omitempty"` // sorted by dataset
	// Receive lists where other hosts of the specs push replicas over ssh:
	// `datasets apply` creates each parent and delegates to its user the
	// ZFS permissions syncoid needs (ReceivePermissions).
	Receive []Receive `json:"receive,omitempty"` // sorted by parent, then user
}

// Receive is a parent dataset that a receive user may create replicas in.
type Receive struct {
	Parent string `json:"parent"` // the targets' parent dataset on this host
	User   string `json:"user"`   // the ssh user syncoid logs in as
}

// ReceivePermissions are the ZFS permissions a receive user needs for
// syncoid's `zfs receive` of a replica below Receive.Parent and for
// syncoid's own upkeep of it (docs/replication.md says why each one):
// ReceiveParentPermissions locally on the parent, to create a new replica
// there; ReceivePermissions as create-time permissions ("zfs allow -c"),
// which ZFS grants to whoever creates a dataset below the parent, on the
// replica it created — so the user never holds them on anything else.
var (
	ReceiveParentPermissions = []string{"create", "mount", "receive"}
	ReceivePermissions       = []string{"change-key", "compression", "destroy", "mount", "mountpoint", "receive", "rollback", "send"}
)

// Replica is a dataset received from another host by syncoid.
type Replica struct {
	Dataset string `json:"dataset"` // on this host
	Source  string `json:"source"`  // "host:dataset" it comes from
}

// Job kinds.
const (
	JobBackup      = "backup"            // restic backup of a service
	JobPrune       = "prune"             // restic forget --prune of a repository
	JobCheck       = "check"             // restic check of a repository
	JobDrill       = "drill"             // restore drill of a repository
	JobSnapshot    = "snapshot"          // sanoid
	JobReplication = "replication"       // syncoid of a service
	JobPgBackup    = "pgbackrest-backup" // pgBackRest full or diff backup of a service
	JobPgDrill     = "pgbackrest-drill"  // pgBackRest restore drill of a service
)

// Job is one generated unit whose result is reported.
type Job struct {
	Unit       string   `json:"unit"` // full unit name, e.g. "restic-backups-sonarr.service"
	Kind       string   `json:"kind"`
	Service    string   `json:"service,omitempty"`    // backup, replication
	Repository string   `json:"repository,omitempty"` // backup, prune, check, drill; pgbackrest-*: a pgBackRest repository
	Notify     []string `json:"notify,omitempty"`     // notifier names

}

// Parent is the dataset under which every service dataset lives.
type Parent struct {
	Dataset string `json:"dataset"` // created with mountpoint=none when missing
	Pool    string `json:"pool"`
}

// Service is one service's dataset and data-protection settings.
type Service struct {
	Name string `json:"name"`
	Unit string `json:"unit,omitempty"` // "" for a container
	// Container is the virtualisation.oci-containers name of a service
	// that runs as a container (its unit depends on the backend).
	Container string `json:"container,omitempty"`
	// Protect marks an existing host dataset (a host's protect block) that
	// nixgen backs up, snapshots and replicates but never creates, changes
	// or preseeds: no unit, owner, mode or properties, and it may live
	// outside the parent dataset.
	Protect    bool              `json:"protect,omitempty"`
	Dataset    string            `json:"dataset"`
	Mountpoint string            `json:"mountpoint"`
	User       string            `json:"user"`
	Group      string            `json:"group"`
	Mode       string            `json:"mode"`       // octal, e.g. "0750"
	Properties map[string]string `json:"properties"` // without mountpoint; JSON sorts keys
	// CreateOnly lists the property names in Properties that ZFS accepts only
	// at creation; apply reports a difference instead of setting them.
	CreateOnly []string `json:"create_only,omitempty"`
	// Snapshots: sanoid takes snapshots of the dataset (a snapshot policy
	// with autosnap), so `nixgen-helper metrics` reports their age.
	Snapshots   bool         `json:"snapshots,omitempty"`
	Preseed     *Preseed     `json:"preseed,omitempty"`
	Backup      *Backup      `json:"backup,omitempty"`
	Replication *Replication `json:"replication,omitempty"`
	PostgreSQL  *PostgreSQL  `json:"postgresql,omitempty"`
	Notify      []string     `json:"notify,omitempty"`
}

// Preseed is the restore plan for a service whose data is missing.
type Preseed struct {
	Methods        []string `json:"methods"`
	TimeoutSeconds int64    `json:"timeout_seconds"` // per method
	OnFailure      string   `json:"on_failure"`      // "block" | "start-empty"
}

// Backup names the restic repositories and the paths recorded there.
type Backup struct {
	Repository string `json:"repository"` // the first of Repos
	// Repositories lists every repository, in the spec's order, when the
	// spec gave a list (backup { repositories = [...] }); preseed tries them
	// in this order.
	Repositories []string `json:"repositories,omitempty"`
	Paths        []string `json:"paths"`
	Tags         []string `json:"tags,omitempty"`
}

// Managed returns a copy of the manifest without its protected datasets:
// the services whose datasets `datasets apply` creates and tunes.
func (m *Manifest) Managed() *Manifest {
	out := *m
	out.Services = nil
	for _, s := range m.Services {
		if !s.Protect {
			out.Services = append(out.Services, s)
		}
	}
	return &out
}

// Only returns the manifest of one service of m, s (nil for nil): the
// host, the parent, that service, and the repositories, pgBackRest
// repositories and notifiers it names; no jobs, replicas or receive users.
// A service's preseed unit reads it (generated/<host>/services/
// <service>.preseed.json): every preseed unit starts at boot, and each
// decoding the whole manifest made a host of N services decode N
// manifests of N services.
func (m *Manifest) Only(s *Service) *Manifest {
	if s == nil {
		return nil
	}
	out := &Manifest{Generated: m.Generated, Version: m.Version, Host: m.Host, Parent: m.Parent, Services: []Service{*s}}
	if s.Backup != nil {
		out.Repositories = pick(m.Repositories, s.Backup.Repos())
	}
	if s.PostgreSQL != nil && s.PostgreSQL.PITR != nil {
		out.PgRepositories = pick(m.PgRepositories, []string{s.PostgreSQL.PITR.Repository})
	}
	out.Notifiers = pick(m.Notifiers, s.Notify)
	return out
}

// pick returns the entries of all named by names (nil for none).
func pick[V any](all map[string]V, names []string) map[string]V {
	var out map[string]V
	for _, n := range names {
		if v, ok := all[n]; ok {
			if out == nil {
				out = map[string]V{}
			}
			out[n] = v
		}
	}
	return out
}

// Repos returns the repositories of the backup, in order.
func (b *Backup) Repos() []string {
	if len(b.Repositories) > 0 {
		return b.Repositories
	}
	return []string{b.Repository}
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
// Exactly one of URL and RepositoryFile is set; internal/restic resolves
// them (restic.RepositoryURL).
type Repository struct {
	URL             string `json:"url,omitempty"`
	RepositoryFile  string `json:"repository_file,omitempty"` // file holding the URL
	PasswordFile    string `json:"password_file"`
	EnvironmentFile string `json:"environment_file,omitempty"`
}

// Notifier is an ntfy topic or a webhook. Exactly one of URL and URLFile
// is set.
type Notifier struct {
	Type      string `json:"type"` // "ntfy" | "webhook"
	URL       string `json:"url,omitempty"`
	URLFile   string `json:"url_file,omitempty"` // file holding the URL
	TokenFile string `json:"token_file,omitempty"`
	// Events are what the notifier is told about (rules.NotifierEvents);
	// empty means rules.DefaultNotifierEvents.
	Events []string `json:"events,omitempty"`
}

// Wants reports whether the notifier is told about event; a notifier of
// successes also hears of recoveries, which are successes.
func (n Notifier) Wants(event string) bool {
	events := n.Events
	if len(events) == 0 {
		events = rules.DefaultNotifierEvents
	}
	return slices.Contains(events, event) || event == rules.EventRecovery && slices.Contains(events, rules.EventSuccess)
}

// CredentialToken and CredentialURL name the systemd credentials
// (LoadCredential=) through which the generated notify units hand a
// notifier's token_file and url_file to nixgen-helper notify, which runs as
// a dynamic user that cannot read the root-only files themselves.
func CredentialToken(notifier string) string { return "notifier-" + notifier + "-token" }

// CredentialURL: see CredentialToken.
func CredentialURL(notifier string) string { return "notifier-" + notifier + "-url" }

// GeneratedMarker is what Marshal puts into the "_generated" field; it matches
// the header of the generated .nix files.
const GeneratedMarker = "Code generated by nixgen. DO NOT EDIT."

// Marshal renders the manifest as indented JSON with a trailing newline.
func Marshal(m *Manifest) ([]byte, error) {
	withMarker := *m
	withMarker.Generated = GeneratedMarker
	m = &withMarker
	compact, err := marshalCompact(m)
	if err != nil {
		return nil, err
	}
	// Indentation adds about 60 % to a manifest of many services.
	return indent(make([]byte, 0, 2*len(compact)), compact), nil
}

// marshalCompact is the encoder's output without indentation: no HTML
// escapes, a newline at the end.
func marshalCompact(m *Manifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads a manifest strictly (unknown fields are errors) and validates it.
// A manifest of another version is refused with both versions named, not
// with the first field this version does not know: when the strict decode
// fails, a lenient one reads the version. (Only then: reading the whole
// manifest twice was a third of a boot-time preseed skip on a host of
// hundreds of services.)
func Decode(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		var v struct {
			Version *int `json:"version"`
		}
		if json.Unmarshal(data, &v) == nil && v.Version != nil && *v.Version != Version {
			return nil, versionError(*v.Version)
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version != Version {
		return nil, versionError(m.Version)
	}
	if dec.More() {
		return nil, fmt.Errorf("manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func versionError(v int) error {
	return fmt.Errorf("manifest: version %d, but this nixgen-helper reads version %d: render the tree with the nixgen release that matches the helper", v, Version)
}

// Validate checks what the helper relies on before touching the system.
// It applies the same rules as the spec validator (internal/rules): a
// manifest is the helper's only input, and it must not be able to steer a
// root process where a spec could not (a service named "../x" writing
// files elsewhere, a mountpoint on /etc, a dataset outside the parent, a
// shell metacharacter in an ssh key).
func (m *Manifest) Validate() error {
	v := &validator{m: m}
	v.top()
	for i := range m.Services {
		v.service(i)
	}
	for _, name := range slices.Sorted(maps.Keys(m.Repositories)) {
		v.repository(name, m.Repositories[name])
	}
	for _, name := range slices.Sorted(maps.Keys(m.Notifiers)) {
		v.notifier(name, m.Notifiers[name])
	}
	for i, r := range m.Replicas {
		where := fmt.Sprintf("replicas[%d]", i)
		if msg := rules.DatasetName(r.Dataset); msg != "" {
			v.bad("%s: dataset %q is not a dataset name: %s", where, r.Dataset, msg)
			continue
		}
		v.datasets = append(v.datasets, claim{r.Dataset, where})
	}
	for _, name := range slices.Sorted(maps.Keys(m.PgRepositories)) {
		v.pgRepository(name, m.PgRepositories[name])
	}
	for i, r := range m.Receive {
		where := fmt.Sprintf("receive[%d]", i)
		if msg := rules.DatasetName(r.Parent); msg != "" {
			v.bad("%s: parent %q is not a dataset name: %s", where, r.Parent, msg)
		}
		if msg := rules.UnixName(r.User); msg != "" {
			v.bad("%s: user %q is not a valid name: %s", where, r.User, msg)
		} else if r.User == "root" {
			v.bad("%s: user root is not a restricted receive user", where)
		}
	}
	v.overlaps(v.datasets)
	v.overlaps(v.mountpoints)
	v.jobs()
	if len(v.errs) > 0 {
		return fmt.Errorf("manifest is invalid:\n  %s", strings.Join(v.errs, "\n  "))
	}
	return nil
}

type validator struct {
	m    *Manifest
	errs []string
	seen map[string]bool // service names
	// datasets and mountpoints claimed, for overlaps
	datasets, mountpoints []claim
}

// claim is a dataset or mountpoint and what uses it.
type claim struct{ key, where string }

func (v *validator) bad(format string, a ...any) { v.errs = append(v.errs, fmt.Sprintf(format, a...)) }

// name checks a name that becomes a path component of lock, metrics and
// run files.
func (v *validator) name(where, what, s string) bool {
	if msg := rules.Name(s); msg != "" {
		v.bad("%s: %s %q %s", where, what, s, msg)
		return false
	}
	return true
}

// path checks an absolute, clean path.
func (v *validator) path(where, what, p string) bool {
	if msg := rules.AbsPath(p); msg != "" {
		v.bad("%s: %s %q %s", where, what, p, msg)
		return false
	}
	return true
}

// overlaps reports a claim on the same key as an earlier one, or on a key
// below another claimed key (datasets and paths both nest at "/"): a map
// and a walk up each key's parents, so a host with thousands of services
// costs no more than a few thousand lookups each.
func (v *validator) overlaps(claims []claim) {
	first := map[string]string{}
	for _, c := range claims {
		if by, dup := first[c.key]; dup {
			v.bad("%s: %q overlaps %q of %s", c.where, c.key, c.key, by)
			continue
		}
		first[c.key] = c.where
	}
	for _, c := range claims {
		for p := c.key; ; {
			i := strings.LastIndexByte(p, '/')
			if i <= 0 {
				break
			}
			p = p[:i]
			if by, ok := first[p]; ok {
				v.bad("%s: %q overlaps %q of %s", c.where, c.key, p, by)
			}
		}
	}
}

func (v *validator) top() {
	m := v.m
	if m.Version != Version {
		v.bad("version %d, but this nixgen-helper reads version %d", m.Version, Version)
	}
	v.name("host", "name", m.Host)
	if msg := rules.DatasetName(m.Parent.Dataset); msg != "" {
		v.bad("parent.dataset %q is not a dataset name: %s", m.Parent.Dataset, msg)
	} else if rules.Pool(m.Parent.Dataset) != m.Parent.Pool {
		v.bad("parent.dataset %q is not in pool %q", m.Parent.Dataset, m.Parent.Pool)
	}
}

func (v *validator) service(i int) {
	m, s := v.m, &v.m.Services[i]
	where := fmt.Sprintf("services[%d] (%s)", i, s.Name)
	if v.seen == nil {
		v.seen = map[string]bool{}
	}
	if v.name(where, "name", s.Name) && v.seen[s.Name] {
		v.bad("%s: duplicate name", where)
	}
	v.seen[s.Name] = true
	switch {
	case s.Protect:
		if s.Unit != "" || s.Container != "" || s.Preseed != nil {
			v.bad("%s: a protected dataset has no unit, container or preseed", where)
		}
	case s.Container != "":
		if s.Unit != "" {
			v.bad("%s: both unit %q and container %q", where, s.Unit, s.Container)
		}
		v.name(where, "container", s.Container)
	default:
		if msg := rules.Unit(s.Unit); msg != "" {
			v.bad("%s: unit %q %s", where, s.Unit, msg)
		}
	}
	if msg := rules.DatasetName(s.Dataset); msg != "" {
		v.bad("%s: dataset %q is not a dataset name: %s", where, s.Dataset, msg)
	} else if !s.Protect && !strings.HasPrefix(s.Dataset, m.Parent.Dataset+"/") {
		v.bad("%s: dataset %q is not below parent %q", where, s.Dataset, m.Parent.Dataset)
	} else {
		v.datasets = append(v.datasets, claim{s.Dataset, where})
	}
	// A protected dataset's mountpoint is the host's own (/home, /persist):
	// nixgen never mounts anything there, so the rules for where it may
	// mount a dataset do not apply.
	mpRule := rules.Mountpoint
	if s.Protect {
		mpRule = rules.AbsPath
	}
	mpOK := mpRule(s.Mountpoint) == ""
	if !mpOK {
		v.bad("%s: mountpoint %q %s", where, s.Mountpoint, mpRule(s.Mountpoint))
	} else {
		v.mountpoints = append(v.mountpoints, claim{s.Mountpoint, where})
	}
	for _, o := range [][2]string{{"user", s.User}, {"group", s.Group}} {
		if s.Protect {
			break
		}
		if msg := rules.Owner(o[1]); msg != "" {
			v.bad("%s: %s %q is not a valid name or id: %s", where, o[0], o[1], msg)
		}
	}
	if msg := rules.Mode(s.Mode); msg != "" && !s.Protect {
		v.bad("%s: mode %q %s", where, s.Mode, msg)
	}
	if _, ok := s.Properties["mountpoint"]; ok {
		v.bad("%s: mountpoint belongs in the mountpoint field, not in properties", where)
	}
	for _, c := range s.CreateOnly {
		if _, ok := s.Properties[c]; !ok {
			v.bad("%s: create_only names %q, which is not in properties", where, c)
		}
	}
	if b := s.Backup; b != nil {
		if len(b.Repositories) > 0 && b.Repositories[0] != b.Repository {
			v.bad("%s: backup repository %q is not the first of repositories %q", where, b.Repository, b.Repositories)
		}
		seen := map[string]bool{}
		for _, r := range b.Repos() {
			if _, ok := m.Repositories[r]; !ok {
				v.bad("%s: backup repository %q is not declared", where, r)
			}
			if seen[r] {
				v.bad("%s: backup repository %q is listed twice", where, r)
			}
			seen[r] = true
		}
		for _, p := range b.Paths {
			if v.path(where, "backup path", p) && mpOK && !rules.Within(p, s.Mountpoint, "/") {
				v.bad("%s: backup path %q is not inside the mountpoint %q", where, p, s.Mountpoint)
			}
		}
	}
	if p := s.Preseed; p != nil {
		if p.OnFailure != "block" && p.OnFailure != "start-empty" {
			v.bad("%s: preseed on_failure %q is not block or start-empty", where, p.OnFailure)
		}
		if p.TimeoutSeconds <= 0 {
			v.bad("%s: preseed timeout_seconds must be positive", where)
		}
		for _, meth := range p.Methods {
			switch meth {
			case "syncoid":
				if s.Replication == nil {
					v.bad("%s: preseed method syncoid needs replication", where)
				}
			case "restic":
				if s.Backup == nil {
					v.bad("%s: preseed method restic needs backup", where)
				}
			case "pgbackrest":
				if s.PostgreSQL == nil || s.PostgreSQL.PITR == nil {
					v.bad("%s: preseed method pgbackrest needs postgresql.pitr", where)
				}
			case "local":
			default:
				v.bad("%s: unknown preseed method %q", where, meth)
			}
		}
	}
	if r := s.Replication; r != nil {
		v.replication(where, s, r)
	}
	if pg := s.PostgreSQL; pg != nil {
		v.postgresql(where, s, pg, mpOK)
	}
	for _, n := range s.Notify {
		if _, ok := m.Notifiers[n]; !ok {
			v.bad("%s: notifier %q is not declared", where, n)
		}
	}
}

// replication checks every value that reaches syncoid's and ssh's shell
// command lines against the one allow-list (rules.ParseTarget, SSHKey).
func (v *validator) replication(where string, s *Service, r *Replication) {
	u, h, d, problem := rules.ParseTarget(r.Target)
	switch {
	case problem != "":
		v.bad("%s: replication target %q: %s", where, r.Target, problem)
		return
	case u != r.User || h != r.Host || d != r.Dataset:
		v.bad("%s: replication user %q, host %q and dataset %q do not match the target %q", where, r.User, r.Host, r.Dataset, r.Target)
		return
	}
	if h == "" && rules.Overlap(d, s.Dataset) {
		v.bad("%s: the local replication target %q overlaps the service's own dataset", where, d)
	}
	if r.SSHKey != "" {
		if h == "" {
			v.bad("%s: replication ssh_key is set for a local target", where)
		}
		if msg := rules.SSHKey(r.SSHKey); msg != "" {
			v.bad("%s: replication ssh_key %q %s", where, r.SSHKey, msg)
		}
	}
}

func (v *validator) repository(name string, r Repository) {
	where := "repositories." + name
	v.name(where, "name", name)
	switch {
	case (r.URL == "") == (r.RepositoryFile == ""):
		v.bad("%s: exactly one of url and repository_file is required", where)
	case r.URL != "":
		if msg := rules.RepositorySecret(r.URL); msg != "" {
			v.bad("%s: url %q: %s; use repository_file", where, rules.RedactURL(r.URL), msg)
		}
	default:
		v.path(where, "repository_file", r.RepositoryFile)
	}
	v.path(where, "password_file", r.PasswordFile)
	if r.EnvironmentFile != "" {
		v.path(where, "environment_file", r.EnvironmentFile)
	}
}

func (v *validator) notifier(name string, n Notifier) {
	where := "notifiers." + name
	v.name(where, "name", name)
	if n.Type != "ntfy" && n.Type != "webhook" {
		v.bad("%s: type %q is not ntfy or webhook", where, n.Type)
	}
	switch {
	case (n.URL == "") == (n.URLFile == ""):
		v.bad("%s: exactly one of url and url_file is required", where)
	case n.URL != "":
		if msg := rules.HTTPURL(n.URL); msg != "" {
			v.bad("%s: url %q %s", where, rules.RedactURL(n.URL), msg)
		} else if msg := rules.NotifierSecret(n.URL); msg != "" {
			v.bad("%s: url %q: %s; use url_file or token_file", where, rules.RedactURL(n.URL), msg)
		}
	default:
		v.path(where, "url_file", n.URLFile)
	}
	if n.TokenFile != "" {
		v.path(where, "token_file", n.TokenFile)
	}
	for _, e := range n.Events {
		if !slices.Contains(rules.NotifierEvents, e) {
			v.bad("%s: unknown event %q", where, e)
		}
	}
}

func (v *validator) jobs() {
	m := v.m
	units := map[string]bool{}
	for i, j := range m.Jobs {
		where := fmt.Sprintf("jobs[%d] (%s)", i, j.Unit)
		// The unit names a metrics file: a valid unit name is one path component.
		if msg := rules.Unit(j.Unit); msg != "" {
			v.bad("%s: unit %q %s", where, j.Unit, msg)
		} else if units[j.Unit] {
			v.bad("%s: duplicate unit", where)
		}
		units[j.Unit] = true
		switch j.Kind {
		case JobBackup, JobPrune, JobCheck, JobDrill, JobSnapshot, JobReplication:
		case JobPgBackup, JobPgDrill:
			if _, ok := m.PgRepositories[j.Repository]; !ok {
				v.bad("%s: pgBackRest repository %q is not declared", where, j.Repository)
			}
			if j.Service == "" {
				v.bad("%s: a %s job needs its service", where, j.Kind)
			}
			j.Repository = "" // checked above, against the other map
		default:
			v.bad("%s: unknown kind %q", where, j.Kind)
		}
		if j.Service != "" && !v.seen[j.Service] {
			v.bad("%s: service %q is not in the manifest", where, j.Service)
		}
		if _, ok := m.Repositories[j.Repository]; j.Repository != "" && !ok {
			v.bad("%s: repository %q is not declared", where, j.Repository)
		}
		for _, n := range j.Notify {
			if _, ok := m.Notifiers[n]; !ok {
				v.bad("%s: notifier %q is not declared", where, n)
			}
		}
	}
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
