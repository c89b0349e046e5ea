package model

import (
	"sort"

	"github.com/nixgen/nixgen/internal/hostfacts"
)

// JobKind is what a reported unit does.
type JobKind int

const (
	JobBackup      JobKind = iota // restic backup of a service
	JobPrune                      // restic forget --prune of a repository
	JobCheck                      // restic check of a repository
	JobDrill                      // restore drill of a repository
	JobSnapshot                   // sanoid
	JobReplication                // syncoid of a service
	JobPgBackup                   // pgBackRest full or diff backup of a service
	JobPgDrill                    // pgBackRest restore drill of a service
)

// Job is a generated unit whose outcome nixgen-helper notify reports.
type Job struct {
	Unit       string // full unit name, e.g. "restic-backups-sonarr.service"
	Kind       JobKind
	Service    string   // backup, replication, pgbackrest
	Repository string   // backup, prune, check, drill; pgbackrest: a pgBackRest repository
	Notify     []string // notifier names, sorted
}

// Replica is a dataset that some host of the spec replicates into a host.
type Replica struct {
	Dataset string // on the receiving host
	Source  string // "host:dataset"
	User    string // receive user on the host, "" for a local target
	Key     string // the sender's public key ("type base64"), "" for none
	// Policy prunes the replica: the source's snapshot policy (or
	// DefaultReplicaPolicy) named hostfacts.ReplicaTemplate(<policy>), with
	// autosnap off and autoprune on.
	Policy SnapshotPolicy
}

// DefaultReplicaPolicy keeps the replicas of a dataset whose source has no
// snapshot policy: syncoid's own snapshots are pruned by syncoid, so this
// only bounds snapshots that arrive some other way.
var DefaultReplicaPolicy = SnapshotPolicy{Name: "default", Hourly: 48, Daily: 30, Weekly: 8, Monthly: 6}

// Units is what runs on one host besides its services' datasets: the
// generated units whose outcome is reported, and the replicas it receives.
// The templates and manifest.json are both rendered from it.
type Units struct {
	Jobs     []Job     // a host's services' jobs, then per repository prune, check, drill, then sanoid (manifest.json sorts them by unit)
	Replicas []Replica // sorted by dataset
}

// UnitsOn computes the units of host h.
func (s *Spec) UnitsOn(h *Host) Units {
	u := Units{Replicas: s.replicasOn(h)}
	var repos []string
	seenRepo := map[string]bool{}
	snapshots := false
	for _, svc := range h.Services {
		if b := svc.Backup; b != nil {
			for _, r := range b.Repositories {
				if !seenRepo[r] {
					seenRepo[r] = true
					repos = append(repos, r)
				}
				u.Jobs = append(u.Jobs, Job{Unit: hostfacts.ResticUnit(b.Job(svc.Name, r)) + ".service", Kind: JobBackup,
					Service: svc.Name, Repository: r, Notify: svc.Notify})
			}
		}
		if svc.Replication != nil {
			u.Jobs = append(u.Jobs, Job{Unit: hostfacts.SyncoidUnit(svc.Name) + ".service", Kind: JobReplication,
				Service: svc.Name, Notify: svc.Notify})
		}
		if pg := svc.PostgreSQL; pg != nil && pg.PITR != nil {
			for _, j := range []string{"full", "diff"} {
				u.Jobs = append(u.Jobs, Job{Unit: hostfacts.PgBackupUnit(svc.Name, j) + ".service", Kind: JobPgBackup,
					Service: svc.Name, Repository: pg.PITR.Repository, Notify: svc.Notify})
			}
			u.Jobs = append(u.Jobs, Job{Unit: hostfacts.PgDrillUnit(svc.Name) + ".service", Kind: JobPgDrill,
				Service: svc.Name, Repository: pg.PITR.Repository, Notify: svc.Notify})
		}
		snapshots = snapshots || svc.Snapshots != nil
	}
	sort.Strings(repos)
	for _, name := range repos {
		r := s.Repository(name)
		notify := NotifiersOf(h.Services, func(svc *Service) bool { return svc.Backup != nil && svc.Backup.Uses(name) })
		if r.Retention.Keeps() && r.PruneSchedule != "" {
			u.Jobs = append(u.Jobs, Job{Unit: hostfacts.ResticUnit(hostfacts.PruneJob(name)) + ".service", Kind: JobPrune, Repository: name, Notify: notify})
		}
		if r.CheckSchedule != "" {
			u.Jobs = append(u.Jobs, Job{Unit: hostfacts.ResticUnit(hostfacts.CheckJob(name)) + ".service", Kind: JobCheck, Repository: name, Notify: notify})
		}
		if r.DrillSchedule != "" {
			u.Jobs = append(u.Jobs, Job{Unit: hostfacts.DrillUnit(name) + ".service", Kind: JobDrill, Repository: name, Notify: notify})
		}
	}
	if snapshots || len(u.Replicas) > 0 {
		u.Jobs = append(u.Jobs, Job{Unit: "sanoid.service", Kind: JobSnapshot,
			Notify: NotifiersOf(h.Services, func(svc *Service) bool { return svc.Snapshots != nil })})
	}
	return u
}

// replicasOn lists the datasets replicated into h: remote targets that
// name h (by its name or an address: Replication.Receiver) and local
// targets of h's own services.
func (s *Spec) replicasOn(h *Host) []Replica {
	var out []Replica
	for _, g := range s.Hosts {
		for _, svc := range g.Services {
			r := svc.Replication
			if r == nil || !(r.Receiver == h.Name || r.TargetHost == "" && g.Name == h.Name) {
				continue
			}
			p := DefaultReplicaPolicy
			if svc.Snapshots != nil {
				p = *s.Policy(svc.Snapshots.Policy)
			}
			p.Name = hostfacts.ReplicaTemplate(p.Name)
			p.Autosnap, p.Autoprune = false, true
			rep := Replica{Dataset: r.TargetDataset, Source: g.Name + ":" + svc.Dataset, Policy: p}
			if r.Receiver != "" {
				rep.User, rep.Key = r.ReceiveUser, r.SSHPublicKey
			}
			out = append(out, rep)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dataset < out[j].Dataset })
	return out
}

// Keeps reports whether a retention policy keeps anything (a nil one does not).
func (r *Retention) Keeps() bool {
	return r != nil && r.Last+r.Hourly+r.Daily+r.Weekly+r.Monthly+r.Yearly > 0
}

// NotifiersOf returns the notifiers of the services that uses selects,
// sorted and without duplicates; nil for none.
func NotifiersOf(services []*Service, uses func(*Service) bool) []string {
	set := map[string]bool{}
	for _, s := range services {
		if uses(s) {
			for _, n := range s.Notify {
				set[n] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
