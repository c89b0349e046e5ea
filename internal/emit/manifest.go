package emit

import (
	"fmt"
	"sort"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
)

// buildManifest returns manifest.json for one host: only the repositories and
// notifiers that its services use, so a host never learns other hosts' secrets' paths.
func buildManifest(spec *model.Spec, h *model.Host, services []*model.Service) ([]byte, error) {
	m := &manifest.Manifest{
		Version:  manifest.Version,
		Host:     h.Name,
		Parent:   manifest.Parent{Dataset: h.ParentDataset, Pool: h.Pool()},
		Services: make([]manifest.Service, 0, len(services)),
	}
	for _, s := range services {
		ms := manifest.Service{
			Name:       s.Name,
			Unit:       s.Unit,
			Container:  s.Container,
			Protect:    s.Protect,
			Dataset:    s.Dataset,
			Mountpoint: s.Mountpoint,
			User:       s.User,
			Group:      s.Group,
			Mode:       s.Mode,
			Properties: map[string]string{},
			Notify:     s.Notify,
		}
		for _, p := range s.Properties {
			ms.Properties[p.Name] = p.Value
			if p.CreateOnly {
				ms.CreateOnly = append(ms.CreateOnly, p.Name)
			}
		}
		sort.Strings(ms.CreateOnly)
		if sn := s.Snapshots; sn != nil {
			if p := spec.Policy(sn.Policy); p != nil && p.Autosnap {
				ms.Snapshots = true
			}
		}
		if p := s.Preseed; p != nil {
			ms.Preseed = &manifest.Preseed{
				Methods:        p.Methods,
				TimeoutSeconds: int64(p.Timeout / time.Second),
				OnFailure:      p.OnFailure,
			}
		}
		if b := s.Backup; b != nil {
			for _, name := range b.Repositories {
				r := spec.Repository(name)
				if r == nil {
					return nil, fmt.Errorf("service %q: restic repository %q is not declared", s.Name, name)
				}
				if m.Repositories == nil {
					m.Repositories = map[string]manifest.Repository{}
				}
				m.Repositories[r.Name] = manifest.Repository{
					URL: r.URL, RepositoryFile: r.RepositoryFile, PasswordFile: r.PasswordFile, EnvironmentFile: r.EnvironmentFile,
				}
			}
			if len(b.Repositories) == 0 {
				return nil, fmt.Errorf("service %q: backup without a repository", s.Name)
			}
			ms.Backup = &manifest.Backup{Repository: b.Repositories[0], Paths: b.Paths, Tags: b.Tags}
			if b.PerRepository {
				ms.Backup.Repositories = b.Repositories
			}
		}
		if r := s.Replication; r != nil {
			ms.Replication = &manifest.Replication{
				Target: r.Target, User: r.TargetUser, Host: r.TargetHost,
				Dataset: r.TargetDataset, SSHKey: r.SSHKey,
			}
		}
		if err := pgManifest(spec, m, s, &ms); err != nil {
			return nil, err
		}
		for _, name := range s.Notify {
			n := spec.Notifier(name)
			if n == nil {
				return nil, fmt.Errorf("service %q: notifier %q is not declared", s.Name, name)
			}
			if m.Notifiers == nil {
				m.Notifiers = map[string]manifest.Notifier{}
			}
			m.Notifiers[n.Name] = manifest.Notifier{Type: n.Type, URL: n.URL, URLFile: n.URLFile, TokenFile: n.TokenFile, Events: n.Events}
		}
		m.Services = append(m.Services, ms)
	}
	m.Jobs = jobsFor(spec, h, services)
	replicas := replicasOn(spec, h)
	for _, r := range replicas {
		m.Replicas = append(m.Replicas, manifest.Replica{Dataset: r.Dataset, Source: r.Source})
	}
	_, m.Receive = receiversOn(replicas)
	// The helper refuses an invalid manifest at run time; fail at render time instead.
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return manifest.Marshal(m)
}

// jobsFor lists the units whose OnFailure=/OnSuccess= run nixgen-helper
// notify, with the notifiers each reports to: a service's own for its backup
// and replication, the union over the services behind a repository or sanoid.
func jobsFor(spec *model.Spec, h *model.Host, services []*model.Service) []manifest.Job {
	var jobs []manifest.Job
	repos := map[string]bool{}
	snapshots := false
	for _, s := range services {
		if b := s.Backup; b != nil {
			for _, r := range b.Repositories {
				repos[r] = true
				jobs = append(jobs, manifest.Job{Unit: resticUnit(b.Job(s.Name, r)) + ".service", Kind: manifest.JobBackup,
					Service: s.Name, Repository: r, Notify: s.Notify})
			}
		}
		if s.Replication != nil {
			jobs = append(jobs, manifest.Job{Unit: syncoidUnit(s.Name) + ".service", Kind: manifest.JobReplication,
				Service: s.Name, Notify: s.Notify})
		}
		snapshots = snapshots || s.Snapshots != nil
		jobs = append(jobs, pgJobs(s)...)
	}
	for _, name := range sortedKeys(repos) {
		r := spec.Repository(name)
		notify := union(services, func(s *model.Service) bool { return s.Backup != nil && s.Backup.Uses(name) })
		if len(pruneOpts(r.Retention)) > 0 && r.PruneSchedule != "" {
			jobs = append(jobs, manifest.Job{Unit: resticUnit(pruneJob(name)) + ".service", Kind: manifest.JobPrune, Repository: name, Notify: notify})
		}
		if r.CheckSchedule != "" {
			jobs = append(jobs, manifest.Job{Unit: resticUnit(checkJob(name)) + ".service", Kind: manifest.JobCheck, Repository: name, Notify: notify})
		}
		if r.DrillSchedule != "" {
			jobs = append(jobs, manifest.Job{Unit: drillUnit(name) + ".service", Kind: manifest.JobDrill, Repository: name, Notify: notify})
		}
	}
	if snapshots || len(replicasOn(spec, h)) > 0 {
		jobs = append(jobs, manifest.Job{Unit: "sanoid.service", Kind: manifest.JobSnapshot,
			Notify: union(services, func(s *model.Service) bool { return s.Snapshots != nil })})
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Unit < jobs[j].Unit })
	return jobs
}
