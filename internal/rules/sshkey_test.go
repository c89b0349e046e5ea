package rules

import (
	"strings"
	"testing"
)

func TestSSHPublicKey(t *testing.T) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
	for _, tc := range []struct {
		in, want, problem string
	}{
		{ed, ed, ""},
		{"  " + ed + "  root@nas  ", ed, ""}, // the comment is dropped
		{"AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4", "", "not an OpenSSH public key"},
		{"ssh-dss AAAAB3NzaC1kc3M=", "", "not an OpenSSH public key type"},
		{"ssh-ed25519 AAAA!!!", "", "not valid base64"},
		{"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4", "", "does not hold a ssh-rsa key"},
		{"ssh-ed25519 AAAAC3Nz", "", "does not hold"},
		{ed + "\n" + ed, "", "more than one line"},
		{ed + " comment\nrestrict,command=\"sh\" " + ed, "", "more than one line"},
	} {
		got, problem := SSHPublicKey(tc.in)
		if got != tc.want || (tc.problem == "") != (problem == "") || !strings.Contains(problem, tc.problem) {
			t.Errorf("SSHPublicKey(%q) = %q, %q; want %q, %q", tc.in, got, problem, tc.want, tc.problem)
		}
	}
}

func TestHost(t *testing.T) {
	for h, ok := range map[string]bool{
		"nas": true, "nas-1.lan": true, "10.0.0.5": true, "NAS.Example.NET": true,
		"-oProxyCommand=x": false, "nas_1": false, "10.0.0.5.": false, "::1": false, "a b": false, "": false,
	} {
		if got := Host(h) == ""; got != ok {
			t.Errorf("Host(%q) accepted = %v, want %v (%s)", h, got, ok, Host(h))
		}
	}
}
