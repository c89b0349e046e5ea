package schema

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/rules"
)

// Defaults applied when an attribute is absent.
const (
	DefaultUser                = "root"
	DefaultGroup               = "root"
	DefaultMode                = "0750"
	DefaultBackupSchedule      = "daily"
	DefaultReplicationSchedule = "hourly"
	DefaultPreseedTimeout      = 30 * time.Minute
	DefaultReplicationTimeout  = 12 * time.Hour
	DefaultOnFailure           = "block"
	DefaultPruneSchedule       = "weekly"
	DefaultCheckSchedule       = "monthly"
	DefaultCheckSubset         = "5%"
	DefaultDrillSchedule       = "weekly"
	DefaultBackupTimeout       = 12 * time.Hour
	DefaultPruneTimeout        = 12 * time.Hour
	DefaultCheckTimeout        = 12 * time.Hour
	DefaultDrillTimeout        = 12 * time.Hour
	DefaultSendOptions         = "w"
	DefaultRandomizedDelay     = time.Hour
)

// PreseedMethods are the restore methods in their default order.
var PreseedMethods = []string{"pgbackrest", "syncoid", "local", "restic"}

// named is a declared block with its label.
type named struct {
	name  string
	rng   hcl.Range // the label
	block hcl.Range // the block header
}

// unique reports duplicates (at the second declaration, naming the first)
// and returns the first declaration of each name.
func unique[T any](c *checker, kind string, items []T, get func(T) named) map[string]T {
	out := map[string]T{}
	first := map[string]named{}
	for _, it := range items {
		n := get(it)
		if !c.blockName(n.name, n.rng, kind) {
			continue
		}
		if prev, dup := first[n.name]; dup {
			c.errorf(n.rng, "Duplicate "+kind, "A %s named %q is already declared at %s.", kind, n.name, pos(prev.block))
			continue
		}
		first[n.name] = n
		out[n.name] = it
	}
	return out
}

// ref checks a reference to a declared name.
func ref[T any](c *checker, decl map[string]T, name string, rng hcl.Range, kind string) bool {
	if !c.nonEmpty(name, rng, kind+" name") {
		return false
	}
	if _, ok := decl[name]; !ok {
		c.errorf(rng, "Undeclared "+kind, "There is no %s named %q.%s", kind, name, suggest(name, slices.Sorted(maps.Keys(decl))))
		return false
	}
	return true
}

func calendar(c *checker, s string, rng hcl.Range, def string) string {
	if !set(rng) {
		return def
	}
	if !c.nonEmpty(s, rng, "schedule") {
		return def
	}
	if msg := calendarError(s); msg != "" {
		c.errorf(rng, "Invalid schedule", "%q is not a systemd OnCalendar expression: %s.", s, msg)
	}
	return s
}

func optPath(c *checker, s string, rng hcl.Range, what string) string {
	if set(rng) {
		c.absPath(s, rng, what)
		return s
	}
	return ""
}

// profile is a resolved set of dataset properties.
type profile struct {
	props map[string]string
}

// datasetProps validates the dataset settings written in one block and
// returns them as one property map.
func datasetProps(c *checker, recordsize string, rsRange hcl.Range, compression string, cRange hcl.Range, props hcl.Expression, pRange hcl.Range) map[string]string {
	out := map[string]string{}
	one := func(name, value string, rng hcl.Range) {
		if !c.text(name, rng, "property name") || !c.text(value, rng, "value of "+name) {
			return
		}
		if sum, det := propertyError(name, value); sum != "" {
			c.errorf(rng, sum, "%s", det)
			return
		}
		if rules.CreateOnly(name) {
			c.warnf(rng, "Create-time-only property", "ZFS accepts %s only when a dataset is created: it applies to new datasets, and for an existing dataset nixgen-helper reports a difference instead of changing it.", name)
		}
		out[name] = value
	}
	if set(rsRange) {
		one("recordsize", recordsize, rsRange)
	}
	if set(cRange) {
		one("compression", compression, cRange)
	}
	entries, _ := c.stringMap(props, pRange)
	for _, e := range entries {
		if (e.key == "recordsize" && set(rsRange)) || (e.key == "compression" && set(cRange)) {
			c.errorf(e.rng, "Property set twice", "%s is set both as an attribute and in properties; keep one.", e.key)
			continue
		}
		one(e.key, e.val, e.rng)
	}
	return out
}

// serviceTmpl is a service's host-independent settings.
type serviceTmpl struct {
	raw     *rawService
	svc     model.Service // Dataset, Mountpoint and backup paths filled per host
	relName string        // dataset name below the parent
	// pathRanges are the source ranges of svc.Backup.Paths.
	pathRanges []hcl.Range
	// mountOK is false when an explicit mountpoint is invalid, so checks
	// that compare against it are skipped rather than piling up.
	mountOK bool
}

