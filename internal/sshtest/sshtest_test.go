package sshtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestServerRunsCommandsAsRoot(t *testing.T) {
	shim := t.TempDir()
	if err := os.WriteFile(filepath.Join(shim, "whereami"), []byte("#!/bin/sh\necho shim \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Start(t, Options{RemotePath: shim})
	if got := strings.TrimSpace(s.Run(t, "id", "-u")); got != "0" {
		t.Errorf("remote id -u = %q, want 0", got)
	}
	// RemotePath comes first on the remote PATH.
	if got := strings.TrimSpace(s.Run(t, "whereami", "a", "b")); got != "shim a b" {
		t.Errorf("remote whereami = %q", got)
	}

	// The same through plain -o options, as syncoid and the helper pass them.
	args := []string{"-i", s.Key}
	for _, o := range s.Options() {
		args = append(args, "-o", o)
	}
	if out, err := exec.Command("ssh", append(args, "--", s.Dest(), "echo", "ok")...).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("ssh with Options(): %v: %s", err, out)
	}

	// A key that is not authorized is refused.
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	args[1] = other
	if out, err := exec.Command("ssh", append(args, "--", s.Dest(), "true")...).CombinedOutput(); err == nil {
		t.Errorf("an unauthorized key logged in: %s", out)
	}
}

func TestHostKeyIsChecked(t *testing.T) {
	a := Start(t, Options{})
	b := Start(t, Options{})
	// b's known_hosts, pointed at a's port, holds the wrong key for it.
	known := filepath.Join(t.TempDir(), "known_hosts")
	kb, err := os.ReadFile(b.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Replace(string(kb), ":"+strconv.Itoa(b.Port)+" ", ":"+strconv.Itoa(a.Port)+" ", 1)
	if err := os.WriteFile(known, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh", "-i", a.Key, "-p", strconv.Itoa(a.Port), "-o", "UserKnownHostsFile="+known,
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "--", a.Dest(), "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("wrong host key accepted or not reported: %v: %s", err, out)
	}
}

func TestCleanupStopsServer(t *testing.T) {
	var port int
	t.Run("server", func(t *testing.T) {
		port = Start(t, Options{}).Port
	})
	if port == 0 {
		t.Skip("the server did not start")
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after the cleanup", port)
	}
}
