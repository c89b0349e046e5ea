package schema

import (
	"cmp"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/rules"
)

// within reports whether p is q or below q (paths or dataset names).
func within(p, q, sep string) bool { return rules.Within(p, q, sep) }

// checkSharedTargets reports replication targets that two senders share
// or nest: syncoid pushes would overwrite each other. This includes one
// service run on two hosts, since both hosts would push to its one target.
func checkSharedTargets(c *checker, hosts []*model.Host, tmpls map[string]*serviceTmpl) {
	type sender struct {
		host, svc   string
		where, ds   string // target machine ("" + host name for local), dataset
		targetRange hcl.Range
	}
	var senders []sender
	for _, h := range hosts {
		for _, s := range h.Services {
			r := s.Replication
			if r == nil || r.TargetDataset == "" {
				continue
			}
			where := strings.ToLower(r.TargetHost)
			switch {
			case r.Receiver != "":
				where = r.Receiver // by name or by address: one machine
			case where == "":
				where = "local " + h.Name
			}
			senders = append(senders, sender{h.Name, s.Name, where, r.TargetDataset, tmpls[s.Name].raw.Replication.TargetRange})
		}
	}
	// Targets overlap only on one machine: one index per machine, then the
	// pairs in the order of a loop over all senders.
	byWhere := map[string][]int{}
	for i, s := range senders {
		byWhere[s.where] = append(byWhere[s.where], i)
	}
	var pairs [][2]int
	for _, idx := range byWhere {
		keys := make([]string, len(idx))
		for k, i := range idx {
			keys[k] = senders[i].ds
		}
		for _, p := range newPathIndex(keys, nil).pairs() {
			pairs = append(pairs, [2]int{idx[p[0]], idx[p[1]]})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[1], b[1]), cmp.Compare(a[0], b[0])) })
	for _, p := range pairs {
		a, b := senders[p[0]], senders[p[1]]
		c.errorf(b.targetRange, "Shared replication target", "Service %q on host %q and service %q on host %q replicate to overlapping datasets %q and %q on %s; each sender needs its own target.", a.svc, a.host, b.svc, b.host, a.ds, b.ds, strings.TrimPrefix(a.where, "local "))
	}
}

// systemMountpointError returns why a dataset must not be mounted at mp
// (a system directory, or inside a system tree), or "".
func systemMountpointError(mp string) string { return rules.SystemMountpoint(mp) }

// placed is a service as placed on a host, for collision checks.
type placed struct {
	t             *serviceTmpl
	dataset       string
	mountpoint    string
	dsRange, mRng hcl.Range // where the dataset / mountpoint came from
}

func resolveHost(c *checker, h *rawHost, tmpls map[string]*serviceTmpl, used map[string]bool, unknownHosts *bool) *model.Host {
	out := &model.Host{Name: h.Name, ParentDataset: h.ParentDataset, ParentMount: h.ParentMount,
		SanoidInterval: calendar(c, h.SanoidInterval, h.SanoidIntervalRange, ""),
		Jobs:           resolveJobs(c, h.Jobs),
		Alerts:         resolveAlerts(c, h.Alerts)}
	out.SSHHostKey = c.sshPublicKey(h.SSHHostKey, h.SSHHostKeyRange, "ssh_host_key")
	if addrs, ok := c.list(h.Addresses, h.AddressesRange); ok {
		for _, a := range addrs {
			if !c.nonEmpty(a.s, a.rng, "address") {
				continue
			}
			if msg := rules.Host(a.s); msg != "" {
				c.errorf(a.rng, "Invalid address", "%q %s.", a.s, msg)
				continue
			}
			out.Addresses = append(out.Addresses, a.s)
		}
	}
	parentOK := false
	if c.nonEmpty(h.ParentDataset, h.ParentDatasetRange, "parent_dataset") {
		if msg := datasetNameError(h.ParentDataset); msg != "" {
			c.errorf(h.ParentDatasetRange, "Invalid dataset name", "%q is not a valid ZFS dataset name: %s.", h.ParentDataset, msg)
		} else {
			parentOK = true
		}
	}
	mountOK := c.absPath(h.ParentMount, h.ParentMountRange, "parent_mount")

	var all []placed
	for _, n := range hostServiceNames(c, h, tmpls, unknownHosts) {
		used[n] = true
		svc, p := placeService(c, h, tmpls[n], parentOK, mountOK)
		out.Services = append(out.Services, svc)
		all = append(all, p)
	}
	checkJobNames(c, out, all)
	if parentOK {
		checkDatasetCollisions(c, out, all)
	}
	if mountOK {
		checkMountpointCollisions(c, out, all)
	}
	checkOnePgRepo(c, out, tmpls)
	return out
}

