package emit

import (
	"fmt"
	"time"

	"github.com/nixgen/nixgen/internal/model"
)

// richSpec builds a host with n services that use every feature, the way
// internal/schema would resolve them (defaults applied, slices sorted).
func richSpec(n int) *model.Spec {
	spec := &model.Spec{
		Repositories: []*model.Repository{{
			Name: "nas", URL: "/mnt/nas/restic/forge", PasswordFile: "/run/secrets/restic-password",
			EnvironmentFile: "/run/secrets/restic-env",
			Retention:       &model.Retention{Daily: 14, Weekly: 8, Monthly: 6, Yearly: 2},
			PruneSchedule:   "weekly", CheckSchedule: "monthly", CheckSubset: "5%", DrillSchedule: "weekly",
			PruneTimeout: 12 * time.Hour, CheckTimeout: 12 * time.Hour, DrillTimeout: 12 * time.Hour,
		}},
		Notifiers: []*model.Notifier{{Name: "phone", Type: "ntfy", URL: "https://ntfy.example.net/homelab", TokenFile: "/run/secrets/ntfy-token"}},
		Policies:  []*model.SnapshotPolicy{{Name: "production", Hourly: 24, Daily: 7, Weekly: 4, Monthly: 3, Autosnap: true, Autoprune: true}},
	}
	h := &model.Host{Name: "forge", ParentDataset: "tank/services", ParentMount: "/srv", Jobs: model.JobLimits{RandomizedDelay: time.Hour}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc%05d", i)
		onFailure := "block"
		if i%2 == 1 {
			onFailure = "start-empty"
		}
		schedule := "hourly"
		if i%3 == 2 {
			schedule = "*:0/30"
		}
		h.Services = append(h.Services, &model.Service{
			Name: name, Unit: name + ".service", User: name, Group: name, Mode: "0750",
			Dataset: "tank/services/" + name, Mountpoint: "/var/lib/" + name,
			Profile: "sqlite",
			Properties: []model.Property{
				{Name: "atime", Value: "off"}, {Name: "compression", Value: "gzip"},
				{Name: "recordsize", Value: "16K"}, {Name: "utf8only", Value: "on", CreateOnly: true},
			},
			Backup: &model.Backup{Repositories: []string{"nas"}, Paths: []string{"/var/lib/" + name},
				Exclude: []string{"**/.cache", "**/*.tmp"}, Tags: []string{"media", "nixgen"}, Schedule: "daily", Timeout: 12 * time.Hour},
			Snapshots:   &model.Snapshots{Policy: "production"},
			Replication: &model.Replication{Target: "zfs-recv@nas-1:backup/forge/" + name, TargetUser: "zfs-recv", TargetHost: "nas-1", TargetDataset: "backup/forge/" + name, SSHKey: "/run/secrets/syncoid-key", Schedule: schedule, Timeout: 12 * time.Hour, SendOptions: "w"},
			Preseed:     &model.Preseed{Methods: []string{"syncoid", "local", "restic"}, Timeout: 30 * time.Minute, OnFailure: onFailure},
			Notify:      []string{"phone"},
		})
	}
	spec.Hosts = []*model.Host{h}
	return spec
}

// plainSpec has one service without any protection, on a second host.
func plainSpec() *model.Spec {
	return &model.Spec{Hosts: []*model.Host{{
		Name: "bare", ParentDataset: "rpool", ParentMount: "/srv",
		Services: []*model.Service{{
			Name: "web", Unit: "web.service", User: "root", Group: "root", Mode: "0750",
			Dataset: "rpool/web", Mountpoint: "/srv/web",
		}},
	}}}
}
