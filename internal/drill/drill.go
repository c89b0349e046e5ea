// Package drill is the restore drill: it proves that a service's backup can
// actually be restored, by doing it. For each service it checks that the
// repository opens (`restic cat config`), restores the newest snapshot of
// the service's paths for this host into a fresh scratch directory (with
// restic's --verify), reads back every restored file, and removes the
// scratch directory. An empty restore, an unreadable file or any restic
// error — exit code 3 included — fails the drill.
//
// A scratch directory is named nixgen-drill-<service>-<pid>-<random>: a
// drill killed outright (SIGKILL, OOM) cannot remove its own, so each drill
// first removes those whose pid is gone.
//
// The scratch parent (default /var/tmp) may be writable by other users, so
// the drill acts there only through descriptors (internal/safefs): the
// parent must be root's and reached through root's directories, and be
// writable by nobody else unless it is sticky — in a sticky directory only
// an entry's owner can rename or remove it, so nobody can swap root's
// scratch directory (mode 0700) for something else. restic gets the
// scratch directory's path; that it still leads to the directory made is
// checked (device and inode) before it is read back and before it is
// removed, and removal never follows a symlink or leaves the device.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/restic"
	"github.com/nixgen/nixgen/internal/safefs"
)

// DefaultScratchDir holds the per-run scratch directories.
const DefaultScratchDir = "/var/tmp"

// DefaultTimeout is restore-test's own limit on a whole drill (--timeout);
// the generated nixgen-drill-<repo> unit passes the repository's
// drill_timeout instead, which has the same default.
const DefaultTimeout = 12 * time.Hour

// Options configure a drill.
type Options struct {
	Manifest *manifest.Manifest
	Services []string // from ForService or ForRepository
	// Repository is the repository to drill from (ForRepository's); ""
	// drills each service from the first of its repositories.
	Repository string
	Hostname   string   // restic --host of the snapshots
	ScratchDir string   // default DefaultScratchDir
	Restic     []string // restic command; default "restic"
	Grace      time.Duration
	Warn       io.Writer // leftover scratch directories removed or not; nil discards
}

// Result is one service's drill.
type Result struct {
	Service    string        `json:"service"`
	Repository string        `json:"repository"`
	Snapshot   string        `json:"snapshot,omitempty"`
	Taken      time.Time     `json:"snapshot_time,omitzero"`
	Files      int           `json:"files"`
	Bytes      int64         `json:"bytes"`
	Duration   time.Duration `json:"duration_ns"`
	Error      string        `json:"error,omitempty"`
}

// OK reports whether the drill passed.
func (r Result) OK() bool { return r.Error == "" }

// ForService returns the service, which must have a backup.
func ForService(m *manifest.Manifest, name string) ([]string, error) {
	s := m.Service(name)
	if s == nil {
		return nil, fmt.Errorf("service %q is not in the manifest", name)
	}
	if s.Backup == nil {
		return nil, fmt.Errorf("service %q has no backup", name)
	}
	return []string{name}, nil
}

// ForRepository returns the services backing up to repo, sorted.
func ForRepository(m *manifest.Manifest, repo string) ([]string, error) {
	if _, ok := m.Repositories[repo]; !ok {
		return nil, fmt.Errorf("repository %q is not in the manifest", repo)
	}
	var names []string
	for _, s := range m.Services {
		if s.Backup != nil && slices.Contains(s.Backup.Repos(), repo) {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no service backs up to repository %q", repo)
	}
	sort.Strings(names)
	return names, nil
}

// ErrFailed is returned when any service's drill failed.
var ErrFailed = errors.New("restore drill failed")

// Run drills each service in turn, and returns every result; the error
// wraps ErrFailed when any failed.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Hostname == "" {
		return nil, errors.New("no host name for restic --host")
	}
	if o.ScratchDir == "" {
		o.ScratchDir = DefaultScratchDir
	}
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	scratch, err := safefs.OpenTrusted(o.ScratchDir, safefs.StickyOK)
	if err != nil {
		return nil, fmt.Errorf("scratch directory %s is not safe to restore into as root: %w", o.ScratchDir, err)
	}
	defer scratch.Close()
	o.removeLeftovers(scratch)
	var res []Result
	failed := 0
	for _, name := range o.Services {
		start := time.Now()
		r := o.one(ctx, scratch, name)
		r.Duration = time.Since(start)
		if !r.OK() {
			failed++
		}
		res = append(res, r)
	}
	if failed > 0 {
		return res, fmt.Errorf("%w for %d of %d service(s)", ErrFailed, failed, len(res))
	}
	return res, nil
}

type snapshot struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Paths []string  `json:"paths"`
}

