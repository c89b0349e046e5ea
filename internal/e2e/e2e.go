// Package e2e decides, for tests that need a real program (nix-instantiate,
// zfs, restic, syncoid), whether to run, skip or fail: on a laptop without the
// tool the test skips, but under NIXGEN_E2E=1 (set by CI) a missing tool is a
// failure, so a broken CI image can never turn into a silently green run.
package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether NIXGEN_E2E=1 is set.
func Required() bool { return os.Getenv("NIXGEN_E2E") == "1" }

// Tool returns the path of a program on PATH, or skips (fails under
// NIXGEN_E2E=1) the test when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s not found on PATH", name)
	}
	return p
}

// Unavailable skips the test, or fails it under NIXGEN_E2E=1, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("NIXGEN_E2E=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}

// ToolAt returns path when it is an executable file, or skips (fails under
// NIXGEN_E2E=1) the test. For programs that must be run by absolute path
// and are often not on PATH, such as /usr/sbin/sshd.
func ToolAt(t testing.TB, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		Unavailable(t, "%s is not an executable file", path)
	}
	return path
}
