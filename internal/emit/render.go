// Package emit renders a validated model.Spec into the generated tree: for
// each host a NixOS module (default.nix and the files it imports) and the
// manifest.json that nixgen-helper reads. Render does no I/O; the CLI writes
// (or compares) the files it returns.
package emit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/parallel"
	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/templates"
)

// Template names, one per output file kind.
const (
	tmplDefault    = "default.nix.tmpl"
	tmplDatasets   = "datasets.nix.tmpl"
	tmplProtection = "protection.nix.tmpl"
	tmplService    = "service.nix.tmpl"
	tmplMonitoring = "monitoring.nix.tmpl"
)

// preseedMargin is added to the preseed unit's start timeout on top of every
// method's own timeout: for the checks before and the fixes after a restore,
// and for nixgen-helper's default 10-minute wait on the per-service lock (a
// preseed started by hand while the unit runs), so the unit is never killed
// by systemd while the helper still keeps its own bounds.
const preseedMargin = 15 * time.Minute

// funcs is the only way templates turn data into text. Functions named nix*
// produce Nix syntax; sd* prepare systemd text that must then pass through a
// nix* function (TestTemplatesQuoteEveryAction enforces this).
var funcs = template.FuncMap{
	"nixStr":      nixString,
	"nixStrBody":  nixStringBody,
	"nixAttr":     nixAttrName,
	"nixAttrPath": nixAttrPath,
	"nixList":     nixList,
	"nixInt":      nixIntValue,
	"nixBool":     nixBool,
	"nixPath":     nixPathLiteral,
	"nixUnit":     nixUnit,
	"nixUnitAttr": nixUnitAttr,
	"nixUnitKey":  nixUnitKey,
	"sdExec":      sdExecArg,
	"sdPath":      sdPathArg,
}

// nixFuncs are the functions an action's pipeline may end in.
var nixFuncs = map[string]bool{
	"nixStr": true, "nixStrBody": true, "nixAttr": true, "nixAttrPath": true,
	"nixList": true, "nixInt": true, "nixBool": true, "nixPath": true,
	"nixUnit": true, "nixUnitAttr": true, "nixUnitKey": true,
}

var (
	parseOnce sync.Once
	parsed    *template.Template
	parseErr  error
)

func loadTemplates() (*template.Template, error) {
	parseOnce.Do(func() {
		parsed, parseErr = template.New("nixgen").Option("missingkey=error").Funcs(funcs).ParseFS(templates.FS, "*.tmpl")
	})
	return parsed, parseErr
}

// Render returns the generated tree for spec, keyed by path relative to the
// output directory ("<host>/default.nix", "<host>/manifest.json", ...).
// The same spec always yields the same bytes.
func Render(spec *model.Spec) (map[string][]byte, error) {
	t, err := loadTemplates()
	if err != nil {
		return nil, fmt.Errorf("emit: parsing templates: %w", err)
	}
	out := map[string][]byte{}
	seenHost := map[string]bool{}
	for _, h := range spec.Hosts {
		if err := checkPathName("host", h.Name); err != nil {
			return nil, fmt.Errorf("emit: %w", err)
		}
		if seenHost[h.Name] {
			return nil, fmt.Errorf("emit: host %q is declared twice", h.Name)
		}
		seenHost[h.Name] = true
		if err := renderHost(t, spec, h, out); err != nil {
			return nil, fmt.Errorf("emit: host %q: %w", h.Name, err)
		}
	}
	return out, nil
}

// checkPathName rejects names that cannot be one path component of the tree.
func checkPathName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%s name %q cannot be used as a file name", kind, name)
	}
	return nil
}