func (o Options) one(ctx context.Context, scratchDir *safefs.Dir, name string) (r Result) {
	r.Service = name
	fail := func(err error) Result {
		r.Error = err.Error()
		return r
	}
	s := o.Manifest.Service(name)
	if s == nil || s.Backup == nil {
		return fail(fmt.Errorf("service %q has no backup", name))
	}
	r.Repository = s.Backup.Repository
	if o.Repository != "" {
		if !slices.Contains(s.Backup.Repos(), o.Repository) {
			return fail(fmt.Errorf("service %q is not backed up to repository %q", name, o.Repository))
		}
		r.Repository = o.Repository
	}
	rr, err := restic.New(o.Manifest.Repositories[r.Repository], o.Restic...)
	if err != nil {
		return fail(err)
	}
	rr.Grace = o.Grace
	if _, err := rr.Output(ctx, "cat", "config"); err != nil {
		return fail(fmt.Errorf("repository %s does not open: %w", r.Repository, err))
	}
	args := []string{"snapshots", "--json", "--host", o.Hostname}
	for _, p := range s.Backup.Paths {
		args = append(args, "--path", p)
	}
	out, err := rr.Output(ctx, args...)
	if err != nil {
		return fail(err)
	}
	var snaps []snapshot
	if err := json.Unmarshal(out, &snaps); err != nil {
		return fail(fmt.Errorf("restic snapshots --json: %w", err))
	}
	if len(snaps) == 0 {
		return fail(fmt.Errorf("repository %s has no snapshot of %s for host %s", r.Repository, strings.Join(s.Backup.Paths, ", "), o.Hostname))
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	latest := snaps[len(snaps)-1]
	r.Snapshot, r.Taken = latest.ID, latest.Time

	made, base, err := scratchDir.MkdirTemp(fmt.Sprintf("%s%s-%d-", scratchPrefix, name, os.Getpid()))
	if err != nil {
		return fail(err)
	}
	defer made.Close()
	defer func() {
		if err := scratchDir.RemoveDirIf(base, made); err != nil && r.Error == "" {
			r.Error = fmt.Sprintf("removing the scratch directory: %v", err)
		}
	}()
	scratch := filepath.Join(o.ScratchDir, base)
	if err := rr.Run(ctx, nil, "restore", latest.ID, "--verify", "--target", scratch); err != nil {
		return fail(err)
	}
	// restic wrote through the path: it must still be the directory made.
	if err := scratchDir.CheckSame(base, made); err != nil {
		return fail(fmt.Errorf("scratch directory %s: %w during the restore", scratch, err))
	}
	r.Files, r.Bytes, err = readAll(ctx, scratch)
	if err != nil {
		return fail(err)
	}
	if r.Files == 0 {
		return fail(fmt.Errorf("snapshot %s restored no files", shortID(latest.ID)))
	}
	return r
}

const scratchPrefix = "nixgen-drill-"

// leftover matches a scratch directory's name and captures its owner's pid
// (the random suffix is decimal in scratch directories of older versions).
var leftover = regexp.MustCompile(`^nixgen-drill-.+-([0-9]+)-[0-9a-f]+$`)

// removeLeftovers removes the scratch directories of drills that died
// without removing their own. Only what is provably a dead drill's goes: a
// directory (not a symlink) with a scratch name, owned by this user, whose
// pid is not running. A live pid — a concurrent drill, or a reused pid —
// keeps its directory. Removal goes through descriptors below the scratch
// parent and never follows a symlink.
func (o Options) removeLeftovers(scratch *safefs.Dir) {
	names, err := scratch.Names()
	if err != nil {
		fmt.Fprintf(o.Warn, "warning: looking for leftover scratch directories: %v\n", err)
		return
	}
	for _, name := range names {
		m := leftover.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid <= 0 || pid == os.Getpid() || pidAlive(pid) {
			continue
		}
		st, err := scratch.Lstat(name)
		if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != os.Geteuid() {
			continue
		}
		p := filepath.Join(o.ScratchDir, name)
		if err := scratch.RemoveAll(name); err != nil {
			fmt.Fprintf(o.Warn, "warning: removing the leftover scratch directory of a dead drill: %v\n", err)
			continue
		}
		fmt.Fprintf(o.Warn, "removed %s, left by a drill (pid %d) that is gone\n", p, pid)
	}
}

func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// readAll reads every regular file below root to the end.
func readAll(ctx context.Context, root string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		files++
		bytes += n
		return nil
	})
	return files, bytes, err
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// WriteReport prints one line per service.
func WriteReport(w io.Writer, res []Result) {
	for _, r := range res {
		if r.OK() {
			fmt.Fprintf(w, "ok    %s (repository %s): snapshot %s of %s, %d files, %d bytes read back, %s\n",
				r.Service, r.Repository, shortID(r.Snapshot), r.Taken.UTC().Format(time.RFC3339), r.Files, r.Bytes, r.Duration.Round(time.Millisecond))
		} else {
			fmt.Fprintf(w, "FAIL  %s (repository %s): %s\n", r.Service, r.Repository, r.Error)
		}
	}
}
