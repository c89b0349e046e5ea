package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/specgen"
)

func loadOK(t *testing.T, dir string) *model.Spec {
	t.Helper()
	spec, files, diags := Load(dir)
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			t.Errorf("diagnostic: %s", d)
		}
	}
	if spec == nil {
		t.Fatal("Load returned a nil spec")
	}
	if len(files) == 0 {
		t.Error("Load returned no files")
	}
	return spec
}

func writeSpec(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadDesignExample loads the example spec in testdata/design and checks every
// resolved default and override.
func TestLoadDesignExample(t *testing.T) {
	spec := loadOK(t, "testdata/design")
	if len(spec.Hosts) != 1 || spec.Hosts[0].Name != "forge" {
		t.Fatalf("hosts: %+v", spec.Hosts)
	}
	h := spec.Hosts[0]
	if h.ParentDataset != "tank/services" || h.ParentMount != "/srv" || h.Pool() != "tank" {
		t.Errorf("host: %+v", h)
	}
	if len(h.Services) != 2 || h.Services[0].Name != "postgresql" || h.Services[1].Name != "sonarr" {
		t.Fatalf("services not sorted by name: %v", h.Services)
	}
	pg, son := h.Services[0], h.Services[1]

	wantPG := &model.Service{
		Name: "postgresql", Unit: "postgresql.service", User: "root", Group: "root", Mode: "0750",
		Dataset: "tank/services/postgresql", Mountpoint: "/srv/postgresql", Profile: "postgres",
		Properties: []model.Property{
			{Name: "atime", Value: "off"}, {Name: "compression", Value: "lz4"},
			{Name: "logbias", Value: "throughput"}, {Name: "primarycache", Value: "metadata"},
			{Name: "recordsize", Value: "8K"},
		},
		Backup:  &model.Backup{Repositories: []string{"nas"}, Paths: []string{"/srv/postgresql"}, Schedule: "daily", Timeout: 12 * time.Hour},
		Preseed: &model.Preseed{Methods: []string{"local", "restic"}, Timeout: 30 * time.Minute, OnFailure: "block"},
	}
	if !reflect.DeepEqual(pg, wantPG) {
		t.Errorf("postgresql:\n got %+v\nwant %+v", pg, wantPG)
	}

	wantSonarr := &model.Service{
		Name: "sonarr", Unit: "sonarr.service", User: "sonarr", Group: "sonarr", Mode: "0750",
		Dataset: "tank/services/sonarr", Mountpoint: "/var/lib/sonarr", Profile: "sqlite",
		Properties: []model.Property{
			{Name: "atime", Value: "off"}, {Name: "com.sun:auto-snapshot", Value: "true"},
			{Name: "compression", Value: "zstd"}, {Name: "recordsize", Value: "16K"},
		},
		Backup: &model.Backup{Repositories: []string{"nas"}, Paths: []string{"/var/lib/sonarr"},
			Exclude: []string{"**/.cache", "**/*.tmp"}, Tags: []string{"media"}, Schedule: "daily", Timeout: 12 * time.Hour},
		Snapshots: &model.Snapshots{Policy: "production"},
		Replication: &model.Replication{Target: "zfs-recv@nas-1:backup/forge/sonarr", TargetUser: "zfs-recv",
			TargetHost: "nas-1", TargetDataset: "backup/forge/sonarr", ReceiveUser: "zfs-recv", Schedule: "hourly", Timeout: 12 * time.Hour, SendOptions: "w"},
		Preseed: &model.Preseed{Methods: []string{"syncoid", "local", "restic"}, Timeout: 30 * time.Minute, OnFailure: "start-empty"},
		Notify:  []string{"phone"},
	}
	if !reflect.DeepEqual(son, wantSonarr) {
		t.Errorf("sonarr:\n got %+v\nwant %+v", son, wantSonarr)
	}

	wantRepo := &model.Repository{Name: "nas", URL: "/mnt/nas/restic/forge", PasswordFile: "/run/secrets/restic-password",
		EnvironmentFile: "/run/secrets/restic-env", Retention: &model.Retention{Daily: 14, Weekly: 8, Monthly: 6, Yearly: 2},
		PruneSchedule: "weekly", CheckSchedule: "monthly", CheckSubset: "5%", DrillSchedule: "weekly",
		PruneTimeout: 12 * time.Hour, CheckTimeout: 12 * time.Hour, DrillTimeout: 12 * time.Hour}
	if len(spec.Repositories) != 1 || !reflect.DeepEqual(spec.Repositories[0], wantRepo) {
		t.Errorf("repositories: %+v", spec.Repositories)
	}
	wantNotifier := &model.Notifier{Name: "phone", Type: "ntfy", URL: "https://ntfy.example.net/homelab", TokenFile: "/run/secrets/ntfy-token", Events: []string{"failure", "recovery", "preseed"}}
	if len(spec.Notifiers) != 1 || !reflect.DeepEqual(spec.Notifiers[0], wantNotifier) {
		t.Errorf("notifiers: %+v", spec.Notifiers)
	}
	wantPolicy := &model.SnapshotPolicy{Name: "production", Hourly: 24, Daily: 7, Weekly: 4, Monthly: 3, Autosnap: true, Autoprune: true}
	if len(spec.Policies) != 1 || !reflect.DeepEqual(spec.Policies[0], wantPolicy) {
		t.Errorf("policies: %+v", spec.Policies)
	}
}

// A service without a host list runs everywhere, resolved per host.
func TestServicePerHost(t *testing.T) {
	spec := loadOK(t, writeSpec(t, `
host "b" {
  parent_dataset = "rpool/services"
  parent_mount   = "/var/lib/svc"
}
host "a" {
  parent_dataset = "tank"
  parent_mount   = "/srv"
}
service "app" {
  mode = "700"
  dataset {
    name       = "apps/app"
    properties = { casesensitivity = "insensitive" }
  }
}
`))
	if len(spec.Hosts) != 2 || spec.Hosts[0].Name != "a" || spec.Hosts[1].Name != "b" {
		t.Fatalf("hosts: %v", spec.Hosts)
	}
	a, b := spec.Hosts[0].Services[0], spec.Hosts[1].Services[0]
	if a == b {
		t.Fatal("hosts share one *Service")
	}
	if a.Dataset != "tank/apps/app" || a.Mountpoint != "/srv/app" {
		t.Errorf("host a: %s %s", a.Dataset, a.Mountpoint)
	}
	if b.Dataset != "rpool/services/apps/app" || b.Mountpoint != "/var/lib/svc/app" {
		t.Errorf("host b: %s %s", b.Dataset, b.Mountpoint)
	}
	if a.Mode != "0700" {
		t.Errorf("mode %q not normalised to four digits", a.Mode)
	}
	want := []model.Property{{Name: "casesensitivity", Value: "insensitive", CreateOnly: true}}
	if !reflect.DeepEqual(a.Properties, want) {
		t.Errorf("properties: %+v", a.Properties)
	}
}

// Warnings alone keep the spec; the warning for create-only properties
// points at the properties attribute.
func TestWarningsKeepSpec(t *testing.T) {
	spec, _, diags := Load(writeSpec(t, `
host "h" {
  parent_dataset = "tank/s"
  parent_mount   = "/srv"
  services       = []
}
service "idle" {
  dataset {
    properties = { utf8only = "on" }
  }
}
`))
	if spec == nil {
		t.Fatalf("spec is nil: %v", diags)
	}
	if diags.HasErrors() || len(diags) != 2 {
		t.Fatalf("want 2 warnings, got %v", diags)
	}
	for _, d := range diags {
		if d.Severity != hcl.DiagWarning {
			t.Errorf("not a warning: %s", d)
		}
	}
	if diags[0].Subject.Start.Line != 7 || diags[1].Subject.Start.Line != 9 {
		t.Errorf("positions: %s / %s", diags[0].Subject, diags[1].Subject)
	}
}

// A user profile with a built-in's name replaces it entirely.
func TestProfileOverride(t *testing.T) {
	spec := loadOK(t, writeSpec(t, `
host "h" {
  parent_dataset = "tank/s"
  parent_mount   = "/srv"
}
profile "postgres" {
  recordsize = "16K"
}
service "db" {
  dataset {
    profile    = "postgres"
    properties = { recordsize = "32K", atime = "on" }
  }
}
`))
	got := spec.Hosts[0].Services[0].Properties
	want := []model.Property{{Name: "atime", Value: "on"}, {Name: "recordsize", Value: "32K"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestNoFiles(t *testing.T) {
	spec, _, diags := Load(t.TempDir())
	if spec != nil || !diags.HasErrors() || !strings.Contains(diags.Error(), "No spec files") {
		t.Fatalf("spec=%v diags=%v", spec, diags)
	}
}

func TestBuiltinProfilesValid(t *testing.T) {
	for name, props := range BuiltinProfiles {
		for k, v := range props {
			if s, d := propertyError(k, v); s != "" {
				t.Errorf("built-in profile %s: %s=%s: %s: %s", name, k, v, s, d)
			}
		}
	}
}

// The example specs/ directory shipped with nixgen loads without any
// diagnostic, not even a warning.
func TestExampleSpecs(t *testing.T) {
	spec, _, diags := Load("../../specs")
	if len(diags) > 0 || spec == nil {
		t.Fatalf("specs/ does not load cleanly: %v", diags)
	}
	hosts := map[string]int{}
	for _, h := range spec.Hosts {
		hosts[h.Name] = len(h.Services)
	}
	// harbor: three containers and the protected /persist.
	if hosts["forge"] != 5 || hosts["luna"] != 2 || hosts["harbor"] != 4 {
		t.Errorf("services per host: %v", hosts)
	}
	luna := spec.Hosts[2]
	if luna.Name != "luna" || luna.Services[0].Dataset != "rpool/services/home-assistant" || luna.Pool() != "rpool" {
		t.Errorf("luna: %+v %+v", luna, luna.Services[0])
	}
}

// BenchmarkLoad reads generated spec trees (internal/specgen): parsing,
// decoding and every check, as `nixgen validate` runs them. The overlap
// checks must not be quadratic in the number of services on a host.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		dir := b.TempDir()
		if err := specgen.Write(dir, n, 1); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, _, diags := Load(dir); diags.HasErrors() {
					b.Fatal(diags)
				}
			}
		})
	}
}