func renderHost(t *template.Template, spec *model.Spec, h *model.Host, out map[string][]byte) error {
	services := append([]*model.Service(nil), h.Services...)
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })

	var buf bytes.Buffer
	exec := func(name string, data any) ([]byte, error) { return execTemplate(t, &buf, name, data) }

	prot, err := protectionFor(spec, h, services)
	if err != nil {
		return err
	}
	dv := defaultView{Name: h.Name, DatasetsTimeoutSec: seconds(datasetsTimeout), RestrictSUIDSGID: true}
	seen := map[string]bool{}
	syncoidUnits := map[string]string{}
	// checkErr stops the services at the first that fails a check; those
	// before it are still rendered, so which error is returned does not
	// depend on the order the work is done in.
	var checkErr error
	checked := services
	for k, s := range services {
		if checkErr = checkService(s, seen, syncoidUnits, prot, &dv); checkErr != nil {
			checked = services[:k]
			break
		}
		rel := "services/" + s.Name + ".nix"
		if s.Protect {
			rel = "protect/" + s.Name + ".nix"
		}
		dv.ServiceFiles = append(dv.ServiceFiles, rel)
	}

	// The per-service modules and the manifest are independent of each
	// other: render them on every CPU (each result goes to its own slot,
	// errors are reported in service order as before).
	var manifestJSON []byte
	var manifestErr error
	var manifestDone sync.WaitGroup
	manifestDone.Go(func() { manifestJSON, manifestErr = buildManifest(spec, h, services) })
	modules := make([][]byte, len(checked))
	errs := make([]error, len(checked))
	parallel.For(len(checked), func(i int) {
		s := checked[i]
		sv, err := serviceFor(spec, h, s)
		if err == nil {
			var buf bytes.Buffer
			modules[i], err = execTemplate(t, &buf, tmplService, sv)
		}
		if err != nil {
			errs[i] = fmt.Errorf("service %q: %w", s.Name, err)
		}
	})
	manifestDone.Wait()
	for i := range checked {
		if errs[i] != nil {
			return errs[i]
		}
		out[h.Name+"/"+dv.ServiceFiles[i]] = modules[i]
	}
	if checkErr != nil {
		return checkErr
	}

	sort.Strings(dv.ServiceFiles)
	for _, f := range []struct {
		name, tmpl string
		data       any
	}{
		{"default.nix", tmplDefault, dv},
		{"datasets.nix", tmplDatasets, dv},
		{"protection.nix", tmplProtection, prot},
		{"monitoring.nix", tmplMonitoring, monitoringView{Name: h.Name, TextfileDir: textfileDir, MetricsTimeoutSec: seconds(metricsTimeout)}},
	} {
		b, err := exec(f.tmpl, f.data)
		if err != nil {
			return err
		}
		out[h.Name+"/"+f.name] = b
	}

	if manifestErr != nil {
		return manifestErr
	}
	out[h.Name+"/manifest.json"] = manifestJSON
	out[h.Name+"/alerts.rules.yml"] = renderAlerts(h)
	return nil
}

// checkService checks what the schema should already have refused for one
// service of a host, and notes what the host's default.nix needs from it.
func checkService(s *model.Service, seen map[string]bool, syncoidUnits map[string]string, prot *protectionView, dv *defaultView) error {
	if err := checkPathName("service", s.Name); err != nil {
		return err
	}
	if seen[s.Name] {
		return fmt.Errorf("service %q is listed twice", s.Name)
	}
	seen[s.Name] = true
	// RestrictSUIDSGID= would refuse the chmod of a setuid or setgid
	// mountpoint root (mode 2770, say).
	if len(s.Mode) == 4 && (s.Mode[0]-'0')&6 != 0 {
		dv.RestrictSUIDSGID = false
	}
	if s.Replication != nil {
		u := syncoidUnit(s.Name)
		if other, ok := syncoidUnits[u]; ok {
			return fmt.Errorf("services %q and %q would both replicate through unit %s.service; rename one", other, s.Name, u)
		}
		syncoidUnits[u] = s.Name
	}
	if prot.jobNames[s.Name] {
		return fmt.Errorf("service %q has the name of a generated restic maintenance job; rename the service", s.Name)
	}
	if strings.HasPrefix(s.Unit, "nixgen-") {
		return fmt.Errorf("service %q: unit %q uses the nixgen- prefix reserved for generated units", s.Name, s.Unit)
	}
	return nil
}

