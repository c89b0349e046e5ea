package zfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SyncoidShim puts a logging zfs in front of the real one on PATH for syncoid.
// zfs-fuse knows neither `send -w` nor `receive -u`; when the real zfs
// lacks them the shim drops exactly those flags (zfs-fuse has no encryption,
// so a raw stream carries the same data) and the test keeps the replica
// unmounted another way (mountpoint=none on the first receive). On OpenZFS
// nothing is dropped. Arguments pass through as "$@", never re-parsed.
// A call that came in over ssh (sshtest sets SSHTEST_REMOTE=1) is logged
// with the prefix "[ssh] ".
//
// zfs-fuse's `zfs get` has no `-t` either. syncoid lists snapshots with
// `zfs get -Hpd 1 -t snapshot ...` and falls back to listing without -t,
// but syncoid 2.1's fallback for a remote host puts the ssh command in
// front twice ("ssh ... ssh ... host"), so every remote sync fails there.
// When the real zfs lacks `get -t`, the shim therefore emulates
// `-t snapshot`: it runs the get without it and keeps the snapshot lines.
//
// It returns a PATH value with the shim's directory first, and its log.
func SyncoidShim(t testing.TB, drop bool) (pathEnv, logFile string) {
	t.Helper()
	return SyncoidShimAt(t, t.TempDir(), drop)
}

// SyncoidShimAt is SyncoidShim with the shim in dir, and a log that every
// user may append to: for a test whose ssh sessions run as another user
// (dir must then be one that user can reach, such as a TrustedDir). The
// real zfs is the first on the test's PATH. sanoid's
// `zfs get -Hrpt snapshot creation` is emulated like syncoid's `-t`.
func SyncoidShimAt(t testing.TB, dir string, drop bool) (pathEnv, logFile string) {
	t.Helper()
	realZFS, err := exec.LookPath("zfs")
	if err != nil {
		t.Fatal(err)
	}
	realZFS, _ = filepath.Abs(realZFS)
	logFile = filepath.Join(dir, "log")
	if err := os.WriteFile(logFile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logFile, 0o666); err != nil { // whatever the umask
		t.Fatal(err)
	}
	dropCase, getCase := "", ""
	if drop {
		dropCase = "\tsend:-w|receive:-u|recv:-u) continue;;\n"
	}
	if !Supports("get", "t") {
		getCase = "\tget:-t) typ=next; continue;;\n\tget:-Hrpt) set -- \"$@\" -Hrp; typ=next; continue;;\n"
	}
	script := "#!/bin/sh\n" +
		"printf '%s%s\\n' \"${SSHTEST_REMOTE:+[ssh] }\" \"$*\" >> " + shQuote(logFile) + "\n" +
		"sub=$1 typ= snaps=\n" +
		"for a do\n\tshift\n" +
		"\tif [ \"$typ\" = next ]; then\n" +
		"\t\ttyp=\n\t\tif [ \"$a\" = snapshot ]; then snaps=1; continue; fi\n" +
		"\t\tset -- \"$@\" -t\n" +
		"\tfi\n" +
		"\tcase \"$sub:$a\" in\n" + dropCase + getCase + "\tesac\n\tset -- \"$@\" \"$a\"\ndone\n" +
		"if [ -n \"$snaps\" ]; then\n" +
		"\tout=$(" + shQuote(realZFS) + " \"$@\"); rc=$?\n" +
		"\t[ -z \"$out\" ] || printf '%s\\n' \"$out\" | awk -F '\\t' 'index($1, \"@\")'\n" +
		"\texit $rc\n" +
		"fi\n" +
		"exec " + shQuote(realZFS) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "zfs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), logFile
}

// Supports reports whether `zfs <sub>`'s usage text lists the flag.
func Supports(sub, flag string) bool {
	out, _ := exec.Command("zfs", sub).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, sub+" ") || strings.HasPrefix(line, "recv ") {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "[-") && strings.Contains(strings.Trim(f, "[]-"), flag) {
					return true
				}
			}
		}
	}
	return false
}
