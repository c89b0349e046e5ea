// Package usertest gives attack tests a real, throw-away unprivileged user
// — the service user turned attacker — and runs commands as that user with
// setpriv (real and effective ids, no supplementary groups, a minimal
// environment). Tests skip without root or the tools, unless NIXGEN_E2E=1.
package usertest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
)

// User is a system user (and its group of the same name) made for one test
// and deleted when it ends.
type User struct {
	Name     string
	UID, GID int
	setpriv  string
}

// New creates the user: "ngu" and random hex, no home, no login shell.
func New(tb testing.TB) *User {
	tb.Helper()
	if os.Geteuid() != 0 {
		e2e.Unavailable(tb, "creating a test user needs root")
	}
	useradd := e2e.Tool(tb, "useradd")
	userdel := e2e.Tool(tb, "userdel")
	u := &User{setpriv: e2e.Tool(tb, "setpriv")}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	u.Name = "ngu" + hex.EncodeToString(b[:])
	if out, err := exec.Command(useradd, "--system", "--no-create-home", "--user-group",
		"--shell", "/usr/sbin/nologin", u.Name).CombinedOutput(); err != nil {
		tb.Fatalf("useradd %s: %v: %s", u.Name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command(userdel, u.Name).CombinedOutput(); err != nil {
			tb.Errorf("userdel %s: %v: %s", u.Name, err, out)
		}
	})
	pw, err := user.Lookup(u.Name)
	if err != nil {
		tb.Fatal(err)
	}
	u.UID, _ = strconv.Atoi(pw.Uid)
	u.GID, _ = strconv.Atoi(pw.Gid)
	return u
}

// Command runs argv as the user.
func (u *User) Command(argv ...string) *exec.Cmd {
	args := append([]string{"--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID), "--clear-groups", "--"}, argv...)
	cmd := exec.Command(u.setpriv, args...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C"}
	return cmd
}

// Sh runs a shell script as the user, with args as $1..., and returns its
// combined output and error.
func (u *User) Sh(script string, args ...string) (string, error) {
	out, err := u.Command(append([]string{"/bin/sh", "-c", script, "sh"}, args...)...).CombinedOutput()
	return string(out), err
}

// MustSh is Sh that fails the test on error.
func (u *User) MustSh(tb testing.TB, script string, args ...string) string {
	tb.Helper()
	out, err := u.Sh(script, args...)
	if err != nil {
		tb.Fatalf("as %s: %s: %v: %s", u.Name, script, err, out)
	}
	return out
}

// Agent is a shell the user started earlier, in a directory of its choice,
// that runs a prepared script each time it is told to: how a test makes the
// user act at the exact moment it wants, from a place it reached before
// root locked the way there (a process keeps its working directory).
type Agent struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// Start starts the agent with working directory dir. Each Act runs script
// (with $1 the argument given to Act) there and reports its output.
func (u *User) Start(tb testing.TB, dir, script string) *Agent {
	tb.Helper()
	// One line in: the argument; one line out: the exit status, after the
	// script's own output.
	loop := `while IFS= read -r arg; do out=$( (set -- "$arg"` + "\n" + script + "\n" + `) 2>&1 ); rc=$?; printf '%s\n' "$out" | tr '\n' ' '; echo "rc=$rc"; done`
	cmd := u.Command("/bin/sh", "-c", "cd \"$1\" && "+loop, "sh", dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	a := &Agent{cmd: cmd, in: in, out: bufio.NewReader(stdout)}
	tb.Cleanup(func() { a.Stop() })
	return a
}

// Act runs the script once with arg and returns its output (including a
// final "rc=N") — the user's own report of what it managed to do.
func (a *Agent) Act(arg string) (string, error) {
	if _, err := fmt.Fprintln(a.in, arg); err != nil {
		return "", err
	}
	done := make(chan struct{})
	var line string
	var err error
	go func() {
		line, err = a.out.ReadString('\n')
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		return "", fmt.Errorf("the agent did not answer")
	}
	return strings.TrimSpace(line), err
}

// Stop ends the agent (closing its input) and waits for it.
func (a *Agent) Stop() {
	if a.in != nil {
		a.in.Close()
		a.in = nil
		a.cmd.Wait()
	}
}
