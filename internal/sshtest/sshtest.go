// Package sshtest runs a real OpenSSH server on 127.0.0.1 for the tests of
// remote replication: syncoid and nixgen-helper reach it as root@127.0.0.1
// on a free port, with a host key and a client key made fresh for each test.
// It needs root (the client logs in as root) and sshd at SSHD; tests skip
// without them, unless NIXGEN_E2E=1, where that is a failure.
package sshtest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
)

// SSHD is where Debian's openssh-server installs sshd, which refuses to
// run unless started by absolute path.
const SSHD = "/usr/sbin/sshd"

// privsepDir is sshd's compiled-in privilege separation directory; a
// service manager normally creates it (RuntimeDirectory=sshd), and sshd
// will not start without it.
const privsepDir = "/run/sshd"

// Options configure a server.
type Options struct {
	// RemotePath, when set, is put in front of PATH for every command run
	// over ssh (through a ForceCommand that runs the requested command with
	// /bin/sh and SSHTEST_REMOTE=1 in its environment), e.g. a directory
	// with a test's zfs shim.
	RemotePath string
	// AuthorizedKeys, when set, are the authorized_keys of users other than
	// root (user name -> file content), e.g. a restricted receive user's.
	// Their sessions need to reach the ForceCommand script, so Dir must
	// then be a directory every user can traverse.
	AuthorizedKeys map[string]string
	// Dir holds the server's files; "" for the test's temporary directory.
	Dir string
}

// Server is a running sshd, stopped by the test's cleanup.
type Server struct {
	Host       string // always "127.0.0.1"
	Port       int
	User       string // always "root"
	Key        string // the client's private key, authorized for root
	KnownHosts string // a known_hosts file with the server's host key
	ConfigFile string // a client config (ssh -F) for Host 127.0.0.1 with all of the above
	// HostPublicKey is the server's host key, "type base64", as a spec's
	// ssh_host_key gives it.
	HostPublicKey string

	dir string
	log *syncBuffer
}

