// Package preseed restores a service's data before the service first starts
// on a fresh host, and otherwise leaves the data alone.
//
// The decision, in order (see docs/restore-procedures.md):
//
//  1. take the service's lock (a pid file; a dead owner's lock is taken over);
//  2. the pool is ONLINE, the dataset exists and is mounted at its declared
//     mountpoint — otherwise refuse: a restore into the bare directory would
//     be hidden by the dataset later;
//  3. the user property nixgen:preseed=complete is set: skip;
//  4. the dataset holds data (anything but lost+found, .zfs and nixgen's own
//     .nixgen-restore-* staging entries): adopt it by setting the property;
//  5. otherwise try the declared methods in order, each under its own
//     timeout; a method with nothing to restore from is "unavailable" and the
//     next one is tried;
//  6. after a restore: fix ownership, re-apply properties, set the property
//     last. When every method fails, on_failure decides: start-empty marks
//     the dataset complete (so a later rebuild can never roll newer data back
//     to an old copy), block fails without a mark.
//
// Every outcome is logged, sent to the service's notifiers and written as
// Prometheus metrics; the last one is also kept on the dataset in the user
// property nixgen:preseed-last for `nixgen-helper preseed status`.
package preseed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/notify"
	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/safefs"
	"github.com/nixgen/nixgen/internal/zfs"
)

// ZFS user properties owned by preseed.
const (
	PropComplete = "nixgen:preseed"      // "complete" once data is in place
	PropLast     = "nixgen:preseed-last" // "<outcome> <method> <RFC 3339 time>"
	// PropAside names, on the dataset a syncoid restore sets aside, the
	// service dataset it was: only a dataset carrying it is preseed's to
	// rename back or destroy, never one that merely has the aside name.
	PropAside = "nixgen:preseed-aside"
	// PropReceived is set on a dataset syncoid received, as soon as the
	// receive succeeded, to the guid of the set-aside dataset it replaces:
	// a run that dies before the cleanup finishes that restore instead of
	// discarding it. Only a mark naming the aside's own guid counts.
	PropReceived = "nixgen:preseed-received"
)

// Outcome of one preseed run.
type Outcome string

const (
	Restored   Outcome = "restored"
	Skipped    Outcome = "skipped"
	Adopted    Outcome = "adopted"
	StartEmpty Outcome = "start-empty"
	Failed     Outcome = "failed"
)

// Options configure one run. Zero values fall back to defaults where noted.
type Options struct {
	Manifest *manifest.Manifest
	Service  string
	Hostname string // restic --host; required when restic is a method

	LockDir     string        // default DefaultLockDir
	LockWait    time.Duration // how long to wait for a concurrent preseed; 0 refuses at once
	TextfileDir string        // Prometheus textfile dir; "" writes no metrics

	ZFS     *zfs.Runner // default: a zero Runner (zfs and zpool on PATH)
	Restic  string      // default "restic"
	Syncoid string      // default "syncoid"
	SSH     string      // default "ssh" (availability check of a remote replica)
	Grace   time.Duration

	// SSHOptions are extra `ssh -o` options (e.g. "Port=2222") for reaching a
	// remote replica, given to ssh and, as --sshoption, to syncoid. They
	// come before DefaultSSHOptions, so they win (ssh takes an option's first
	// value). Each must pass CheckSSHOption.
	SSHOptions []string

	Log    *slog.Logger   // default: JSON to stderr
	Notify *notify.Sender // default: a zero Sender
}

// Attempt records what one method did.
type Attempt struct {
	Method string `json:"method"`
	Status string `json:"status"` // "restored" | "unavailable" | "failed"
	Error  string `json:"error,omitempty"`
}

// Result is the outcome of a run.
type Result struct {
	Outcome  Outcome
	Method   string // the method that restored
	Attempts []Attempt
	Duration time.Duration
	Err      error // why the run failed (Outcome == Failed)
}

// RefusedError is a failed precondition (pool not ONLINE, dataset missing
// or not mounted, lock held): nothing was touched.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

func refused(format string, a ...any) error {
	return &RefusedError{Err: fmt.Errorf(format, a...)}
}

// errUnavailable marks a method with nothing to restore from.
var errUnavailable = errors.New("nothing to restore from")

func unavailable(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUnavailable, fmt.Sprintf(format, a...))
}

type run struct {
	o     Options
	svc   *manifest.Service
	zfs   *zfs.Runner
	log   *slog.Logger
	aside string // where the empty dataset waits during a syncoid receive
	// rootWas is the dataset root's owner and mode before lockRoot.
	rootWas *unix.Stat_t
}

