// Package emit renders a validated model.Spec into the generated tree: for
// each host a NixOS module (default.nix and the files it imports) and the
// manifest.json that nixgen-helper reads. Render does no I/O; the CLI writes
// (or compares) the files it returns.
package emit

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/parallel"
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

// tmpl holds every template, parsed once; they are embedded, so a parse
// error is a build error that every test of this package reports.
var tmpl = template.Must(template.New("nixgen").Option("missingkey=error").Funcs(funcs).ParseFS(templates.FS, "*.tmpl"))

// Render returns the generated tree for spec, keyed by path relative to the
// output directory ("<host>/default.nix", "<host>/manifest.json", ...).
// The same spec always yields the same bytes.
//
// spec must come from internal/schema, which is the only place that decides
// validity: Render checks nothing a user could get wrong. A spec it cannot
// render is a bug in schema or here, and it panics (see bug).
func Render(spec *model.Spec) map[string][]byte {
	out := map[string][]byte{}
	for _, h := range spec.Hosts {
		renderHost(spec, h, out)
	}
	return out
}

// bug panics: something internal/schema guarantees does not hold, and
// rendering on would write units that do something else than the spec says.
func bug(format string, args ...any) {
	panic(fmt.Sprintf("emit: spec breaks a schema invariant: "+format, args...))
}

// must is for the escaping helpers, which refuse only what schema rejects
// (control characters, NUL).
func must[T any](v T, err error) T {
	if err != nil {
		bug("%v", err)
	}
	return v
}

func renderHost(spec *model.Spec, h *model.Host, out map[string][]byte) {
	services := append([]*model.Service(nil), h.Services...)
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })

	units := spec.UnitsOn(h)
	prot := protectionFor(spec, h, services, units)
	dv := defaultView{Name: h.Name, DatasetsTimeoutSec: seconds(datasetsTimeout), RestrictSUIDSGID: true, ManifestEtc: hostfacts.ManifestEtc}
	for _, s := range services {
		// RestrictSUIDSGID= would refuse the chmod of a setuid or setgid
		// mountpoint root (mode 2770, say).
		if len(s.Mode) == 4 && (s.Mode[0]-'0')&6 != 0 {
			dv.RestrictSUIDSGID = false
		}
		rel := "services/" + s.Name + ".nix"
		if s.Protect {
			rel = "protect/" + s.Name + ".nix"
		}
		dv.ServiceFiles = append(dv.ServiceFiles, rel)
	}

	// The per-service modules and the manifest are independent of each
	// other: render them on every CPU, each into its own slot. The first
	// slot is the manifest, the largest piece of work (as much CPU as about
	// 150 modules): taken last, it kept one worker busy while the others
	// had nothing left to do. Each worker has its own copy of the
	// templates (text/template takes a read lock on the function table for
	// every function call, and the workers would contend for it) and its
	// own buffer, reused for every module it renders.
	slots := make([][]byte, 1+len(services))
	var m *manifest.Manifest
	parallel.ForWith(len(slots), newWorker, func(w *worker, i int) {
		if i == 0 {
			m = buildManifest(spec, h, services, units)
			slots[i] = must(manifest.Marshal(m))
			return
		}
		slots[i] = w.exec(tmplService, serviceFor(spec, h, services[i-1]))
	})
	out[h.Name+"/manifest.json"] = slots[0]
	for i, module := range slots[1:] {
		out[h.Name+"/"+dv.ServiceFiles[i]] = module
	}
	preseeds := make([][]byte, len(m.Services))
	parallel.For(len(m.Services), func(i int) {
		if s := &m.Services[i]; s.Preseed != nil {
			preseeds[i] = must(manifest.Marshal(m.Only(s)))
		}
	})
	for i, b := range preseeds {
		if b != nil {
			out[h.Name+"/"+PreseedManifest(m.Services[i].Name)] = b
		}
	}

	sort.Strings(dv.ServiceFiles)
	var buf bytes.Buffer
	for _, f := range []struct {
		name, tmpl string
		data       any
	}{
		{"default.nix", tmplDefault, dv},
		{"datasets.nix", tmplDatasets, dv},
		{"protection.nix", tmplProtection, prot},
		{"monitoring.nix", tmplMonitoring, monitoringView{Name: h.Name, TextfileDir: hostfacts.TextfileDir, MetricsTimeoutSec: seconds(metricsTimeout)}},
	} {
		out[h.Name+"/"+f.name] = execTemplate(&buf, f.tmpl, f.data)
	}
	out[h.Name+"/alerts.rules.yml"] = renderAlerts(h)
}

// execTemplate runs one named template into buf and returns a copy of the
// bytes. The nix* and sd* functions fail only on what schema rejects.
func execTemplate(buf *bytes.Buffer, name string, data any) []byte {
	return execTemplateOf(tmpl, buf, name, data)
}

func execTemplateOf(t *template.Template, buf *bytes.Buffer, name string, data any) []byte {
	buf.Reset()
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		bug("%s: %v", name, err)
	}
	return bytes.Clone(buf.Bytes())
}

// worker is what one goroutine of renderHost reuses from module to module.
type worker struct {
	t   *template.Template
	buf bytes.Buffer
}