// execTemplate runs one named template into buf and returns a copy of the
// bytes.
func execTemplate(t *template.Template, buf *bytes.Buffer, name string, data any) ([]byte, error) {
	buf.Reset()
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// A module that sets nothing reads better as { } than as a split pair.
	if bytes.HasSuffix(b, []byte("\n{\n}\n")) {
		b = append(b[:len(b)-3], " }\n"...)
	}
	return bytes.Clone(b), nil
}

type monitoringView struct {
	Name              string
	TextfileDir       string
	MetricsTimeoutSec int64
}

type defaultView struct {
	Name               string
	ServiceFiles       []string // relative to the host directory, sorted
	DatasetsTimeoutSec int64
	RestrictSUIDSGID   bool // no service mode has a setuid or setgid bit
}

type protectionView struct {
	Name           string
	Policies       []*model.SnapshotPolicy // used by this host's services and replicas, by name
	SanoidInterval string                  // "" keeps NixOS's default (hourly)
	Replicas       []replica               // datasets other hosts (or local targets) replicate into this host
	ReceiveUsers   []receiveUser           // users that other hosts' syncoid logs in as
	KnownHosts     []knownHost             // host keys of the targets this host replicates to
	Syncoid        bool                    // some service replicates
	Maintenance    []maintenanceJob
	Drills         []drillJob
	Jobs           bool // some unit reports through the notify templates
	// Credentials are the notify units' LoadCredential= entries
	// ("notifier-<name>-token:<path>"): their dynamic user cannot read
	// the root-only token and URL files, systemd hands it copies.
	Credentials      []string
	TextfileDir      string
	NotifyTimeoutSec int64
	Slice            string // unit name of the jobs' slice
	SliceName        string // its attribute name under systemd.slices
	Limits           model.JobLimits

	jobNames map[string]bool
}

// maintenanceJob is a restic job without paths: NixOS then runs only its
// forget/prune or check commands.
type maintenanceJob struct {
	Job       string
	Unit      string // the systemd service NixOS creates for Job
	Repo      *model.Repository
	RepoFile  bool // see repoFile
	NoWrapper bool // see shellUnsafe
	PruneOpts []string
	CheckOpts []string // already quoted for systemd: NixOS joins them into ExecStart
	Schedule  string
	// TimeoutSec bounds the job; ProtectHome: see protectHome.
	TimeoutSec  int64
	ProtectHome bool
	RepoMount   string // systemd-quoted local repository path, "" for none
}

// drillJob is the restore drill of one repository.
type drillJob struct {
	Unit      string
	Repo      string
	Schedule  string
	NeedSSH   bool
	NeedClone bool
	// Timeout is restore-test's own --timeout (systemd-quoted); TimeoutSec
	// the unit's, drillMargin later.
	Timeout     string
	TimeoutSec  int64
	ProtectHome bool
	RepoMount   string // see maintenanceJob
}