// Start starts sshd -D -e on a free port of 127.0.0.1 and waits until it
// answers with an SSH banner.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	sshd := e2e.ToolAt(tb, SSHD)
	keygen := e2e.Tool(tb, "ssh-keygen")
	e2e.Tool(tb, "ssh")
	if os.Geteuid() != 0 {
		e2e.Unavailable(tb, "sshtest needs root: the client logs in as root")
	}
	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		tb.Fatalf("sshd's privilege separation directory: %v", err)
	}
	dir := o.Dir
	if dir == "" {
		dir = tb.TempDir()
	}
	if strings.ContainsAny(dir, " \t\n\"'\\") {
		tb.Fatalf("sshtest: temporary directory %q needs quoting in sshd_config", dir)
	}
	s := &Server{Host: "127.0.0.1", User: "root", dir: dir, log: &syncBuffer{},
		Key: filepath.Join(dir, "client_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"),
		ConfigFile: filepath.Join(dir, "ssh_config")}
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, k := range []string{hostKey, s.Key} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "nixgen-sshtest", "-f", k).CombinedOutput(); err != nil {
			tb.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	copyFile(tb, s.Key+".pub", filepath.Join(dir, "authorized_keys.root"))
	for u, keys := range o.AuthorizedKeys {
		if u == "root" || strings.ContainsAny(u, "/ \n") {
			tb.Fatalf("sshtest: authorized keys for %q", u)
		}
		// sshd reads them with the user's privileges; they are public keys.
		f := filepath.Join(dir, "authorized_keys."+u)
		if err := os.WriteFile(f, []byte(keys), 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(f, 0o644); err != nil {
			tb.Fatal(err)
		}
	}

	forceCommand := ""
	if o.RemotePath != "" {
		session := filepath.Join(dir, "session")
		// The command comes from the client, as sshd would hand it to the
		// login shell; only the PATH prefix is ours, single-quoted.
		script := "#!/bin/sh\nPATH=" + shQuote(o.RemotePath) + ":$PATH\nSSHTEST_REMOTE=1\nexport PATH SSHTEST_REMOTE\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n"
		if err := os.WriteFile(session, []byte(script), 0o755); err != nil {
			tb.Fatal(err)
		}
		forceCommand = "ForceCommand " + session + "\n"
	}

	// A port picked by the kernel can be taken by someone else before sshd
	// binds it: try a few.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(tb)
		cfg := filepath.Join(dir, "sshd_config")
		conf := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
%s`, port, hostKey, filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys.%u"), forceCommand)
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			tb.Fatal(err)
		}
		s.log = &syncBuffer{}
		cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("starting %s: %v", sshd, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if lastErr = waitBanner(port, done); lastErr != nil {
			cmd.Process.Kill()
			<-done
			continue
		}
		s.Port = port
		tb.Cleanup(func() { s.stop(tb, cmd, done) })
		break
	}
	if s.Port == 0 {
		tb.Fatalf("sshd did not come up: %v\nsshd log:\n%s", lastErr, s.log)
	}

	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(pub))
	if len(f) < 2 {
		tb.Fatalf("unexpected host key %q", pub)
	}
	s.HostPublicKey = f[0] + " " + f[1]
	known := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.Port, f[0], f[1])
	if err := os.WriteFile(s.KnownHosts, []byte(known), 0o644); err != nil {
		tb.Fatal(err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "Host 127.0.0.1\n  Port %d\n  User root\n", s.Port)
	fmt.Fprintf(&conf, "  IdentityFile %s\n", s.Key)
	for _, opt := range s.clientOptions() {
		k, v, _ := strings.Cut(opt, "=")
		fmt.Fprintf(&conf, "  %s %s\n", k, v)
	}
	if err := os.WriteFile(s.ConfigFile, []byte(conf.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Dest is "root@127.0.0.1".
func (s *Server) Dest() string { return s.User + "@" + s.Host }

// clientOptions are the options every client needs besides the port and
// the key: trust exactly this server's host key, offer only the given key,
// never prompt.
func (s *Server) clientOptions() []string {
	return []string{
		"UserKnownHostsFile=" + s.KnownHosts,
		"StrictHostKeyChecking=yes",
		"IdentitiesOnly=yes",
		"BatchMode=yes",
	}
}

// Options are the `ssh -o` values (Port included, key not) that reach this
// server, e.g. for nixgen-helper's --ssh-option.
func (s *Server) Options() []string {
	return append([]string{"Port=" + strconv.Itoa(s.Port)}, s.clientOptions()...)
}

// SyncoidArgs are syncoid's flags for this server: --sshport and the client
// options as --sshoption (the key is the caller's: --sshkey s.Key).
func (s *Server) SyncoidArgs() []string {
	args := []string{"--sshport=" + strconv.Itoa(s.Port)}
	for _, o := range s.clientOptions() {
		args = append(args, "--sshoption="+o)
	}
	return args
}

// Run runs a command on the server as root (argv joined by spaces, as ssh
// does) and returns its stdout; a failure fails the test.
func (s *Server) Run(tb testing.TB, argv ...string) string {
	tb.Helper()
	args := append([]string{"-F", s.ConfigFile, "--", s.Host}, argv...)
	cmd := exec.Command("ssh", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("ssh %s: %v: %s\nsshd log:\n%s", strings.Join(args, " "), err, stderr.String(), s.log)
	}
	return string(out)
}

// Log returns what sshd wrote so far (its -e log).
func (s *Server) Log() string { return s.log.String() }

// stop ends sshd by the pid it was started with (SIGTERM, then SIGKILL);
// the PidFile must name the same process.
func (s *Server) stop(tb testing.TB, cmd *exec.Cmd, done <-chan error) {
	if b, err := os.ReadFile(filepath.Join(s.dir, "sshd.pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid != cmd.Process.Pid {
			tb.Errorf("sshd PidFile says %d, started %d", pid, cmd.Process.Pid)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// waitBanner waits until the port answers with an SSH identification
// string, or sshd exits.
func waitBanner(port int, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-2.0-") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no SSH banner on %s", addr)
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SilentListener accepts TCP connections on 127.0.0.1 and never sends a
// byte (banner=false), or sends an SSH banner and then nothing
// (banner=true): a target host that is up at the TCP level but hung. It is
// closed, with its connections, by the test's cleanup.
func SilentListener(tb testing.TB, banner bool) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if banner {
				c.Write([]byte("SSH-2.0-OpenSSH_9.2 nixgen-sshtest-silent\r\n"))
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// ClosedPort returns a port of 127.0.0.1 where nothing listens (a
// connection is refused at once).
func ClosedPort(tb testing.TB) int { return freePort(tb) }

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
