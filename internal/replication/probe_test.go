package replication

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/sshtest"
)

// The probe against a real sshd: each way a target can be unreachable
// gets its own reason. The far side's zfs is a script that knows one
// dataset, tank/replicas.
func TestProbeSaysWhy(t *testing.T) {
	remote := t.TempDir()
	script := "#!/bin/sh\n[ \"$*\" = 'list -H -o name tank/replicas' ] && { echo tank/replicas; exit 0; }\necho \"cannot open '$5': dataset does not exist\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(remote, "zfs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, sshtest.Options{RemotePath: remote})
	other := sshtest.Start(t, sshtest.Options{}) // another host key
	svc := func(dataset, key string) *manifest.Service {
		return &manifest.Service{Name: "app", Replication: &manifest.Replication{
			Target: "root@127.0.0.1:" + dataset, User: "root", Host: "127.0.0.1", Dataset: dataset, SSHKey: key}}
	}
	stranger := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	port := func(p int) string { return "Port=" + strconv.Itoa(p) }
	known := "UserKnownHostsFile=" + srv.KnownHosts
	for _, tc := range []struct {
		name string
		svc  *manifest.Service
		opts []string
		want string // "" for reachable
	}{
		{"reachable", svc("tank/replicas/app", srv.Key), []string{port(srv.Port), known}, ""},
		{"parent missing", svc("tank/other/app", srv.Key), []string{port(srv.Port), known}, "the login worked, but `zfs list tank/other` failed there"},
		{"another host key", svc("tank/replicas/app", srv.Key), []string{port(other.Port), known}, "its host key is not the pinned one"},
		{"key not authorized", svc("tank/replicas/app", stranger), []string{port(srv.Port), known, "IdentitiesOnly=yes"}, "the login was refused"},
		{"nothing listens", svc("tank/replicas/app", srv.Key), []string{port(sshtest.ClosedPort(t)), known}, "the connection was refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Probe(context.Background(), tc.svc, ProbeOptions{SSHOptions: tc.opts})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("probe: %v\nsshd log:\n%s", err, srv.Log())
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("probe: %v; want an error saying %q", err, tc.want)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
	// Options that would reach a shell unquoted are refused before ssh runs.
	if err := Probe(context.Background(), svc("tank/replicas/app", srv.Key), ProbeOptions{SSHOptions: []string{"ProxyCommand=sh -c x"}}); err == nil {
		t.Error("an ssh option with spaces was accepted")
	}
}