func protectionFor(spec *model.Spec, h *model.Host, services []*model.Service) (*protectionView, error) {
	pv := &protectionView{Name: h.Name, jobNames: map[string]bool{}, TextfileDir: textfileDir, NotifyTimeoutSec: seconds(notifyTimeout),
		Slice: jobSlice + ".slice", SliceName: jobSlice, Limits: h.Jobs}
	policies := map[string]bool{}
	repos := map[string]bool{}
	for _, s := range services {
		if s.Snapshots != nil {
			policies[s.Snapshots.Policy] = true
		}
		if s.Backup != nil {
			for _, r := range s.Backup.Repositories {
				repos[r] = true
			}
		}
		if s.Replication != nil {
			pv.Syncoid = true
		}
	}
	for _, name := range sortedKeys(policies) {
		p := spec.Policy(name)
		if p == nil {
			return nil, fmt.Errorf("snapshot policy %q is not declared", name)
		}
		pv.Policies = append(pv.Policies, p)
		if p.Frequently > 0 && p.Autosnap && h.SanoidInterval == "" {
			pv.SanoidInterval = "*:0/15"
		}
	}
	if h.SanoidInterval != "" {
		pv.SanoidInterval = h.SanoidInterval
	}
	// Prune-only templates for the replicas, one per source policy.
	pv.Replicas = replicasOn(spec, h)
	pv.ReceiveUsers, _ = receiversOn(pv.Replicas)
	pv.KnownHosts = knownHostsFor(spec, services)
	seenTmpl := map[string]bool{}
	for _, r := range pv.Replicas {
		if policies[r.Template] {
			return nil, fmt.Errorf("snapshot policy %q has the name of a generated replica template; rename the policy", r.Template)
		}
		if !seenTmpl[r.Template] {
			seenTmpl[r.Template] = true
			p := r.policy
			p.Name = r.Template
			pv.Policies = append(pv.Policies, &p)
		}
	}
	sort.Slice(pv.Policies, func(i, j int) bool { return pv.Policies[i].Name < pv.Policies[j].Name })
	for _, name := range sortedKeys(repos) {
		r := spec.Repository(name)
		if r == nil {
			return nil, fmt.Errorf("restic repository %q is not declared", name)
		}
		// 0 would mean "no limit" to systemd: exactly what the limits prevent.
		if r.DrillTimeout < time.Second || r.PruneTimeout < time.Second || r.CheckTimeout < time.Second {
			return nil, fmt.Errorf("repository %q: prune, check and drill timeouts must be at least one second", name)
		}
		if prune := pruneOpts(r.Retention); len(prune) > 0 && r.PruneSchedule != "" {
			pv.Maintenance = append(pv.Maintenance, maintenanceJob{
				Job: pruneJob(name), Repo: r, PruneOpts: append([]string{resticRetryLock}, prune...), Schedule: r.PruneSchedule,
				TimeoutSec: seconds(r.PruneTimeout),
			})
		}
		if r.CheckSchedule != "" {
			opts := []string{resticRetryLock}
			if r.CheckSubset != "" {
				a, err := sdExecArg("--read-data-subset=" + r.CheckSubset)
				if err != nil {
					return nil, fmt.Errorf("repository %q: %w", name, err)
				}
				opts = append(opts, a)
			}
			pv.Maintenance = append(pv.Maintenance, maintenanceJob{
				Job: checkJob(name), Repo: r, CheckOpts: opts, Schedule: r.CheckSchedule,
				TimeoutSec: seconds(r.CheckTimeout),
			})
		}
		if r.DrillSchedule != "" {
			ssh, clone := backendTools(r)
			mnt, err := repoMount(r)
			if err != nil {
				return nil, err
			}
			pv.Drills = append(pv.Drills, drillJob{RepoMount: mnt,
				Unit: drillUnit(name), Repo: name, Schedule: r.DrillSchedule, NeedSSH: ssh, NeedClone: clone,
				Timeout:    fmt.Sprintf("%ds", seconds(r.DrillTimeout)),
				TimeoutSec: seconds(r.DrillTimeout + drillMargin), ProtectHome: protectHome(r),
			})
		}
	}
	for i := range pv.Maintenance {
		m := &pv.Maintenance[i]
		m.Unit = resticUnit(m.Job)
		m.NoWrapper = shellUnsafe(m.Repo)
		m.RepoFile = repoFile(m.Repo)
		m.ProtectHome = protectHome(m.Repo)
		var err error
		if m.RepoMount, err = repoMount(m.Repo); err != nil {
			return nil, err
		}
		if err := checkSecretPaths(m.Repo); err != nil {
			return nil, err
		}
		pv.jobNames[m.Job] = true
	}
	for _, d := range pv.Drills {
		pv.jobNames[d.Unit] = true
	}
	pv.Jobs = len(pv.Policies) > 0 || pv.Syncoid || len(pv.Maintenance) > 0 || len(pv.Drills) > 0 || len(repos) > 0
	for _, s := range services {
		// pgBackRest backups and drills report through the notify units.
		pv.Jobs = pv.Jobs || s.PostgreSQL != nil && s.PostgreSQL.PITR != nil
	}
	for _, name := range union(services, func(*model.Service) bool { return true }) {
		n := spec.Notifier(name)
		if n == nil {
			return nil, fmt.Errorf("notifier %q is not declared", name)
		}
		for _, c := range [][2]string{{manifest.CredentialToken(name), n.TokenFile}, {manifest.CredentialURL(name), n.URLFile}} {
			if c[1] == "" {
				continue
			}
			// LoadCredential= expands specifiers in the path.
			if strings.IndexByte(c[1], '%') >= 0 {
				return nil, fmt.Errorf("notifier %q: path %q contains %%, which systemd would expand as a specifier", name, c[1])
			}
			pv.Credentials = append(pv.Credentials, c[0]+":"+c[1])
		}
	}
	return pv, nil
}

