package emit

import (
	"sort"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
)

// PreseedManifest is the path, relative to the host directory, of the
// manifest that a service's preseed unit reads (manifest.Manifest.Only).
// The host's manifest, checked whole, is read by nixgen-datasets, which
// every preseed unit requires.
func PreseedManifest(service string) string { return "services/" + service + ".preseed.json" }

// buildManifest returns manifest.json for one host: only the repositories and
// notifiers that its services use, so a host never learns other hosts' secrets' paths.
func buildManifest(spec *model.Spec, h *model.Host, services []*model.Service, units model.Units) *manifest.Manifest {
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
				if m.Repositories == nil {
					m.Repositories = map[string]manifest.Repository{}
				}
				m.Repositories[r.Name] = manifest.Repository{
					URL: r.URL, RepositoryFile: r.RepositoryFile, PasswordFile: r.PasswordFile, EnvironmentFile: r.EnvironmentFile,
				}
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
		pgManifest(spec, m, s, &ms)
		for _, name := range s.Notify {
			n := spec.Notifier(name)
			if m.Notifiers == nil {
				m.Notifiers = map[string]manifest.Notifier{}
			}
			m.Notifiers[n.Name] = manifest.Notifier{Type: n.Type, URL: n.URL, URLFile: n.URLFile, TokenFile: n.TokenFile, Events: n.Events}
		}
		m.Services = append(m.Services, ms)
	}
	for _, j := range units.Jobs {
		m.Jobs = append(m.Jobs, manifest.Job{Unit: j.Unit, Kind: jobKinds[j.Kind], Service: j.Service,
			Repository: j.Repository, Notify: j.Notify})
	}
	sort.Slice(m.Jobs, func(i, j int) bool { return m.Jobs[i].Unit < m.Jobs[j].Unit })
	for _, r := range units.Replicas {
		m.Replicas = append(m.Replicas, manifest.Replica{Dataset: r.Dataset, Source: r.Source})
	}
	_, m.Receive = receiversOn(units.Replicas)
	// The helper refuses an invalid manifest at run time. internal/schema
	// applies the same rules (internal/rules) with positions, so a manifest
	// that fails here is a bug.
	if err := m.Validate(); err != nil {
		bug("%v", err)
	}
	return m
}

// jobKinds names each kind of job in manifest.json.
var jobKinds = map[model.JobKind]string{
	model.JobBackup: manifest.JobBackup, model.JobPrune: manifest.JobPrune, model.JobCheck: manifest.JobCheck,
	model.JobDrill: manifest.JobDrill, model.JobSnapshot: manifest.JobSnapshot, model.JobReplication: manifest.JobReplication,
	model.JobPgBackup: manifest.JobPgBackup, model.JobPgDrill: manifest.JobPgDrill,
}