func resolve(c *checker, raw *rawFile) *model.Spec {
	spec := &model.Spec{}

	repos := unique(c, "restic_repository", raw.Repos, func(r *rawRepo) named { return named{r.Name, r.NameRange, r.DefRange} })
	pgRepos := unique(c, "pgbackrest_repository", raw.PgRepos, func(r *rawPgRepo) named { return named{r.Name, r.NameRange, r.DefRange} })
	notifiers := unique(c, "notifier", raw.Notifiers, func(n *rawNotifier) named { return named{n.Name, n.NameRange, n.DefRange} })
	userProfiles := unique(c, "profile", raw.Profiles, func(p *rawProfile) named { return named{p.Name, p.NameRange, p.DefRange} })
	policies := unique(c, "snapshot_policy", raw.Policies, func(p *rawPolicy) named { return named{p.Name, p.NameRange, p.DefRange} })
	services := unique(c, "service", raw.Services, func(s *rawService) named { return named{s.Name, s.NameRange, s.DefRange} })
	hosts := unique(c, "host", raw.Hosts, func(h *rawHost) named { return named{h.Name, h.NameRange, h.DefRange} })

	for _, name := range slices.Sorted(maps.Keys(repos)) {
		spec.Repositories = append(spec.Repositories, resolveRepo(c, repos[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(pgRepos)) {
		spec.PgRepositories = append(spec.PgRepositories, resolvePgRepo(c, pgRepos[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(notifiers)) {
		spec.Notifiers = append(spec.Notifiers, resolveNotifier(c, notifiers[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		spec.Policies = append(spec.Policies, resolvePolicy(c, policies[name]))
	}

	profiles := map[string]*profile{}
	for name, props := range BuiltinProfiles {
		profiles[name] = &profile{props: props}
	}
	for _, name := range slices.Sorted(maps.Keys(userProfiles)) {
		p := userProfiles[name]
		profiles[name] = &profile{props: datasetProps(c, p.Recordsize, p.RecordsizeRange, p.Compression, p.CompressionRange, p.Properties, p.PropertiesRange)}
	}

	tmpls := map[string]*serviceTmpl{}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		tmpls[name] = resolveService(c, services[name], repos, pgRepos, notifiers, profiles, policies)
	}

	used := map[string]bool{}
	unknownHosts := false
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		h := resolveHost(c, hosts[name], tmpls, used, &unknownHosts)
		spec.Hosts = append(spec.Hosts, h)
	}
	matchReceivers(c, hosts, spec.Hosts, tmpls)
	checkSharedTargets(c, spec.Hosts, tmpls)
	checkRemoteTargets(c, spec.Hosts, tmpls)
	checkSharedTrees(c, hosts, spec.Hosts, tmpls)
	for _, h := range spec.Hosts {
		for _, p := range hosts[h.Name].Protect {
			if s := resolveProtect(c, h, p, repos, notifiers, profiles, policies); s != nil {
				h.Services = append(h.Services, s)
			}
		}
		slices.SortFunc(h.Services, func(a, b *model.Service) int { return strings.Compare(a.Name, b.Name) })
	}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		if !used[name] && !unknownHosts {
			s := services[name]
			c.warnf(s.NameRange, "Service runs on no host", "No host runs service %q, so nothing is generated for it. Add it to a host's services list (a host without a services list runs every service).", name)
		}
	}
	return spec
}

var subsetPercentRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)%$`)
var subsetFractionRe = regexp.MustCompile(`^([0-9]+)/([0-9]+)$`)
var subsetSizeRe = regexp.MustCompile(`^[0-9]+[KMGT]$`)

// checkSubsetError checks restic's --read-data-subset: "n/t", "x%" or a size.
func checkSubsetError(s string) string {
	if m := subsetPercentRe.FindStringSubmatch(s); m != nil {
		p, _ := strconv.ParseFloat(m[1], 64)
		if p <= 0 || p > 100 {
			return "a percentage must be above 0 and at most 100"
		}
		return ""
	}
	if m := subsetFractionRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		t, _ := strconv.Atoi(m[2])
		if n < 1 || t < 1 || n > t {
			return "a fraction n/t needs 1 <= n <= t"
		}
		return ""
	}
	if subsetSizeRe.MatchString(s) && !strings.HasPrefix(s, "0") {
		return ""
	}
	return "expected a percentage (\"5%\"), a fraction (\"1/10\") or a size (\"500M\")"
}

func resolveRepo(c *checker, r *rawRepo) *model.Repository {
	out := &model.Repository{
		Name:            r.Name,
		URL:             r.URL,
		RepositoryFile:  optPath(c, r.RepositoryFile, r.RepositoryFileRange, "repository_file"),
		PasswordFile:    r.PasswordFile,
		EnvironmentFile: optPath(c, r.EnvironmentFile, r.EnvironmentFileRange, "environment_file"),
		PruneSchedule:   calendar(c, r.PruneSchedule, r.PruneScheduleRange, DefaultPruneSchedule),
		CheckSchedule:   calendar(c, r.CheckSchedule, r.CheckScheduleRange, DefaultCheckSchedule),
		DrillSchedule:   calendar(c, r.DrillSchedule, r.DrillScheduleRange, DefaultDrillSchedule),
		CheckSubset:     DefaultCheckSubset,
		PruneTimeout:    c.timeout(r.PruneTimeout, r.PruneTimeoutRange, DefaultPruneTimeout),
		CheckTimeout:    c.timeout(r.CheckTimeout, r.CheckTimeoutRange, DefaultCheckTimeout),
		DrillTimeout:    c.timeout(r.DrillTimeout, r.DrillTimeoutRange, DefaultDrillTimeout),
	}
	if r.Initialize != nil {
		out.Initialize = *r.Initialize
	}
	repositoryURL(c, r)
	if c.absPath(r.PasswordFile, r.PasswordFileRange, "password_file") {
		c.unitPath(r.PasswordFile, r.PasswordFileRange, "password_file")
	}
	if out.EnvironmentFile != "" {
		c.unitPath(r.EnvironmentFile, r.EnvironmentFileRange, "environment_file")
	}
	if out.RepositoryFile != "" {
		c.unitPath(r.RepositoryFile, r.RepositoryFileRange, "repository_file")
	}
	if set(r.CheckSubsetRange) {
		out.CheckSubset = r.CheckSubset
		if c.nonEmpty(r.CheckSubset, r.CheckSubsetRange, "check_subset") {
			if msg := checkSubsetError(r.CheckSubset); msg != "" {
				c.errorf(r.CheckSubsetRange, "Invalid check_subset", "%q is not a restic --read-data-subset value: %s.", r.CheckSubset, msg)
			}
		}
	}
	if t := r.Retention; t != nil {
		out.Retention = &model.Retention{Last: t.Last, Hourly: t.Hourly, Daily: t.Daily, Weekly: t.Weekly, Monthly: t.Monthly, Yearly: t.Yearly}
		ok := true
		for _, f := range []struct {
			n    int
			rng  hcl.Range
			what string
		}{{t.Last, t.LastRange, "last"}, {t.Hourly, t.HourlyRange, "hourly"}, {t.Daily, t.DailyRange, "daily"}, {t.Weekly, t.WeeklyRange, "weekly"}, {t.Monthly, t.MonthlyRange, "monthly"}, {t.Yearly, t.YearlyRange, "yearly"}} {
			ok = c.nonNegative(f.n, f.rng, "retention count "+f.what) && c.usable(f.rng) && ok
		}
		if ok && t.Last+t.Hourly+t.Daily+t.Weekly+t.Monthly+t.Yearly == 0 {
			c.errorf(t.DefRange, "Empty retention", "A retention block must keep something: set at least one of last, hourly, daily, weekly, monthly, yearly above 0 (an empty policy would make restic forget every snapshot).")
		}
	}
	return out
}

func resolveNotifier(c *checker, n *rawNotifier) *model.Notifier {
	if c.nonEmpty(n.Type, n.TypeRange, "notifier type") && n.Type != "ntfy" && n.Type != "webhook" {
		c.errorf(n.TypeRange, "Invalid notifier type", "%q is not a notifier type: use \"ntfy\" or \"webhook\".%s", n.Type, suggest(n.Type, []string{"ntfy", "webhook"}))
	}
	notifierURL(c, n)
	out := &model.Notifier{Name: n.Name, Type: n.Type, URL: n.URL,
		URLFile:   optPath(c, n.URLFile, n.URLFileRange, "url_file"),
		TokenFile: optPath(c, n.TokenFile, n.TokenFileRange, "token_file")}
	out.Events = slices.Clone(rules.DefaultNotifierEvents)
	if events, ok := c.list(n.Events, n.EventsRange); ok {
		out.Events = nil
		if len(events) == 0 {
			c.errorf(n.EventsRange, "No events", "events must list at least one of %s; leave it out for the default (%s).", quoteList(rules.NotifierEvents), quoteList(rules.DefaultNotifierEvents))
		}
		seen := map[string]bool{}
		for _, e := range events {
			switch {
			case !slices.Contains(rules.NotifierEvents, e.s):
				c.errorf(e.rng, "Unknown event", "%q is not a notifier event: use %s.%s", e.s, quoteList(rules.NotifierEvents), suggest(e.s, rules.NotifierEvents))
			case seen[e.s]:
				c.errorf(e.rng, "Duplicate event", "%q is listed twice.", e.s)
			}
			seen[e.s] = true
			out.Events = append(out.Events, e.s)
		}
	}
	// Both reach the notify units through LoadCredential=, where systemd
	// expands specifiers.
	if out.URLFile != "" {
		c.unitPath(n.URLFile, n.URLFileRange, "url_file")
	}
	if out.TokenFile != "" {
		c.unitPath(n.TokenFile, n.TokenFileRange, "token_file")
	}
	return out
}

func resolvePolicy(c *checker, p *rawPolicy) *model.SnapshotPolicy {
	if strings.HasPrefix(p.Name, hostfacts.Prefix) {
		c.errorf(p.NameRange, "Reserved name", "Snapshot policy names starting with %q are reserved for the templates nixgen generates (nixgen-replica-<policy> on hosts that receive replicas); rename %q.", hostfacts.Prefix, p.Name)
	}
	c.nonNegative(p.Frequently, p.FrequentlyRange, "frequently count")
	c.nonNegative(p.Hourly, p.HourlyRange, "hourly count")
	c.nonNegative(p.Daily, p.DailyRange, "daily count")
	c.nonNegative(p.Weekly, p.WeeklyRange, "weekly count")
	c.nonNegative(p.Monthly, p.MonthlyRange, "monthly count")
	c.nonNegative(p.Yearly, p.YearlyRange, "yearly count")
	out := &model.SnapshotPolicy{Name: p.Name, Frequently: p.Frequently, Hourly: p.Hourly, Daily: p.Daily, Weekly: p.Weekly, Monthly: p.Monthly, Yearly: p.Yearly, Autosnap: true, Autoprune: true}
	if p.Autosnap != nil {
		out.Autosnap = *p.Autosnap
	}
	if p.Autoprune != nil {
		out.Autoprune = *p.Autoprune
	}
	return out
}

// parseTarget splits and checks a replication target (rules.ParseTarget).
func parseTarget(s string) (user, host, dataset, problem string) { return rules.ParseTarget(s) }

func resolveService(c *checker, s *rawService, repos map[string]*rawRepo, pgRepos map[string]*rawPgRepo, notifiers map[string]*rawNotifier, profiles map[string]*profile, policies map[string]*rawPolicy) *serviceTmpl {
	t := &serviceTmpl{raw: s, relName: s.Name}
	svc := &t.svc
	svc.Name = s.Name
	unitOK := resolveUnit(c, s, svc)
	svc.User, svc.Group, svc.Mode = DefaultUser, DefaultGroup, DefaultMode
	if set(s.UserRange) {
		svc.User = s.User
		c.owner(s.User, s.UserRange, "user")
	}
	if set(s.GroupRange) {
		svc.Group = s.Group
		c.owner(s.Group, s.GroupRange, "group")
	}
	if set(s.ModeRange) {
		if m, ok := c.mode(s.Mode, s.ModeRange); ok {
			svc.Mode = m
		}
	}
	t.mountOK = true
	if set(s.MountpointRange) {
		t.mountOK = c.absPath(s.Mountpoint, s.MountpointRange, "mountpoint")
		if t.mountOK && s.Mountpoint == "/" {
			c.errorf(s.MountpointRange, "Invalid mountpoint", "A service dataset cannot be mounted at \"/\".")
			t.mountOK = false
		}
	}

	props := map[string]string{}
	if d := s.Dataset; d != nil {
		if set(d.NameRange) && c.nonEmpty(d.Name, d.NameRange, "dataset name") {
			t.relName = d.Name
			if msg := relativeDatasetError(d.Name); msg != "" {
				c.errorf(d.NameRange, "Invalid dataset name", "%q is not a valid dataset name below the host's parent_dataset: %s.", d.Name, msg)
			}
		}
		if set(d.ProfileRange) && ref(c, profiles, d.Profile, d.ProfileRange, "profile") {
			svc.Profile = d.Profile
			maps.Copy(props, profiles[d.Profile].props)
		}
		maps.Copy(props, datasetProps(c, d.Recordsize, d.RecordsizeRange, d.Compression, d.CompressionRange, d.Properties, d.PropertiesRange))
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		svc.Properties = append(svc.Properties, model.Property{Name: k, Value: props[k], CreateOnly: rules.CreateOnly(k)})
	}

	if s.Backup != nil {
		svc.Backup = resolveBackup(c, t, repos)
	}
	if sn := s.Snapshots; sn != nil {
		ref(c, policies, sn.Policy, sn.PolicyRange, "snapshot_policy")
		svc.Snapshots = &model.Snapshots{Policy: sn.Policy}
	}
	if s.Replication != nil {
		svc.Replication = resolveReplication(c, s)
	}
	if p := s.PostgreSQL; p != nil {
		svc.PostgreSQL = resolvePostgreSQL(c, p, pgRepos)
	}
	if p := s.Preseed; p != nil {
		svc.Preseed = resolvePreseed(c, p, svc)
		if kind := earlyUnitKind(svc.Unit); kind != "" && unitOK {
			c.errorf(s.UnitRange, "Unit starts before its preseed can", "%q is a %s unit, which systemd starts before basic.target at boot; the preseed unit that it would wait for is ordered after network-online.target, which comes later, so the order is a cycle that systemd breaks by dropping a job. Name the service unit that holds the data, such as %q.", svc.Unit, kind, strings.TrimSuffix(svc.Unit, kind)+".service")
		}
	}
	notify, _ := c.list(s.Notify, s.NotifyRange)
	seen := map[string]bool{}
	for _, n := range notify {
		if ref(c, notifiers, n.s, n.rng, "notifier") && seen[n.s] {
			c.errorf(n.rng, "Duplicate notifier", "%q is listed twice.", n.s)
		}
		seen[n.s] = true
		svc.Notify = append(svc.Notify, n.s)
	}
	return t
}

// resolveUnit sets the service's unit or container and reports whether
// its unit name is usable for the checks that read it.
func resolveUnit(c *checker, s *rawService, svc *model.Service) bool {
	svc.Unit = s.Name + ".service"
	unitOK := true
	// Generated units and restic jobs are named nixgen-<what>-<name>
	// (nixgen-check-<repository>, nixgen-preseed-<service>, ...): a service
	// or unit of that form could take one's name.
	if strings.HasPrefix(s.Name, hostfacts.Prefix) {
		c.errorf(s.NameRange, "Reserved name", "Service names starting with %q are reserved for the units nixgen generates (such as the restic jobs nixgen-check-<repository> and nixgen-prune-<repository>); rename %q.", hostfacts.Prefix, s.Name)
	}
	if set(s.UnitRange) {
		svc.Unit = s.Unit
		unitOK = c.unit(s.Unit, s.UnitRange)
		if unitOK && strings.HasPrefix(s.Unit, hostfacts.Prefix) {
			c.errorf(s.UnitRange, "Reserved unit name", "Unit names starting with %q are reserved for the units nixgen generates; %q cannot be a service's own unit.", hostfacts.Prefix, s.Unit)
			unitOK = false
		}
	}
	if set(s.ContainerRange) {
		svc.Unit, svc.Container = "", s.Container
		if set(s.UnitRange) {
			c.errorf(s.ContainerRange, "Both unit and container", "A service runs as a unit or as a container, not both: the unit of container %q is podman-%s.service or docker-%s.service, which nixgen derives from virtualisation.oci-containers.backend. Remove one.", s.Container, s.Container, s.Container)
		} else if c.text(s.Container, s.ContainerRange, "container name") {
			if msg := rules.Name(s.Container); msg != "" {
				c.errorf(s.ContainerRange, "Invalid container name", "The container name %q %s.", s.Container, msg)
			}
		}
	}
	return unitOK
}

// resolveBackup reads a service's backup block; its paths are checked
// against the mountpoint per host (placeService).
func resolveBackup(c *checker, t *serviceTmpl, repos map[string]*rawRepo) *model.Backup {
	s, b := t.raw, t.raw.Backup
	out := &model.Backup{Schedule: calendar(c, b.Schedule, b.ScheduleRange, DefaultBackupSchedule),
		Timeout: c.timeout(b.Timeout, b.TimeoutRange, DefaultBackupTimeout)}
	out.Repositories, out.PerRepository = backupRepos(c, s, repos)
	if paths, ok := c.list(b.Paths, b.PathsRange); ok {
		if len(paths) == 0 {
			c.errorf(b.PathsRange, "No backup paths", "paths must list at least one path; leave it out to back up the mountpoint.")
		}
		seen := map[string]bool{}
		for _, p := range paths {
			if c.absPath(p.s, p.rng, "backup path") && c.filesFromLine(p.s, p.rng, "backup path") && seen[p.s] {
				c.errorf(p.rng, "Duplicate backup path", "%q is listed twice.", p.s)
			}
			seen[p.s] = true
			out.Paths = append(out.Paths, p.s)
			t.pathRanges = append(t.pathRanges, p.rng)
		}
	}
	excl, _ := c.list(b.Exclude, b.ExcludeRange)
	for _, e := range excl {
		if c.nonEmpty(e.s, e.rng, "exclude pattern") {
			c.excludeLine(e.s, e.rng)
		}
		out.Exclude = append(out.Exclude, e.s)
	}
	tags, _ := c.list(b.Tags, b.TagsRange)
	for _, tg := range tags {
		c.tag(tg.s, tg.rng)
		out.Tags = append(out.Tags, tg.s)
	}
	return out
}

// resolveReplication reads a service's replication block.
func resolveReplication(c *checker, s *rawService) *model.Replication {
	r := s.Replication
	out := &model.Replication{Target: r.Target, Schedule: calendar(c, r.Schedule, r.ScheduleRange, DefaultReplicationSchedule), SSHKey: r.SSHKey,
		Timeout: c.timeout(r.Timeout, r.TimeoutRange, DefaultReplicationTimeout), SendOptions: DefaultSendOptions}
	if set(r.SendOptionsRange) {
		out.SendOptions = r.SendOptions
		if c.nonEmpty(r.SendOptions, r.SendOptionsRange, "send_options") {
			if msg := sendOptionsError(r.SendOptions); msg != "" {
				c.errorf(r.SendOptionsRange, "Invalid send_options", "%q %s.", r.SendOptions, msg)
			}
		}
	}
	if c.nonEmpty(r.Target, r.TargetRange, "replication target") {
		u, h, d, problem := parseTarget(r.Target)
		if problem != "" {
			c.errorf(r.TargetRange, "Invalid replication target", "%q is not \"[user@]host:pool/dataset\" or a local \"pool/dataset\": %s.", r.Target, problem)
		}
		out.TargetUser, out.TargetHost, out.TargetDataset = u, h, d
	}
	// syncoid pastes the key into a shell command line: the shell
	// allow-list applies on top of the path rules.
	if set(r.SSHKeyRange) && c.absPath(r.SSHKey, r.SSHKeyRange, "ssh_key") && c.unitPath(r.SSHKey, r.SSHKeyRange, "ssh_key") {
		c.shellWord(r.SSHKey, r.SSHKeyRange, "ssh_key")
	}
	if out.TargetHost == "" && set(r.SSHKeyRange) {
		c.errorf(r.SSHKeyRange, "ssh_key without a remote target", "A local replication target does not use ssh; remove ssh_key or name a host in the target.")
	}
	if d := out.TargetDataset; d != "" && !strings.Contains(d, "/") {
		c.errorf(r.TargetRange, "Replication target is a pool", "%q names the root dataset of a pool; replicate into a dataset below it, such as %q: syncoid cannot receive into an existing dataset without snapshots, and forcing it would wipe the pool.", d, d+"/"+s.Name)
	}
	out.SSHPublicKey = c.sshPublicKey(r.SSHPublicKey, r.SSHPublicKeyRange, "ssh_public_key")
	out.KnownHostKey = c.sshPublicKey(r.KnownHostKey, r.KnownHostKeyRange, "known_host_key")
	if out.TargetHost == "" {
		for _, a := range []struct {
			rng  hcl.Range
			name string
		}{{r.SSHPublicKeyRange, "ssh_public_key"}, {r.KnownHostKeyRange, "known_host_key"}} {
			if set(a.rng) {
				c.errorf(a.rng, a.name+" without a remote target", "A local replication target does not use ssh; remove %s or name a host in the target.", a.name)
			}
		}
	}
	return out
}

// backupRepos resolves `repository` or `repositories` of a backup block.
func backupRepos(c *checker, s *rawService, repos map[string]*rawRepo) (names []string, perRepo bool) {
	b := s.Backup
	switch {
	case set(b.RepositoryRange) && set(b.RepositoriesRange):
		c.errorf(b.RepositoriesRange, "Both repository and repositories", "Give one repository with `repository`, or several with `repositories`, not both.")
		return nil, false
	case set(b.RepositoryRange):
		ref(c, repos, b.Repository, b.RepositoryRange, "restic_repository")
		return []string{b.Repository}, false
	case set(b.RepositoriesRange):
		list, ok := c.list(b.Repositories, b.RepositoriesRange)
		if ok && len(list) == 0 {
			c.errorf(b.RepositoriesRange, "No repositories", "repositories must list at least one restic_repository.")
		}
		seen := map[string]bool{}
		for _, r := range list {
			if ref(c, repos, r.s, r.rng, "restic_repository") && seen[r.s] {
				c.errorf(r.rng, "Duplicate repository", "%q is listed twice.", r.s)
			}
			seen[r.s] = true
			names = append(names, r.s)
		}
		return names, true
	default:
		c.errorf(b.DefRange, "Missing repository", "A backup block needs `repository = \"NAME\"` or `repositories = [\"NAME\", ...]`.")
		return nil, false
	}
}

// resolveProtect resolves a host's protect block: an existing dataset
// rendered like a service's protection (restic job, sanoid dataset,
// syncoid command), never created, changed or preseeded.
func resolveProtect(c *checker, h *model.Host, p *rawProtect, repos map[string]*rawRepo, notifiers map[string]*rawNotifier, profiles map[string]*profile, policies map[string]*rawPolicy) *model.Service {
	if !c.blockName(p.Name, p.NameRange, "protect") {
		return nil
	}
	for _, s := range h.Services {
		if s.Name == p.Name {
			c.errorf(p.NameRange, "Protect block named like a service", "Host %q runs service %q; a protect block shares the names of its jobs, locks and metrics with the services, so give it another name.", h.Name, p.Name)
			return nil
		}
	}
	t := resolveService(c, &rawService{Name: p.Name, NameRange: p.NameRange, DefRange: p.DefRange,
		Mountpoint: p.Mountpoint, MountpointRange: p.MountpointRange, Notify: p.Notify, NotifyRange: p.NotifyRange,
		Backup: p.Backup, Snapshots: p.Snapshots, Replication: p.Replication}, repos, nil, notifiers, profiles, policies)
	svc := t.svc
	svc.Protect, svc.Unit, svc.User, svc.Group, svc.Mode = true, "", "", "", ""
	svc.Dataset, svc.Mountpoint = p.Dataset, p.Mountpoint
	dsOK := false
	if c.nonEmpty(p.Dataset, p.DatasetRange, "dataset") {
		if msg := datasetNameError(p.Dataset); msg != "" {
			c.errorf(p.DatasetRange, "Invalid dataset name", "%q is not a valid ZFS dataset name: %s.", p.Dataset, msg)
		} else {
			dsOK = true
		}
	}
	if dsOK && (within(p.Dataset, h.ParentDataset, "/") || within(h.ParentDataset, p.Dataset, "/")) {
		c.errorf(p.DatasetRange, "Protected dataset overlaps the services", "On host %q, %q overlaps parent_dataset %q, whose datasets nixgen manages; protect datasets outside it.", h.Name, p.Dataset, h.ParentDataset)
	}
	if b := svc.Backup; b != nil && t.mountOK {
		if b.Paths == nil {
			b.Paths = []string{p.Mountpoint}
		} else {
			for i, bp := range b.Paths {
				if !within(bp, p.Mountpoint, "/") {
					c.errorf(t.pathRanges[i], "Backup path outside the dataset", "%q is not inside the protected mountpoint %q; the backup reads a snapshot of the dataset bound over it.", bp, p.Mountpoint)
				}
			}
		}
	}
	if r := svc.Replication; r != nil && dsOK && r.TargetHost == "" && r.TargetDataset != "" &&
		(within(p.Dataset, r.TargetDataset, "/") || within(r.TargetDataset, p.Dataset, "/")) {
		c.errorf(p.Replication.TargetRange, "Replication onto itself", "On host %q the local target %q overlaps the protected dataset %q; replicate to a dataset outside it.", h.Name, r.TargetDataset, p.Dataset)
	}
	return &svc
}

func resolvePreseed(c *checker, p *rawPreseed, svc *model.Service) *model.Preseed {
	out := &model.Preseed{Timeout: DefaultPreseedTimeout, OnFailure: DefaultOnFailure}
	usable := func(m string) string {
		switch {
		case m == "syncoid" && svc.Replication == nil:
			return "the service has no replication block to receive from"
		case m == "restic" && svc.Backup == nil:
			return "the service has no backup block to restore from"
		case m == "pgbackrest" && (svc.PostgreSQL == nil || svc.PostgreSQL.PITR == nil):
			return "the service has no postgresql.pitr block to restore from"
		}
		return ""
	}
	if methods, ok := c.list(p.Methods, p.MethodsRange); ok {
		if len(methods) == 0 {
			c.errorf(p.MethodsRange, "No preseed methods", "methods must list at least one of %s; leave it out for the default.", quoteList(PreseedMethods))
		}
		seen := map[string]bool{}
		for _, mi := range methods {
			m := mi.s
			out.Methods = append(out.Methods, m)
			if !c.nonEmpty(m, mi.rng, "preseed method") {
				continue
			}
			switch {
			case !slices.Contains(PreseedMethods, m):
				c.errorf(mi.rng, "Unknown preseed method", "%q is not a preseed method: use %s.%s", m, quoteList(PreseedMethods), suggest(m, PreseedMethods))
			case seen[m]:
				c.errorf(mi.rng, "Duplicate preseed method", "%q is listed twice.", m)
			case usable(m) != "":
				c.errorf(mi.rng, "Unusable preseed method", "The %q method cannot be used: %s.", m, usable(m))
			}
			seen[m] = true
		}
	} else {
		for _, m := range PreseedMethods {
			if usable(m) == "" {
				out.Methods = append(out.Methods, m)
			}
		}
	}
	out.Timeout = c.timeout(p.Timeout, p.TimeoutRange, DefaultPreseedTimeout)
	if set(p.OnFailureRange) {
		out.OnFailure = p.OnFailure
		if c.nonEmpty(p.OnFailure, p.OnFailureRange, "on_failure") && p.OnFailure != "block" && p.OnFailure != "start-empty" {
			c.errorf(p.OnFailureRange, "Invalid on_failure", "%q is not allowed: use \"block\" (the service stays down) or \"start-empty\".%s", p.OnFailure, suggest(p.OnFailure, []string{"block", "start-empty"}))
		}
	}
	return out
}

var memoryMaxRe = regexp.MustCompile(`^([1-9][0-9]*[KMGT]?|[1-9][0-9]?(\.[0-9]+)?%|100%|infinity)$`)
var cpuQuotaRe = regexp.MustCompile(`^[1-9][0-9]*%$`)

// resolveJobs checks a host's jobs block.
func resolveJobs(c *checker, j *rawJobs) model.JobLimits {
	out := model.JobLimits{RandomizedDelay: DefaultRandomizedDelay}
	if j == nil {
		return out
	}
	if set(j.MemoryMaxRange) && c.nonEmpty(j.MemoryMax, j.MemoryMaxRange, "memory_max") {
		out.MemoryMax = j.MemoryMax
		if !memoryMaxRe.MatchString(j.MemoryMax) {
			c.errorf(j.MemoryMaxRange, "Invalid memory_max", "%q is not a systemd MemoryMax= value: use bytes with an optional K, M, G or T suffix (\"4G\"), a percentage of the host's memory (\"25%%\"), or \"infinity\".", j.MemoryMax)
		}
	}
	if set(j.CPUQuotaRange) && c.nonEmpty(j.CPUQuota, j.CPUQuotaRange, "cpu_quota") {
		out.CPUQuota = j.CPUQuota
		if !cpuQuotaRe.MatchString(j.CPUQuota) {
			c.errorf(j.CPUQuotaRange, "Invalid cpu_quota", "%q is not a systemd CPUQuota= value: use a percentage of one CPU, such as \"150%%\" for one and a half.", j.CPUQuota)
		}
	}
	if set(j.IOWeightRange) && c.usable(j.IOWeightRange) {
		out.IOWeight = j.IOWeight
		if j.IOWeight < 1 || j.IOWeight > 10000 {
			c.errorf(j.IOWeightRange, "Invalid io_weight", "io_weight must be from 1 to 10000 (systemd's IOWeight=; 100 is the default of every unit), not %d.", j.IOWeight)
		}
	}
	out.RandomizedDelay = c.timeout(j.RandomizedDelay, j.RandomizedDelayRange, DefaultRandomizedDelay)
	return out
}

// sendFlags are the zfs send flags that syncoid passes on from
// --sendoptions on a full or incremental send (its getoptionsline lists),
// except R: nixgen replicates one dataset, and syncoid refuses R with
// --recursive anyway.
const sendFlags = "DLPcehpvw"

// sendOptionsError checks replication's send_options: letters of
// sendFlags, each once. syncoid drops letters it does not know without a
// word, and o/x take a value it would read from the next word.
func sendOptionsError(s string) string {
	seen := map[rune]bool{}
	for _, r := range s {
		switch {
		case r == 'R':
			return "contains R: a recursive send would replicate the datasets below the service's as well; nixgen replicates each dataset by itself"
		case !strings.ContainsRune(sendFlags, r):
			return fmt.Sprintf("contains %q: use letters of zfs send flags that syncoid passes on (%s), written together, such as \"wp\"", r, strings.Join(strings.Split(sendFlags, ""), " "))
		case seen[r]:
			return fmt.Sprintf("lists %q twice", r)
		}
		seen[r] = true
	}
	return ""
}

// earlyUnitKind returns the suffix of a unit that default dependencies place
// before basic.target (sockets.target, timers.target, paths.target,
// local-fs.target, swap.target, slices.target) or that systemd does not start
// at all (.device, .scope); "" for .service and .target.
func earlyUnitKind(unit string) string {
	for _, k := range []string{".socket", ".timer", ".path", ".mount", ".automount", ".swap", ".slice", ".device", ".scope"} {
		if strings.HasSuffix(unit, k) {
			return k
		}
	}
	return ""
}
