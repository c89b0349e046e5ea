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
		if p := s.Preseed; p != nil {
			ms.Preseed = &manifest.Preseed{
				Methods:        p.Methods,
				TimeoutSeconds: int64(p.Timeout / time.Second),
				OnFailure:      p.OnFailure,
			}
		}
		if b := s.Backup; b != nil {
			r := spec.Repository(b.Repository)
			if r == nil {
				return nil, fmt.Errorf("service %q: restic repository %q is not declared", s.Name, b.Repository)
			}
			if m.Repositories == nil {
				m.Repositories = map[string]manifest.Repository{}
			}
			m.Repositories[r.Name] = manifest.Repository{
				URL: r.URL, PasswordFile: r.PasswordFile, EnvironmentFile: r.EnvironmentFile,
			}
			ms.Backup = &manifest.Backup{Repository: b.Repository, Paths: b.Paths, Tags: b.Tags}
		}
		if r := s.Replication; r != nil {
			ms.Replication = &manifest.Replication{
				Target: r.Target, User: r.TargetUser, Host: r.TargetHost,
				Dataset: r.TargetDataset, SSHKey: r.SSHKey,
			}
		}
		for _, name := range s.Notify {
			n := spec.Notifier(name)
			if n == nil {
				return nil, fmt.Errorf("service %q: notifier %q is not declared", s.Name, name)
			}
			if m.Notifiers == nil {
				m.Notifiers = map[string]manifest.Notifier{}
			}
			m.Notifiers[n.Name] = manifest.Notifier{Type: n.Type, URL: n.URL, TokenFile: n.TokenFile}
		}
		m.Services = append(m.Services, ms)
	}
	// The helper refuses an invalid manifest at run time; fail at render time instead.
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return manifest.Marshal(m)
}
