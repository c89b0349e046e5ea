package golden

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/emit"
	"github.com/nixgen/nixgen/internal/nixeval"
	"github.com/nixgen/nixgen/internal/schema"
)

// sshSpy puts an ssh first on PATH that records each call's arguments, one
// per line after a "---" line, and fails, so syncoid stops at its first
// connection.
func sshSpy(t *testing.T) (path, log string) {
	dir := t.TempDir()
	log = filepath.Join(dir, "ssh.log")
	script := "#!/bin/sh\n{ echo ---; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; } >> '" + log + "'\nexit 255\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// sshCalls parses the spy's log.
func sshCalls(t *testing.T, log string) [][]string {
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("syncoid never ran ssh: %v", err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "---" {
			calls = append(calls, nil)
		} else if len(calls) > 0 {
			calls[len(calls)-1] = append(calls[len(calls)-1], line)
		}
	}
	return calls
}

// runSyncoid runs real syncoid with argv under the ssh spy, in dir. It
// fails at its first ssh call, unless an injection hides that failure.
func runSyncoid(argv []string, path, dir string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+path)
	cmd.Dir = dir
	_ = cmd.Run()
}

// TestSyncoidUnitIsShellInert proves that the syncoid-<service> unit nixgen
// generates cannot be injected. syncoid 2.1 builds its ssh command as one
// string ("ssh -o OPT -i KEY ...") and runs it with sh -c. For keys and
// targets that use every character the allow-list (rules.ShellWord) lets
// through, the values Nix evaluates from the generated module are handed to
// real syncoid as NixOS's syncoid module does, and ssh (a spy) must receive
// each of them as exactly one unchanged argument. The control: a key that
// the spec validator rejects does run a command through the same harness.
func TestSyncoidUnitIsShellInert(t *testing.T) {
	syncoid := e2e.Tool(t, "syncoid")
	for _, c := range []struct{ key, target string }{
		{"/run/keys/id_ed25519", "syncoid@nas.example.net:backup/photos"},
		{"/run/nixgen-keys/id.a-b_c+d=e,f:g@h", "u_1-x@host-1.example:backup/x:y_z.1-2"},
		{"/run/k/-=+,:@._", "10.0.0.2:tank/replicas/photos"},
	} {
		specs := filepath.Join(t.TempDir(), "specs")
		os.MkdirAll(specs, 0o755)
		src := "host \"box\" {\n  parent_dataset = \"tank/services\"\n  parent_mount   = \"/srv\"\n}\n" +
			"service \"photos\" {\n  replication {\n    target  = " + hclString(c.target) + "\n    ssh_key = " + hclString(c.key) + "\n  }\n}\n"
		if err := os.WriteFile(filepath.Join(specs, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, _, diags := schema.Load(specs)
		if diags.HasErrors() {
			t.Fatalf("%q: %s", c.key, diags)
		}
		out := emit.Render(spec)
		cmd := nixeval.Get(t, nixeval.Host(t, spec, out), "services", "photos.nix", "services", "syncoid", "commands", "photos").(map[string]any)
		str := func(k string) string { return nixeval.Get(t, cmd, k).(string) }
		var extra []string
		for _, a := range nixeval.Get(t, cmd, "extraArgs").([]any) {
			extra = append(extra, a.(string))
		}
		// nixos/modules/services/backup/syncoid.nix: escapeShellArgs of
		// [ syncoid ] ++ [ "--sshkey" sshKey ] ++ extraArgs ++
		// [ "--sendoptions" ... "--recvoptions" ... "--no-privilege-elevation" source target ].
		argv := append([]string{syncoid, "--sshkey", str("sshKey")}, extra...)
		argv = append(argv, "--sendoptions", str("sendOptions"), "--recvoptions", str("recvOptions"), "--no-privilege-elevation", str("source"), str("target"))
		if str("sshKey") != c.key || str("target") != c.target {
			t.Fatalf("Nix evaluates sshKey %q and target %q", str("sshKey"), str("target"))
		}
		path, log := sshSpy(t)
		work := t.TempDir()
		runSyncoid(argv, path, work)
		calls := sshCalls(t, log)
		dest, _, _ := strings.Cut(c.target, ":")
		for _, call := range calls {
			i := slices.Index(call, "-i")
			if i < 0 || i+1 >= len(call) || call[i+1] != c.key {
				t.Errorf("%q: ssh got %q", c.key, call)
			}
			for _, o := range extra {
				opt := strings.TrimPrefix(o, "--sshoption=")
				if j := slices.Index(call, opt); j < 1 || call[j-1] != "-o" {
					t.Errorf("%q: ssh option %q did not arrive whole: %q", c.key, opt, call)
				}
			}
			if !slices.Contains(call, dest) {
				t.Errorf("%q: the destination %q did not arrive whole: %q", c.key, dest, call)
			}
		}
		if len(calls) == 0 {
			t.Errorf("%q: ssh never ran", c.key)
		}
		if ents, _ := os.ReadDir(work); len(ents) != 0 {
			t.Errorf("%q: syncoid left %v", c.key, ents)
		}
	}

	// The control: the key from the issue, which the spec validator rejects
	// (golden/invalid/ssh-key-shell-injection), does run a command.
	work := t.TempDir()
	pwned := filepath.Join(work, "PWNED")
	bad := "/k;touch " + pwned + ";#"
	path, _ := sshSpy(t)
	runSyncoid([]string{syncoid, "--sshkey", bad, "--no-privilege-elevation", "tank/services/photos", "syncoid@nas:backup/photos"}, path, work)
	if _, err := os.Stat(pwned); err != nil {
		t.Errorf("the harness did not see an injection it should have: %v", err)
	}
}