// Run performs the preseed of one service and reports the outcome. The
// error is non-nil exactly when the service must not start.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.Manifest == nil {
		return nil, errors.New("preseed: no manifest")
	}
	for _, opt := range o.SSHOptions {
		if err := CheckSSHOption(opt); err != nil {
			return nil, fmt.Errorf("preseed: %w", err)
		}
	}
	svc := o.Manifest.Service(o.Service)
	if svc == nil {
		return nil, fmt.Errorf("preseed: service %q is not in the manifest", o.Service)
	}
	if svc.Preseed == nil {
		return nil, fmt.Errorf("preseed: service %q declares no preseed block", o.Service)
	}
	// The name becomes lock and metrics file names (manifest validation
	// rejects such names first; this is the point of use).
	if err := safefs.CheckName(svc.Name); err != nil {
		return nil, fmt.Errorf("preseed: service name: %w", err)
	}
	r := &run{o: o, svc: svc, zfs: o.ZFS, log: o.Log, aside: svc.Dataset + ".nixgen-aside"}
	if r.zfs == nil {
		r.zfs = &zfs.Runner{}
	}
	if r.log == nil {
		r.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	r.log = r.log.With("service", svc.Name, "dataset", svc.Dataset)
	if o.LockDir == "" {
		o.LockDir = DefaultLockDir
	}

	res := &Result{}
	var lk *lock
	lk, res.Err = acquireLock(ctx, o.LockDir, svc.Name, o.LockWait)
	if errors.Is(res.Err, ErrLocked) {
		res.Err = &RefusedError{Err: res.Err}
	}
	if res.Err == nil {
		r.decide(ctx, res)
		if err := lk.release(); err != nil {
			r.log.Warn("releasing the lock", "err", err)
		}
	}
	if res.Err != nil {
		res.Outcome = Failed
	}
	res.Duration = time.Since(start)
	r.report(ctx, res, lk != nil)
	if res.Outcome == Failed {
		return res, res.Err
	}
	return res, nil
}

// decide runs steps 2–6 with the lock held and fills res.
func (r *run) decide(ctx context.Context, res *Result) {
	// Before anything can mount or write there.
	if err := checkAncestors(r.svc.Mountpoint); err != nil {
		res.Err = err
		return
	}
	st, err := r.state(ctx)
	if err != nil {
		res.Err = err
		return
	}
	if st.aside != nil && st.aside[PropAside] != r.svc.Dataset {
		r.log.Warn("a dataset with the set-aside name is not preseed's; leaving it alone", "aside", r.aside)
		st.aside = nil
	}
	resumed := false
	if st.aside != nil {
		if st, resumed, err = r.recoverAside(ctx, st); err != nil {
			res.Err = err
			return
		}
	}
	if err := r.checkMounted(st); err != nil {
		res.Err = err
		return
	}
	if resumed {
		r.finish(ctx, res, "syncoid")
		return
	}
	if st.ds[PropComplete] == "complete" {
		res.Outcome = Skipped
		return
	}
	mp := r.svc.Mountpoint
	// A restic restore that was interrupted while moving its staged files
	// into place is finished first: the staged copy was complete.
	if done, err := resumeMove(mp); err != nil {
		res.Err = fmt.Errorf("finishing an interrupted restic restore: %w", err)
		return
	} else if done {
		r.log.Info("finished moving an interrupted restic restore into place")
		r.finish(ctx, res, "restic")
		return
	}
	if err := removeStaging(mp); err != nil {
		res.Err = err
		return
	}
	empty, err := isEmpty(mp)
	if err != nil {
		res.Err = err
		return
	}
	if empty {
		// Nobody but root may reach the dataset while it is restored.
		if empty, err = r.lockRoot(); err != nil {
			res.Err = err
			return
		}
	}
	if !empty {
		if err := r.zfs.Set(ctx, r.svc.Dataset, PropComplete, "complete"); err != nil {
			res.Err = err
			return
		}
		res.Outcome = Adopted
		return
	}
	for _, m := range r.svc.Preseed.Methods {
		err := r.tryMethod(ctx, m)
		a := Attempt{Method: m, Status: "restored"}
		switch {
		case errors.Is(err, errUnavailable):
			a.Status, a.Error = "unavailable", err.Error()
		case err != nil:
			a.Status, a.Error = "failed", err.Error()
		}
		res.Attempts = append(res.Attempts, a)
		r.log.Info("preseed method", "method", m, "status", a.Status, "err", a.Error)
		if err == nil {
			r.finish(ctx, res, m)
			return
		}
	}
	if r.svc.Preseed.OnFailure == "start-empty" {
		if err := r.leftEmpty(ctx); err != nil {
			res.Err = fmt.Errorf("no preseed method restored %s (%s), and on_failure = start-empty does not apply: %w", r.svc.Name, summary(res.Attempts), err)
			return
		}
		if err := r.applyOwnerAndProps(ctx); err != nil {
			res.Err = err
			return
		}
		if err := r.zfs.Set(ctx, r.svc.Dataset, PropComplete, "complete"); err != nil {
			res.Err = err
			return
		}
		res.Outcome = StartEmpty
		return
	}
	r.unlockRoot()
	res.Err = fmt.Errorf("no preseed method restored %s (%s) and on_failure is block", r.svc.Name, summary(res.Attempts))
}

