package zfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wrapper is a test-only shell script put in front of the real zfs (pass
// Path as zfs.Runner.ZFS or `nixgen-helper --zfs`). It logs every call and
// can inject faults into the Nth changing call (anything but get and list):
// fail it without running it, or run it and then pause until Continue, so
// that a test can kill the caller right after a change.
type Wrapper struct {
	Path string
	dir  string
}

// WrapOptions selects the fault; 0 means none.
type WrapOptions struct {
	FailAt  int // the Nth changing call exits 1 with "injected failure" and does nothing
	PauseAt int // the Nth changing call runs, then waits for Continue
}

// NewWrapper writes the script into a temporary directory.
func NewWrapper(tb testing.TB, opts WrapOptions) *Wrapper {
	tb.Helper()
	Require(tb)
	real, err := exec.LookPath("zfs")
	if err != nil {
		tb.Fatal(err)
	}
	if real, err = filepath.Abs(real); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	w := &Wrapper{Path: filepath.Join(dir, "zfs"), dir: dir}
	// Paths and numbers are the only things substituted, single-quoted;
	// the arguments reach the real zfs as "$@", never re-parsed.
	script := `#!/bin/sh
d=` + shQuote(dir) + `
real=` + shQuote(real) + `
printf '%s\tstart\t%s\n' "$PPID" "$*" >> "$d/log"
case "$1" in
get|list)
	"$real" "$@"; rc=$?
	printf '%s\tend\n' "$PPID" >> "$d/log"
	exit $rc;;
esac
n=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/count"
if [ "$n" = ` + strconv.Itoa(opts.FailAt) + ` ]; then
	echo "injected failure of changing call $n" >&2
	printf '%s\tend\n' "$PPID" >> "$d/log"
	exit 1
fi
"$real" "$@"; rc=$?
if [ "$n" = ` + strconv.Itoa(opts.PauseAt) + ` ]; then
	echo $$ > "$d/paused.tmp" && mv "$d/paused.tmp" "$d/paused"
	while [ ! -e "$d/continue" ]; do sleep 0.05; done
fi
printf '%s\tend\n' "$PPID" >> "$d/log"
exit $rc
`
	if err := os.WriteFile(w.Path, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	// A paused script must not outlive the test.
	tb.Cleanup(func() { os.WriteFile(filepath.Join(dir, "continue"), nil, 0o644) })
	return w
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WaitPaused waits until the PauseAt call has run and is paused; it fails
// the test if that does not happen within limit (a guard against hangs, not
// a speed assertion).
func (w *Wrapper) WaitPaused(tb testing.TB, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(w.dir, "paused")); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("the wrapped zfs never reached its pause point; calls: %+v", w.Calls(tb))
}

// Continue lets a paused call finish.
func (w *Wrapper) Continue(tb testing.TB) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "continue"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Call is one line of the wrapper's log.
type Call struct {
	PPID  int    // the process that ran zfs (the helper)
	Start bool   // start of a call (else its end)
	Args  string // space-joined arguments (start lines only)
}

// Calls returns the log so far.
func (w *Wrapper) Calls(tb testing.TB) []Call {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var calls []Call
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		c := Call{PPID: pid, Start: f[1] == "start"}
		if len(f) == 3 {
			c.Args = f[2]
		}
		calls = append(calls, c)
	}
	return calls
}

// Changing returns the arguments of the calls other than get and list.
func (w *Wrapper) Changing(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, c := range w.Calls(tb) {
		if c.Start && !strings.HasPrefix(c.Args, "get ") && !strings.HasPrefix(c.Args, "list ") {
			out = append(out, c.Args)
		}
	}
	return out
}