// repoMount is localRepoPath quoted for RequiresMountsFor=.
func repoMount(r *model.Repository) (string, error) {
	p := localRepoPath(r)
	if p == "" {
		return "", nil
	}
	q, err := sdPathArg(p)
	if err != nil {
		return "", fmt.Errorf("repository %q: %w", r.Name, err)
	}
	return q, nil
}

// backendTools reports whether restic needs ssh (sftp:) or rclone (rclone:)
// for repository r. A repository_file hides the backend until run time, so
// both are provided then.
func backendTools(r *model.Repository) (ssh, rclone bool) {
	if r.RepositoryFile != "" {
		return true, true
	}
	return strings.HasPrefix(r.URL, "sftp:"), strings.HasPrefix(r.URL, "rclone:")
}

// repoFile reports whether a repository URL must reach restic through
// repositoryFile: NixOS writes RESTIC_REPOSITORY into Environment=, where
// systemd would expand a "%" as a specifier. A file's content is not expanded.
func repoFile(r *model.Repository) bool { return r.URL != "" && strings.IndexByte(r.URL, '%') >= 0 }

// checkSecretPaths rejects password, environment and repository file
// paths that NixOS would write where systemd expands specifiers
// (Environment=RESTIC_PASSWORD_FILE, EnvironmentFile=,
// Environment=RESTIC_REPOSITORY_FILE). internal/schema rejects them first,
// with a position.
func checkSecretPaths(r *model.Repository) error {
	if (r.URL == "") == (r.RepositoryFile == "") {
		return fmt.Errorf("repository %q: exactly one of url and repository_file must be set", r.Name)
	}
	for _, p := range []string{r.PasswordFile, r.EnvironmentFile, r.RepositoryFile} {
		if strings.IndexByte(p, '%') >= 0 {
			return fmt.Errorf("repository %q: path %q contains %%, which systemd would expand as a specifier", r.Name, p)
		}
	}
	return nil
}

// shellUnsafe reports whether a repository setting would change meaning in
// the restic-<job> wrapper script that NixOS generates, which pastes the
// repository, password file and environment file into shell text unquoted.
// Such jobs get createWrapper = false: spec data never reaches a shell.
func shellUnsafe(r *model.Repository) bool {
	for _, v := range []string{r.URL, r.PasswordFile, r.EnvironmentFile, r.RepositoryFile} {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				strings.IndexByte("_@%+=:,./-", c) >= 0) {
				return true
			}
		}
	}
	return false
}

// pruneOpts turns a retention policy into restic forget flags.
// resticRetryLock makes a restic job that finds the repository locked by
// another one (a backup meeting the exclusive lock of a prune, a prune or
// check meeting a backup's lock) wait for up to two hours instead of failing
// at once. It is a global flag, valid after every subcommand NixOS runs:
// backup, forget --prune and check. restic >= 0.16 (NixOS 25.05 has 0.18).
const resticRetryLock = "--retry-lock=2h"

func pruneOpts(r *model.Retention) []string {
	if r == nil {
		return nil
	}
	var opts []string
	for _, k := range []struct {
		flag string
		n    int
	}{
		{"--keep-last", r.Last}, {"--keep-hourly", r.Hourly}, {"--keep-daily", r.Daily},
		{"--keep-weekly", r.Weekly}, {"--keep-monthly", r.Monthly}, {"--keep-yearly", r.Yearly},
	} {
		if k.n > 0 {
			opts = append(opts, fmt.Sprintf("%s %d", k.flag, k.n))
		}
	}
	return opts
}