// hostServiceNames returns the services a host runs, sorted: its services
// list, or every service when it has none.
func hostServiceNames(c *checker, h *rawHost, tmpls map[string]*serviceTmpl, unknownHosts *bool) []string {
	if !set(h.ServicesRange) {
		return slices.Sorted(maps.Keys(tmpls))
	}
	list, ok := c.list(h.Services, h.ServicesRange)
	if !ok {
		// Which services this host runs is unknown: do not warn
		// about services that seem to run nowhere.
		*unknownHosts = true
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range list {
		if !ref(c, tmpls, n.s, n.rng, "service") {
			continue
		}
		if seen[n.s] {
			c.errorf(n.rng, "Duplicate service", "%q is listed twice.", n.s)
			continue
		}
		seen[n.s] = true
		names = append(names, n.s)
	}
	slices.Sort(names)
	return names
}

// placeService resolves service template t on host h: its own copy, with
// the dataset and mountpoint that the host's parents give it, and the
// checks that need them.
func placeService(c *checker, h *rawHost, t *serviceTmpl, parentOK, mountOK bool) (*model.Service, placed) {
	s := t.raw
	svc := t.svc // copy: each host gets its own resolved service
	svc.Properties = slices.Clone(t.svc.Properties)
	svc.Notify = slices.Clone(t.svc.Notify)
	if b := t.svc.Backup; b != nil {
		cb := *b
		svc.Backup = &cb
	}
	if r := t.svc.Replication; r != nil {
		cr := *r
		svc.Replication = &cr
	}
	if pg := t.svc.PostgreSQL; pg != nil {
		cpg := *pg
		svc.PostgreSQL = &cpg
	}
	if p := t.svc.Preseed; p != nil {
		cp := *p
		cp.Methods = slices.Clone(p.Methods)
		svc.Preseed = &cp
	}
	p := placed{t: t, dsRange: s.NameRange, mRng: s.NameRange}
	svc.Dataset = h.ParentDataset + "/" + t.relName
	if s.Dataset != nil && set(s.Dataset.NameRange) {
		p.dsRange = s.Dataset.NameRange
	}
	svc.Mountpoint = path.Join(h.ParentMount, s.Name)
	if set(s.MountpointRange) {
		svc.Mountpoint = s.Mountpoint
		p.mRng = s.MountpointRange
	}
	p.dataset, p.mountpoint = svc.Dataset, svc.Mountpoint
	mpOK := t.mountOK && (mountOK || set(s.MountpointRange))
	if msg := systemMountpointError(svc.Mountpoint); msg != "" && mpOK {
		c.errorf(p.mRng, "Mountpoint over a system directory", "On host %q, service %q would be mounted at %q: %s.", h.Name, s.Name, svc.Mountpoint, msg)
	}
	if parentOK && relativeDatasetError(t.relName) == "" && len(svc.Dataset) > maxDatasetName {
		c.errorf(p.dsRange, "Dataset name too long", "On host %q the dataset %q is %d bytes long; ZFS allows at most %d.", h.Name, svc.Dataset, len(svc.Dataset), maxDatasetName)
	}
	if b := svc.Backup; b != nil {
		if b.Paths == nil {
			b.Paths = []string{svc.Mountpoint}
		} else if mpOK {
			for i, bp := range b.Paths {
				if strings.HasPrefix(bp, "/") && !within(bp, svc.Mountpoint, "/") {
					c.errorf(t.pathRanges[i], "Backup path outside the dataset", "On host %q, %q is not inside the service's mountpoint %q; preseed restores backups into the dataset, so every path must be below it.", h.Name, bp, svc.Mountpoint)
				}
			}
		}
	}
	if r := svc.Replication; r != nil && r.TargetHost == "" && r.TargetDataset != "" && parentOK {
		if within(svc.Dataset, r.TargetDataset, "/") || within(r.TargetDataset, svc.Dataset, "/") {
			c.errorf(s.Replication.TargetRange, "Replication onto itself", "On host %q the local target %q overlaps the service's own dataset %q; replicate to a dataset outside it.", h.Name, r.TargetDataset, svc.Dataset)
		}
	}
	checkPostgreSQL(c, h.Name, t, &svc, mpOK)
	return &svc, p
}

// checkJobNames: restic job names ("<service>" or "<service>-<repository>")
// must not clash: service "a-b" and service "a" backed up to repository
// "b" would both be restic-backups-a-b.
func checkJobNames(c *checker, h *model.Host, all []placed) {
	jobs := map[string]string{}
	for i, sv := range h.Services {
		if sv.Backup == nil {
			continue
		}
		for _, r := range sv.Backup.Repositories {
			j := sv.Backup.Job(sv.Name, r)
			if other, dup := jobs[j]; dup && other != sv.Name {
				rb := all[i].t.raw.Backup
				at := rb.DefRange
				if set(rb.RepositoriesRange) {
					at = rb.RepositoriesRange
				}
				c.errorf(at, "Backup job name clash", "On host %q, the restic job %q of service %q has the name of a job of service %q; rename one of the services or repositories.", h.Name, j, sv.Name, other)
			}
			jobs[j] = sv.Name
		}
	}
}

// checkDatasetCollisions: a local replication target must not land on
// another service's data, and two services on one host must not share or
// nest datasets: preseed and rollback of one would clobber the other.
// (Names already reported as invalid are left out.)
func checkDatasetCollisions(c *checker, h *model.Host, all []placed) {
	datasets := make([]string, len(all))
	for i, p := range all {
		datasets[i] = p.dataset
	}
	every := newPathIndex(datasets, nil)
	for i, si := range h.Services {
		r := si.Replication
		if r == nil || r.TargetHost != "" || r.TargetDataset == "" {
			continue
		}
		for _, j := range every.overlapping(r.TargetDataset) {
			if j != i {
				sj := h.Services[j]
				c.errorf(all[i].t.raw.Replication.TargetRange, "Replication onto another service", "On host %q the local target %q of service %q overlaps the dataset %q of service %q.", h.Name, r.TargetDataset, si.Name, sj.Dataset, sj.Name)
			}
		}
	}
	valid := newPathIndex(datasets, func(i int) bool { return relativeDatasetError(all[i].t.relName) == "" })
	for _, p := range valid.pairs() {
		a, b := all[p[0]], all[p[1]]
		at := laterExplicit(a.dsRange, b.dsRange, a.t.raw.Dataset != nil && set(a.t.raw.Dataset.NameRange), b.t.raw.Dataset != nil && set(b.t.raw.Dataset.NameRange))
		c.errorf(at, "Overlapping datasets", "On host %q, services %q and %q use the datasets %q and %q; each service needs its own dataset, not one inside another.", h.Name, a.t.svc.Name, b.t.svc.Name, a.dataset, b.dataset)
	}
}

// checkMountpointCollisions: two services on one host must not share or
// nest mountpoints.
func checkMountpointCollisions(c *checker, h *model.Host, all []placed) {
	mountpoints := make([]string, len(all))
	for i, p := range all {
		mountpoints[i] = p.mountpoint
	}
	for _, p := range newPathIndex(mountpoints, func(i int) bool { return all[i].t.mountOK }).pairs() {
		a, b := all[p[0]], all[p[1]]
		at := laterExplicit(a.mRng, b.mRng, set(a.t.raw.MountpointRange), set(b.t.raw.MountpointRange))
		c.errorf(at, "Overlapping mountpoints", "On host %q, services %q and %q use the mountpoints %q and %q; each service needs its own mountpoint, not one inside another.", h.Name, a.t.svc.Name, b.t.svc.Name, a.mountpoint, b.mountpoint)
	}
}

// laterExplicit picks where to report a collision: at an explicitly
// written attribute (the later one if both are), since defaults cannot
// collide with each other.
func laterExplicit(a, b hcl.Range, aSet, bSet bool) hcl.Range {
	switch {
	case aSet && bSet:
		if a.Filename > b.Filename || (a.Filename == b.Filename && a.Start.Byte > b.Start.Byte) {
			return a
		}
		return b
	case aSet:
		return a
	default:
		return b
	}
}

// checkRemoteTargets reports remote replication targets on a host of the
// specs (matched by name or address) that land on that host's own data: one of its
// service datasets, or its parent dataset or an ancestor of it. syncoid would
// roll the receiving service's data back to the sender's.
func checkRemoteTargets(c *checker, hosts []*model.Host, tmpls map[string]*serviceTmpl) {
	byName := map[string]*model.Host{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	indexes := map[*model.Host]*pathIndex{} // each target host's service datasets, built on first use
	for _, g := range hosts {
		for _, s := range g.Services {
			r := s.Replication
			if r == nil || r.TargetHost == "" || r.TargetDataset == "" {
				continue
			}
			rng := tmpls[s.Name].raw.Replication.TargetRange
			if h := byName[r.Receiver]; h != nil {
				if within(h.ParentDataset, r.TargetDataset, "/") {
					c.errorf(rng, "Replication onto a host's parent dataset", "Service %q on host %q replicates to %q on host %q, which holds the parent dataset %q of all its services; replicate to a dataset outside it.", s.Name, g.Name, r.TargetDataset, h.Name, h.ParentDataset)
					continue
				}
				x := indexes[h]
				if x == nil {
					datasets := make([]string, len(h.Services))
					for i, o := range h.Services {
						datasets[i] = o.Dataset
					}
					x = newPathIndex(datasets, nil)
					indexes[h] = x
				}
				for _, i := range x.overlapping(r.TargetDataset) {
					o := h.Services[i]
					if h == g && o == s {
						c.errorf(rng, "Replication onto itself", "Service %q on host %q replicates over ssh to its own dataset %q; replicate to a dataset outside it.", s.Name, g.Name, o.Dataset)
					} else {
						c.errorf(rng, "Replication onto another service", "Service %q on host %q replicates to %q on host %q, which overlaps the dataset %q of service %q there.", s.Name, g.Name, r.TargetDataset, h.Name, o.Dataset, o.Name)
					}
				}
			}
		}
	}
}