// leftEmpty checks, before start-empty marks the dataset, that the failed
// methods left it as they found it: in place and empty. A method that
// failed halfway (a partial move, a dataset that could not be put back)
// leaves something that must never be marked complete.
func (r *run) leftEmpty(ctx context.Context) error {
	st, err := r.state(ctx)
	if err != nil {
		return err
	}
	if err := r.checkMounted(st); err != nil {
		return err
	}
	empty, err := isEmpty(r.svc.Mountpoint)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("a failed method left a half-finished restore in %s", r.svc.Mountpoint)
	}
	return nil
}

func summary(as []Attempt) string {
	if len(as) == 0 {
		return "no methods declared"
	}
	var parts []string
	for _, a := range as {
		parts = append(parts, a.Method+": "+a.Status)
	}
	return strings.Join(parts, ", ")
}

func (r *run) tryMethod(ctx context.Context, m string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.svc.Preseed.TimeoutSeconds)*time.Second)
	defer cancel()
	switch m {
	case "syncoid":
		return r.syncoid(ctx)
	case "local":
		return r.local(ctx)
	case "restic":
		return r.restic(ctx)
	}
	return fmt.Errorf("unknown method %q", m)
}

// finish completes a restore: ownership, properties, then the mark — last,
// so that any failure before it leaves the dataset unmarked.
func (r *run) finish(ctx context.Context, res *Result, method string) {
	if err := r.applyOwnerAndProps(ctx); err != nil {
		res.Err = fmt.Errorf("restored with %s, but: %w", method, err)
		return
	}
	if err := r.zfs.Set(ctx, r.svc.Dataset, PropComplete, "complete"); err != nil {
		res.Err = fmt.Errorf("restored with %s, but: %w", method, err)
		return
	}
	res.Outcome, res.Method = Restored, method
}

func (r *run) applyOwnerAndProps(ctx context.Context) error {
	if err := fixOwnership(r.svc.Mountpoint, r.svc.User, r.svc.Group, r.svc.Mode); err != nil {
		return err
	}
	createOnly := map[string]bool{}
	for _, p := range r.svc.CreateOnly {
		createOnly[p] = true
	}
	props := map[string]string{}
	for k, v := range r.svc.Properties {
		if !createOnly[k] && !zfs.CreateOnly(k) {
			props[k] = v
		}
	}
	return r.zfs.SetProps(ctx, r.svc.Dataset, props)
}

// state is what one `zpool list` and one `zfs list -d 1` tell about the service.
type state struct {
	ds    map[string]string // nil when the dataset does not exist
	aside map[string]string // nil when no set-aside dataset exists
}

var listProps = []string{"mounted", "mountpoint", "guid", PropComplete, PropLast, PropAside, PropReceived}

func (r *run) state(ctx context.Context) (state, error) {
	pool, _, _ := strings.Cut(r.svc.Dataset, "/")
	health, err := r.zfs.PoolHealth(ctx, pool)
	if err != nil {
		return state{}, refused("pool %s: %w", pool, err)
	}
	if health != "ONLINE" {
		return state{}, refused("pool %s is %s, not ONLINE: refusing to restore", pool, health)
	}
	kids, err := r.zfs.ListChildren(ctx, path.Dir(r.svc.Dataset), listProps...)
	if zfs.NotExist(err) {
		return state{}, refused("dataset %s does not exist, nor its parent (nixgen-datasets creates them): refusing to restore", r.svc.Dataset)
	}
	if err != nil {
		return state{}, err
	}
	return state{ds: kids[r.svc.Dataset], aside: kids[r.aside]}, nil
}