type serviceView struct {
	Host string
	S    *model.Service

	PreseedUnit        string // attribute name under systemd.services
	PreseedService     string // unit name with suffix
	PreseedDescription string
	MainOption         string // "services", "sockets", ... under systemd; "" for other unit types
	MainName           string // main unit without its suffix
	MainDep            string // "requires" (block) or "wants" (start-empty)
	Mountpoint         string // systemd-quoted, for RequiresMountsFor=
	PhantomRule        string // what counts as a definition of the main unit, for the assertion's message
	ReverseDep         string // "requiredBy" or "wantedBy", when MainOption is ""
	TimeoutSec         int64
	NeedRestic         bool
	NeedSyncoid        bool
	NeedSSH            bool
	NeedRclone         bool
	NeedPgBackRest     bool // pgbackrest, and runuser to run it as the cluster's owner

	Backups         []backupJob // one per repository, in the spec's order
	ExtraBackupArgs []string    // systemd-quoted: NixOS joins them into ExecStart
	BackupPaths     []string    // glob-escaped for restic --files-from
	BindSnapshot    string      // BindReadOnlyPaths= entry: the snapshot over the mountpoint

	// Time limits. A wrapper waits for the other job's lock at most that
	// job's own limit plus lockMargin (LockWait, seconds for flock -w), and
	// runs at most that wait plus its own job's limit plus lockMargin.
	BackupTimeoutSec        int64
	BackupLockWait          int64
	BackupWrapperTimeoutSec int64

	SendOptions           string
	SSHOptions            []string
	SyncoidUnit           string // unit NixOS names after the command (the service name)
	SyncoidService        string // SyncoidUnit with its suffix, systemd-quoted for an Exec line
	ReplWrapper           string
	ReplTimeoutSec        int64
	ReplLockWait          int64
	ReplWrapperTimeoutSec int64

	// BackupExclude are restic's exclude patterns: the spec's, and a
	// data directory that pgBackRest backs up (pgBackupExclude).
	BackupExclude []string
	PG            *pgView // nil: not a PostgreSQL service

	LockFile string // systemd-quoted; backup and replication of the dataset hold it
	Slice    string // the jobs' slice (see protectionView)
	// BackupDelaySec spreads the backup timers (host jobs randomized_delay).
	BackupDelaySec int64
	Service        string // the service name, systemd-quoted for an Exec line
}

// backupJob is the restic job of one service for one repository.
type backupJob struct {
	Job           string // services.restic.backups.<Job>
	Repo          *model.Repository
	RepoFile      bool   // see repoFile
	NoWrapper     bool   // see shellUnsafe
	ProtectHome   bool   // see protectHome
	RepoMount     string // see maintenanceJob
	ResticUnit    string
	ResticService string // ResticUnit with its suffix, systemd-quoted for an Exec line
	BackupWrapper string
}

// unitOptions maps the suffix of a unit that nixgen hooks into on its own
// side to its attribute set under systemd.*. The generated module asserts
// that something else defines it (see phantomCheck in the template).
var unitOptions = map[string]string{".service": "services", ".target": "targets"}

