// Package usertest gives attack tests a real, throw-away unprivileged user
// — the service user turned attacker — and runs commands as that user with
// setpriv (real and effective ids, no supplementary groups, a minimal
// environment). Tests skip without root or the tools, unless NIXGEN_E2E=1.
package usertest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	args := append(u.Argv(), argv...)
	cmd := exec.Command(args[0], args[1:]...)
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

// Argv is the prefix that runs a program as the user, for wrapper scripts
// written by tests (setpriv and its options, ending in "--").
func (u *User) Argv() []string {
	return []string{u.setpriv, "--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID), "--clear-groups", "--"}
}

// ShPrefix is Argv quoted for a shell script: "$(ShPrefix) cmd args" runs
// cmd as the user.
func (u *User) ShPrefix() string {
	q := make([]string, 0, 6)
	for _, a := range u.Argv() {
		q = append(q, Quote(a))
	}
	return strings.Join(q, " ")
}

// Quote quotes s for a POSIX shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Tree records owner, mode and content of every entry below a directory,
// without following symlinks.
type Tree map[string]string

// Snapshot reads dir into a Tree.
func Snapshot(tb testing.TB, dir string) Tree {
	tb.Helper()
	out := Tree{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		v := fmt.Sprintf("%d:%d %o", st.Uid, st.Gid, st.Mode)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" sha256:%x", sha256.Sum256(b))
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += " -> " + l
		}
		out[p] = v
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Unchanged reports (as test errors) every entry below dir that differs
// from t, appeared or went away.
func (t Tree) Unchanged(tb testing.TB, dir string) {
	tb.Helper()
	got := Snapshot(tb, dir)
	for p, w := range t {
		if g, ok := got[p]; !ok {
			tb.Errorf("%s went away (was %s)", p, w)
		} else if g != w {
			tb.Errorf("%s changed: %s, was %s", p, g, w)
		}
	}
	for p, g := range got {
		if _, ok := t[p]; !ok {
			tb.Errorf("%s appeared: %s", p, g)
		}
	}
}

// Victim makes a root-owned tree at dir that an attack must leave as it
// is — copies of a few /etc files and a root-only directory with a secret —
// and returns its snapshot.
func Victim(tb testing.TB, dir string) Tree {
	tb.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		tb.Fatal(err)
	}
	for _, f := range []string{"passwd", "group", "hostname"} {
		b, _ := os.ReadFile(filepath.Join("/etc", f))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "private", "shadow"), []byte("root:secret:::\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return Snapshot(tb, dir)
}