func (r *run) checkMounted(st state) error {
	ds, mp := r.svc.Dataset, r.svc.Mountpoint
	if st.ds == nil {
		return refused("dataset %s does not exist (nixgen-datasets creates it): refusing to restore", ds)
	}
	if st.ds["mountpoint"] != mp {
		return refused("dataset %s has mountpoint %s, want %s: refusing to restore", ds, st.ds["mountpoint"], mp)
	}
	if st.ds["mounted"] != "yes" {
		return refused("dataset %s is not mounted at %s: refusing to restore into the bare directory", ds, mp)
	}
	// Belt and braces: the directory must be a mount point (another device
	// than its parent) reached through ancestors only root can change, and
	// the kernel's mount table must show the dataset there.
	root, err := openRoot(mp)
	if err != nil {
		return err
	}
	root.Close()
	src, err := zfs.MountSource(mp)
	if err != nil {
		return err
	}
	if src != ds {
		return refused("%s is mounted at %s per zfs, but the mount table shows %q there: refusing to restore", ds, mp, src)
	}
	return nil
}

// reportTimeout bounds the reporting of an outcome once the run's own
// context is gone; systemd allows 90 s (TimeoutStopSec) after its SIGTERM.
const reportTimeout = time.Minute

// report logs the outcome, notifies and writes metrics. None of these can
// change the outcome.
func (r *run) report(ctx context.Context, res *Result, haveLock bool) {
	// A run stopped by SIGTERM (a start timeout) has a cancelled context,
	// and its failure is exactly what must still be reported.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	attrs := []any{"outcome", string(res.Outcome), "method", res.Method,
		"duration_seconds", res.Duration.Seconds()}
	for _, a := range res.Attempts {
		attrs = append(attrs, "attempt_"+a.Method, a.Status)
	}
	msg := r.message(res)
	if res.Err != nil {
		r.log.Error(msg, append(attrs, "err", res.Err.Error())...)
	} else {
		r.log.Info(msg, attrs...)
	}

	now := time.Now()
	// The last outcome stays on the dataset for `preseed status`. Not when
	// the lock was refused (that run did not look at the dataset; the owner
	// reports its own outcome), and not for a skip: every boot skips, and
	// the skip path stays at two zfs processes; status then shows the run
	// that decided, and the metrics show every run.
	if haveLock && res.Outcome != Skipped {
		method := res.Method
		if method == "" {
			method = "none"
		}
		val := fmt.Sprintf("%s %s %s", res.Outcome, method, now.UTC().Format(time.RFC3339))
		if err := r.zfs.Set(ctx, r.svc.Dataset, PropLast, val); err != nil && !zfs.NotExist(err) {
			r.log.Warn("recording the outcome on the dataset", "err", err)
		}
	}

	if r.o.TextfileDir != "" {
		status := map[Outcome]int{Failed: metrics.StatusFailed, Restored: metrics.StatusRestored,
			Skipped: metrics.StatusSkipped, Adopted: metrics.StatusAdopted, StartEmpty: metrics.StatusStartEmpty}[res.Outcome]
		if err := metrics.WritePreseed(r.o.TextfileDir, metrics.Preseed{Service: r.svc.Name, Method: res.Method,
			Status: status, Duration: res.Duration, Finished: now}); err != nil {
			r.log.Warn("writing metrics", "err", err)
		}
	}

	if len(r.svc.Notify) > 0 {
		sender := r.o.Notify
		if sender == nil {
			sender = &notify.Sender{}
		}
		ev := notify.Event{Host: r.o.Manifest.Host, Service: r.svc.Name, Event: string(res.Outcome),
			Method: res.Method, Message: msg, Failed: res.Outcome == Failed || res.Outcome == StartEmpty,
			Duration: res.Duration.Seconds(), Time: now.UTC()}
		if res.Outcome == Skipped {
			ev.Priority = "min"
		}
		if err := sender.SendEvent(ctx, r.o.Manifest.Notifiers, r.svc.Notify, rules.EventPreseed, ev); err != nil {
			r.log.Warn("notifying", "err", err)
		}
	}
}

func (r *run) message(res *Result) string {
	name := r.svc.Name
	switch res.Outcome {
	case Restored:
		return fmt.Sprintf("preseed of %s: restored with %s in %s", name, res.Method, res.Duration.Round(time.Millisecond))
	case Skipped:
		return fmt.Sprintf("preseed of %s: data already complete, nothing to do", name)
	case Adopted:
		return fmt.Sprintf("preseed of %s: existing data adopted and marked complete", name)
	case StartEmpty:
		return fmt.Sprintf("preseed of %s: no method restored (%s); starting EMPTY as on_failure = start-empty", name, summary(res.Attempts))
	}
	return fmt.Sprintf("preseed of %s FAILED: %v", name, res.Err)
}