func serviceFor(spec *model.Spec, h *model.Host, s *model.Service) (*serviceView, error) {
	sv := &serviceView{Host: h.Name, S: s, Slice: jobSlice + ".slice", BackupDelaySec: seconds(h.Jobs.RandomizedDelay)}
	var err error
	if sv.Service, err = sdExecArg(s.Name); err != nil {
		return nil, err
	}
	if sv.LockFile, err = sdExecArg(lockFile(s.Name)); err != nil {
		return nil, err
	}
	if sv.Mountpoint, err = sdPathArg(s.Mountpoint); err != nil {
		return nil, err
	}
	switch {
	case s.Protect:
		// An existing host dataset: no unit of its own to order.
		if s.Preseed != nil || s.Unit != "" || s.Container != "" {
			return nil, fmt.Errorf("protected dataset %q with a unit, container or preseed", s.Name)
		}
	case s.Container != "":
		if (s.Unit != "") || checkPathName("container", s.Container) != nil {
			return nil, fmt.Errorf("container %q with unit %q", s.Container, s.Unit)
		}
		// podman-NAME or docker-NAME: nixUnit and nixUnitAttr write it as
		// an expression of virtualisation.oci-containers.backend.
		sv.MainOption = "services"
	default:
		dot := strings.LastIndexByte(s.Unit, '.')
		if dot <= 0 {
			return nil, fmt.Errorf("unit %q has no unit type suffix", s.Unit)
		}
		// Only services and targets get their dependencies on their own
		// side. Units that NixOS keeps in lists or not at all (mount, swap,
		// device, ...) and units that start before basic.target (sockets,
		// timers, ...) get them from nixgen's side instead. So do template
		// instances: NixOS writes a defined foo@bar.service as a whole unit
		// file unless a file of that exact name exists upstream
		// (generateUnits in nixos/lib/systemd-lib.nix), and such a file
		// would shadow the template foo@.service.
		if opt, ok := unitOptions[s.Unit[dot:]]; ok && !strings.Contains(s.Unit, "@") {
			sv.MainOption, sv.MainName = opt, s.Unit[:dot]
		}
	}
	switch sv.MainOption {
	case "services":
		sv.PhantomRule = "no ExecStart and no script"
	case "targets":
		sv.PhantomRule = "no description and no dependencies but nixgen's"
	}
	if strings.HasPrefix(s.Unit, "nixgen-") {
		return nil, fmt.Errorf("unit %q uses the nixgen- prefix reserved for generated units", s.Unit)
	}
	if p := s.Preseed; p != nil {
		sv.PreseedUnit = "nixgen-preseed-" + s.Name
		sv.PreseedService = sv.PreseedUnit + ".service"
		// Description= expands specifiers.
		sv.PreseedDescription = "nixgen: restore the data of " + strings.ReplaceAll(s.Name, "%", "%%") + " before it first starts"
		switch p.OnFailure {
		case "block":
			sv.MainDep, sv.ReverseDep = "requires", "requiredBy"
		case "start-empty":
			sv.MainDep, sv.ReverseDep = "wants", "wantedBy"
		default:
			return nil, fmt.Errorf("preseed on_failure %q is not block or start-empty", p.OnFailure)
		}
		total := time.Duration(len(p.Methods))*p.Timeout + preseedMargin
		sv.TimeoutSec = int64(total / time.Second)
		for _, m := range p.Methods {
			switch m {
			case "restic":
				sv.NeedRestic = true
				// restic reaches sftp: and rclone: repositories through those programs.
				if s.Backup != nil {
					for _, name := range s.Backup.Repositories {
						if r := spec.Repository(name); r != nil {
							ssh, clone := backendTools(r)
							sv.NeedSSH = sv.NeedSSH || ssh
							sv.NeedRclone = sv.NeedRclone || clone
						}
					}
				}
			case "pgbackrest":
				sv.NeedPgBackRest = true
			case "syncoid":
				sv.NeedSyncoid = true
				if s.Replication != nil && s.Replication.TargetHost != "" {
					sv.NeedSSH = true
				}
			}
		}
	}
	if b := s.Backup; b != nil {
		for _, name := range b.Repositories {
			r := spec.Repository(name)
			if r == nil {
				return nil, fmt.Errorf("restic repository %q is not declared", name)
			}
			if err := checkSecretPaths(r); err != nil {
				return nil, err
			}
			j := backupJob{Job: b.Job(s.Name, name), Repo: r, NoWrapper: shellUnsafe(r), RepoFile: repoFile(r),
				ProtectHome: protectHome(r, append([]string{s.Mountpoint}, b.Paths...)...)}
			if j.RepoMount, err = repoMount(r); err != nil {
				return nil, err
			}
			j.ResticUnit, j.BackupWrapper = resticUnit(j.Job), backupWrapper(j.Job)
			if j.ResticService, err = sdExecArg(j.ResticUnit + ".service"); err != nil {
				return nil, err
			}
			sv.Backups = append(sv.Backups, j)
		}
		if len(sv.Backups) == 0 {
			return nil, fmt.Errorf("backup without a repository")
		}
		sv.ExtraBackupArgs = []string{resticRetryLock}
		if sv.BindSnapshot, err = sdBindPath(backupRunPath(s.Name), s.Mountpoint); err != nil {
			return nil, fmt.Errorf("backup snapshot bind mount: %w", err)
		}
		for _, p := range b.Paths {
			sv.BackupPaths = append(sv.BackupPaths, resticFilesFromPath(p))
		}
		sv.BackupExclude = append(append([]string(nil), b.Exclude...), pgBackupExclude(s)...)
		for _, tag := range b.Tags {
			a, err := sdExecArg(tag)
			if err != nil {
				return nil, fmt.Errorf("backup tag: %w", err)
			}
			sv.ExtraBackupArgs = append(sv.ExtraBackupArgs, "--tag", a)
		}
	}
	if r := s.Replication; r != nil {
		if r.TargetHost != "" {
			sv.SSHOptions = []string{
				"--sshoption=ConnectTimeout=10",
				"--sshoption=ServerAliveInterval=15",
				"--sshoption=ServerAliveCountMax=4",
				"--sshoption=StrictHostKeyChecking=yes",
			}
		}
		sv.SendOptions = r.SendOptions
		if sv.SendOptions == "" {
			return nil, fmt.Errorf("service %q: replication send options are empty", s.Name)
		}
		sv.SyncoidUnit = syncoidUnit(s.Name)
		sv.ReplWrapper = replWrapper(s.Name)
		// 0 would mean "no limit" to systemd: exactly what the limit prevents.
		if s.Replication.Timeout < time.Second {
			return nil, fmt.Errorf("service %q: replication timeout %v is not a positive number of seconds", s.Name, s.Replication.Timeout)
		}
		sv.ReplTimeoutSec = int64(s.Replication.Timeout / time.Second)
		if sv.SyncoidService, err = sdExecArg(sv.SyncoidUnit + ".service"); err != nil {
			return nil, err
		}
		// What reaches syncoid's shell must pass the allow-list that
		// internal/schema and manifest.Validate apply.
		for _, o := range sv.SSHOptions {
			if msg := rules.SSHOption(strings.TrimPrefix(o, "--sshoption=")); msg != "" {
				return nil, fmt.Errorf("ssh option %q %s", o, msg)
			}
		}
	}
	if s.PostgreSQL != nil {
		if sv.PG, err = pgViewFor(spec, s); err != nil {
			return nil, err
		}
	}
	if err := lockWaits(sv, s); err != nil {
		return nil, err
	}
	return sv, nil
}

// lockWaits sets the time limits of the backup and its wrapper, and the
// lock waits of both wrappers: each waits for the other's job at most as
// long as that job may run.
func lockWaits(sv *serviceView, s *model.Service) error {
	var backup, repl time.Duration
	if b := s.Backup; b != nil {
		if b.Timeout < time.Second {
			return fmt.Errorf("backup timeout %v is not a positive number of seconds", b.Timeout)
		}
		backup = b.Timeout
		sv.BackupTimeoutSec = seconds(backup)
	}
	if r := s.Replication; r != nil {
		repl = r.Timeout
	}
	if s.Backup != nil {
		// With several repositories, a backup also waits for the backup
		// to another repository, which holds the same lock.
		other := repl
		if len(s.Backup.Repositories) > 1 {
			other = max(other, backup)
		}
		sv.BackupLockWait = seconds(other + lockMargin)
		sv.BackupWrapperTimeoutSec = sv.BackupLockWait + seconds(backup+lockMargin)
	}
	if s.Replication != nil {
		sv.ReplLockWait = seconds(backup + lockMargin)
		sv.ReplWrapperTimeoutSec = sv.ReplLockWait + seconds(repl+lockMargin)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
