// Package specgen writes realistic spec trees of any size, for benchmarks
// of the whole nixgen command (docs/benchmarks.md) and for tests that need
// many services. The output is deterministic and valid.
package specgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// PerFile is how many services one generated spec file holds.
const PerFile = 100

// Files returns the spec files for n services on hosts hosts (at least one):
// name relative to the spec directory -> contents. Services are spread over
// the hosts round-robin; every feature appears (profiles, properties,
// backups, snapshot policies, remote and local replication, preseed,
// notifiers), in the proportions a large installation might have.
func Files(n, hosts int) map[string][]byte {
	hosts = max(hosts, 1)
	out := map[string][]byte{"protection.hcl": []byte(protection)}
	var hb strings.Builder
	hb.WriteString("# Machines and the services each one runs.\n")
	byHost := make([][]string, hosts)
	for i := range n {
		byHost[i%hosts] = append(byHost[i%hosts], name(i))
	}
	for h := range hosts {
		fmt.Fprintf(&hb, "\nhost %q {\n  parent_dataset = \"tank/services\"\n  parent_mount   = \"/srv\"\n", hostName(h))
		if hosts > 1 {
			hb.WriteString("  services       = [\n")
			for _, s := range byHost[h] {
				fmt.Fprintf(&hb, "    %q,\n", s)
			}
			hb.WriteString("  ]\n")
		}
		hb.WriteString("}\n")
	}
	out["hosts.hcl"] = hclwrite.Format([]byte(hb.String()))
	for start := 0; start < n; start += PerFile {
		var b strings.Builder
		b.WriteString("# Generated services.\n")
		for i := start; i < min(n, start+PerFile); i++ {
			service(&b, i, hostName(i%hosts))
		}
		out[fmt.Sprintf("services/%05d.hcl", start/PerFile)] = hclwrite.Format([]byte(b.String()))
	}
	return out
}

// Write writes Files(n, hosts) below dir.
func Write(dir string, n, hosts int) error {
	for rel, data := range Files(n, hosts) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func name(i int) string     { return fmt.Sprintf("svc%05d", i) }
func hostName(h int) string { return fmt.Sprintf("host%02d", h) }

var profiles = []string{"sqlite", "postgres", "media", "sqlite", "general"}

func service(b *strings.Builder, i int, host string) {
	n := name(i)
	fmt.Fprintf(b, "\nservice %q {\n  user  = %q\n  group = \"services\"\n", n, n)
	if i%3 == 0 {
		fmt.Fprintf(b, "  mountpoint = \"/var/lib/%s\"\n", n)
	}
	b.WriteString("\n  dataset {\n")
	if i%7 == 0 {
		fmt.Fprintf(b, "    name    = \"apps/%s\"\n", n)
	}
	fmt.Fprintf(b, "    profile = %q\n", profiles[i%len(profiles)])
	if i%4 == 0 {
		b.WriteString("    properties = { \"com.sun:auto-snapshot\" = \"false\" }\n")
	}
	b.WriteString("  }\n")
	backup := i%10 != 9
	if backup {
		b.WriteString("\n  backup {\n    repository = \"nas\"\n    exclude    = [\"**/logs\", \"**/cache\"]\n    tags       = [\"bulk\"]\n  }\n")
	}
	policy := "production"
	if i%2 == 1 {
		policy = "media"
	}
	fmt.Fprintf(b, "\n  snapshots { policy = %q }\n", policy)
	switch i % 5 {
	case 0:
		fmt.Fprintf(b, "\n  replication {\n    target  = \"zfs-recv@nas.lan:backup/%s/%s\"\n    ssh_key = \"/run/secrets/syncoid-key\"\n  }\n", host, n)
	case 1:
		fmt.Fprintf(b, "\n  replication { target = \"backup/local/%s\" }\n", n)
	}
	switch i % 3 {
	case 0:
		methods := `["local", "restic"]`
		if !backup {
			methods = `["local"]`
		}
		fmt.Fprintf(b, "\n  preseed {\n    methods = %s\n    timeout = \"45m\"\n  }\n", methods)
	case 1:
		b.WriteString("\n  preseed {}\n")
	}
	if i%2 == 0 {
		b.WriteString("\n  notify = [\"phone\"]\n")
	}
	b.WriteString("}\n")
}

const protection = `# Where data goes: backups, snapshots and alerts.

restic_repository "nas" {
  url           = "sftp:restic@nas.lan:/backup/restic/bulk"
  password_file = "/run/secrets/restic-password"

  retention {
    daily   = 14
    weekly  = 8
    monthly = 6
  }
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.example.net/bulk"
  token_file = "/run/secrets/ntfy-token"
}

# Many services: fewer hourly snapshots each.
snapshot_policy "production" {
  hourly  = 12
  daily   = 10
  monthly = 2
}

snapshot_policy "media" {
  daily  = 5
  weekly = 3
}
`