func newWorker() *worker {
	c, _ := tmpl.Clone() // text/template's Clone has no error to return
	return &worker{t: c}
}

func (w *worker) exec(name string, data any) []byte { return execTemplateOf(w.t, &w.buf, name, data) }

type monitoringView struct {
	Name              string
	TextfileDir       string
	MetricsTimeoutSec int64
}

type defaultView struct {
	Name               string
	ServiceFiles       []string // relative to the host directory, sorted
	DatasetsTimeoutSec int64
	RestrictSUIDSGID   bool   // no service mode has a setuid or setgid bit
	ManifestEtc        string // manifest.json's place below /etc
}

type protectionView struct {
	Name           string
	Policies       []*model.SnapshotPolicy // used by this host's services and replicas, by name
	SanoidInterval string                  // "" keeps NixOS's default (hourly)
	Replicas       []model.Replica         // datasets other hosts (or local targets) replicate into this host
	ReceiveUsers   []receiveUser           // users that other hosts' syncoid logs in as
	KnownHosts     []knownHost             // host keys of the targets this host replicates to
	Syncoid        bool                    // some service replicates
	NeedPkgs       bool                    // a drill's path, a repository URL file or a receive user's shell uses pkgs
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

func protectionFor(spec *model.Spec, h *model.Host, services []*model.Service, units model.Units) *protectionView {
	pv := &protectionView{Name: h.Name, TextfileDir: hostfacts.TextfileDir, NotifyTimeoutSec: seconds(notifyTimeout),
		Slice: hostfacts.JobSlice + ".slice", SliceName: hostfacts.JobSlice, Limits: h.Jobs,
		Replicas: units.Replicas, Jobs: len(units.Jobs) > 0}
	policies := map[string]bool{}
	for _, s := range services {
		if s.Snapshots != nil {
			policies[s.Snapshots.Policy] = true
		}
		if s.Replication != nil {
			pv.Syncoid = true
		}
	}
	for _, name := range sortedKeys(policies) {
		p := spec.Policy(name)
		pv.Policies = append(pv.Policies, p)
		if p.Frequently > 0 && p.Autosnap && h.SanoidInterval == "" {
			pv.SanoidInterval = "*:0/15"
		}
	}
	if h.SanoidInterval != "" {
		pv.SanoidInterval = h.SanoidInterval
	}
	// Prune-only templates for the replicas, one per source policy.
	pv.ReceiveUsers, _ = receiversOn(pv.Replicas)
	pv.KnownHosts = knownHostsFor(spec, services)
	for _, r := range pv.Replicas {
		if !policies[r.Policy.Name] {
			policies[r.Policy.Name] = true
			p := r.Policy
			pv.Policies = append(pv.Policies, &p)
		}
	}
	sort.Slice(pv.Policies, func(i, j int) bool { return pv.Policies[i].Name < pv.Policies[j].Name })
	for _, j := range units.Jobs {
		r := spec.Repository(j.Repository)
		switch j.Kind {
		case model.JobPrune:
			pv.Maintenance = append(pv.Maintenance, maintenanceJob{
				Job: hostfacts.PruneJob(r.Name), Repo: r, PruneOpts: append([]string{resticRetryLock}, pruneOpts(r.Retention)...),
				Schedule: r.PruneSchedule, TimeoutSec: seconds(r.PruneTimeout),
			})
		case model.JobCheck:
			opts := []string{resticRetryLock}
			if r.CheckSubset != "" {
				opts = append(opts, must(sdExecArg("--read-data-subset="+r.CheckSubset)))
			}
			pv.Maintenance = append(pv.Maintenance, maintenanceJob{
				Job: hostfacts.CheckJob(r.Name), Repo: r, CheckOpts: opts, Schedule: r.CheckSchedule,
				TimeoutSec: seconds(r.CheckTimeout),
			})
		case model.JobDrill:
			ssh, clone := backendTools(r)
			pv.Drills = append(pv.Drills, drillJob{RepoMount: repoMount(r),
				Unit: hostfacts.DrillUnit(r.Name), Repo: r.Name, Schedule: r.DrillSchedule, NeedSSH: ssh, NeedClone: clone,
				Timeout:    fmt.Sprintf("%ds", seconds(r.DrillTimeout)),
				TimeoutSec: seconds(r.DrillTimeout + drillMargin), ProtectHome: protectHome(r),
			})
		}
	}
	for i := range pv.Maintenance {
		m := &pv.Maintenance[i]
		m.Unit = hostfacts.ResticUnit(m.Job)
		m.NoWrapper = shellUnsafe(m.Repo)
		m.RepoFile = repoFile(m.Repo)
		m.ProtectHome = protectHome(m.Repo)
		m.RepoMount = repoMount(m.Repo)
		pv.NeedPkgs = pv.NeedPkgs || m.RepoFile && m.Repo.RepositoryFile == ""
	}
	pv.NeedPkgs = pv.NeedPkgs || len(pv.Drills) > 0 || len(pv.ReceiveUsers) > 0
	for _, name := range model.NotifiersOf(services, func(*model.Service) bool { return true }) {
		n := spec.Notifier(name)
		for _, c := range [][2]string{{manifest.CredentialToken(name), n.TokenFile}, {manifest.CredentialURL(name), n.URLFile}} {
			if c[1] != "" {
				pv.Credentials = append(pv.Credentials, c[0]+":"+c[1])
			}
		}
	}
	return pv
}

// repoMount is localRepoPath quoted for RequiresMountsFor=.
func repoMount(r *model.Repository) string {
	if p := localRepoPath(r); p != "" {
		return must(sdPathArg(p))
	}
	return ""
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

// resticRetryLock makes a restic job that finds the repository locked by
// another one (a backup meeting the exclusive lock of a prune, a prune or
// check meeting a backup's lock) wait for up to two hours instead of failing
// at once. It is a global flag, valid after every subcommand NixOS runs:
// backup, forget --prune and check. restic >= 0.16 (NixOS 25.05 has 0.18).
const resticRetryLock = "--retry-lock=2h"

// pruneOpts turns a retention policy into restic forget flags.
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
	PreseedManifest    string // the preseed unit's manifest, relative to the module
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

func serviceFor(spec *model.Spec, h *model.Host, s *model.Service) *serviceView {
	sv := &serviceView{Host: h.Name, S: s, Slice: hostfacts.JobSlice + ".slice", BackupDelaySec: seconds(h.Jobs.RandomizedDelay),
		Service: must(sdExecArg(s.Name)), LockFile: must(sdExecArg(hostfacts.JobLockFile(s.Name))), Mountpoint: must(sdPathArg(s.Mountpoint))}
	switch {
	case s.Protect:
		// An existing host dataset: no unit of its own to order.
	case s.Container != "":
		// podman-NAME or docker-NAME: nixUnit and nixUnitAttr write it as
		// an expression of virtualisation.oci-containers.backend.
		sv.MainOption = "services"
	default:
		dot := strings.LastIndexByte(s.Unit, '.')
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
	if p := s.Preseed; p != nil {
		sv.PreseedUnit = hostfacts.PreseedUnit(s.Name)
		sv.PreseedService = sv.PreseedUnit + ".service"
		sv.PreseedManifest = path.Base(PreseedManifest(s.Name))
		// Description= expands specifiers.
		sv.PreseedDescription = "nixgen: restore the data of " + strings.ReplaceAll(s.Name, "%", "%%") + " before it first starts"
		switch p.OnFailure {
		case "block":
			sv.MainDep, sv.ReverseDep = "requires", "requiredBy"
		case "start-empty":
			sv.MainDep, sv.ReverseDep = "wants", "wantedBy"
		default:
			bug("preseed on_failure %q", p.OnFailure)
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
						ssh, clone := backendTools(spec.Repository(name))
						sv.NeedSSH = sv.NeedSSH || ssh
						sv.NeedRclone = sv.NeedRclone || clone
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
			j := backupJob{Job: b.Job(s.Name, name), Repo: r, NoWrapper: shellUnsafe(r), RepoFile: repoFile(r),
				ProtectHome: protectHome(r, append([]string{s.Mountpoint}, b.Paths...)...), RepoMount: repoMount(r)}
			j.ResticUnit, j.BackupWrapper = hostfacts.ResticUnit(j.Job), hostfacts.BackupWrapper(j.Job)
			j.ResticService = must(sdExecArg(j.ResticUnit + ".service"))
			sv.Backups = append(sv.Backups, j)
		}
		sv.ExtraBackupArgs = []string{resticRetryLock}
		sv.BindSnapshot = must(sdBindPath(hostfacts.BackupRunPath(s.Name), s.Mountpoint))
		for _, p := range b.Paths {
			sv.BackupPaths = append(sv.BackupPaths, resticFilesFromPath(p))
		}
		sv.BackupExclude = append(append([]string(nil), b.Exclude...), pgBackupExclude(s)...)
		for _, tag := range b.Tags {
			sv.ExtraBackupArgs = append(sv.ExtraBackupArgs, "--tag", must(sdExecArg(tag)))
		}
	}
	if r := s.Replication; r != nil {
		if r.TargetHost != "" {
			for _, o := range hostfacts.SSHOptions {
				sv.SSHOptions = append(sv.SSHOptions, "--sshoption="+o)
			}
		}
		sv.SendOptions = r.SendOptions
		sv.SyncoidUnit = hostfacts.SyncoidUnit(s.Name)
		sv.ReplWrapper = hostfacts.ReplicateWrapper(s.Name)
		sv.ReplTimeoutSec = seconds(r.Timeout)
		sv.SyncoidService = must(sdExecArg(sv.SyncoidUnit + ".service"))
	}
	if s.PostgreSQL != nil {
		sv.PG = pgViewFor(spec, s)
	}
	lockWaits(sv, s)
	return sv
}

// lockWaits sets the time limits of the backup and its wrapper, and the
// lock waits of both wrappers: each waits for the other's job at most as
// long as that job may run.
func lockWaits(sv *serviceView, s *model.Service) {
	var backup, repl time.Duration
	if b := s.Backup; b != nil {
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
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
