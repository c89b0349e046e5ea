// Package preseed restores a service's data before the service first starts
// on a fresh host, and otherwise leaves the data alone.
//
// The invariant, above everything below: preseed never destroys a snapshot,
// and never destroys or overwrites a dataset that holds data or snapshots
// it did not itself just receive. Every destroy and rollback goes through
// one gate (discard, in guard.go) that acts only on a proof it checks
// against the live state right before acting; anything preseed replaces is
// renamed aside to <dataset>.nixgen-aside-<UTC time>, unmounted and
// canmount=noauto, with user properties saying why and when, and is listed
// by `nixgen-helper preseed status`. Removing it is the operator's decision.
//
// The decision, in order (see docs/restore-procedures.md):
//
//  1. take the service's lock (a pid file; a dead owner's lock is taken over);
//  2. the user property nixgen:preseed=complete is set and no restore is
//     half-finished: skip — at most two processes (`zfs get` of the
//     service's dataset, `zpool list` for the pool-health metric), and no
//     other dataset is read;
//  3. a set-aside dataset left by an interrupted syncoid restore is
//     resolved (finished, put back, or kept aside);
//  4. the dataset exists and is mounted at its declared mountpoint —
//     otherwise refuse: a restore into the bare directory would be hidden
//     by the dataset later;
//  5. the dataset holds data (anything but lost+found, .zfs and nixgen's own
//     .nixgen-restore-* staging entries): adopt it by setting the property;
//  6. the pool is ONLINE — otherwise refuse to restore (the pool's health
//     is also a metric, nixgen_preseed_pool_degraded, on every run);
//  7. try the declared methods in order, each under its own timeout; a
//     method with nothing to restore from is "unavailable" and the next one
//     is tried;
//  8. after a restore: fix ownership, re-apply properties, set the property
//     last. When no method restored, on_failure decides: start-empty marks
//     the dataset complete only when every method was unavailable (never
//     after an error: I/O, no space, a timeout, an unreachable host), block
//     fails without a mark.
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
	"maps"
	"os"
	"slices"
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
	// PropAsideRef records the dataset's referenced bytes when it was set
	// aside empty for a receive: more than that later means something was
	// written, and the aside is kept instead of destroyed.
	PropAsideRef = "nixgen:preseed-aside-referenced"
	// PropAsideReason and PropAsideTime say, on a dataset kept aside, why
	// and when (RFC 3339, UTC) preseed set it aside.
	PropAsideReason = "nixgen:preseed-aside-reason"
	PropAsideTime   = "nixgen:preseed-aside-time"
	// PropProbe names, on the read-only clone that preseed makes to look
	// into a snapshot, that snapshot.
	PropProbe = "nixgen:preseed-probe"
	// PropLocal names, on the clone that a local restore promotes
	// (<ds>.nixgen-local), the snapshot it was made of: a run killed
	// before the clone took the dataset's place is finished by the next.
	PropLocal = "nixgen:preseed-local"
)

// Dataset names preseed uses beside the service's dataset <ds>.
const (
	// AsideInfix: <ds>.nixgen-aside-<UTC time> keeps what preseed replaced.
	AsideInfix = ".nixgen-aside-"
	// asideSuffix: <ds>.nixgen-aside holds the empty dataset during a
	// syncoid receive (a fixed name, so that a killed run is found again
	// without listing other datasets).
	asideSuffix = ".nixgen-aside"
	probeSuffix = ".nixgen-probe" // read-only clone of a snapshot, looked into
	localSuffix = ".nixgen-local" // clone promoted by a local restore
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

	ZFS    *zfs.Runner // default: a zero Runner (zfs and zpool on PATH)
	Restic string      // default "restic"
	// PgBackRest is the pgbackrest program; default "pgbackrest".
	PgBackRest string
	Syncoid    string // default "syncoid"
	SSH        string // default "ssh" (availability check of a remote replica)
	Grace      time.Duration

	// SSHOptions are extra `ssh -o` options (e.g. "Port=2222") for reaching a
	// remote replica, given to ssh and, as --sshoption, to syncoid. They
	// come before hostfacts.SSHOptions, so they win (ssh takes an option's first
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
	// health is the pool's health ("" until read).
	health string
	// foreignAside: a dataset that is not preseed's has the aside name.
	foreignAside bool
	// leftover explains why the syncoid method cannot run: an interrupted
	// restore left two datasets, and both were kept.
	leftover string
	// keptAside lists what this run set aside (reported).
	keptAside []string
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
	r := &run{o: o, svc: svc, zfs: o.ZFS, log: o.Log, aside: svc.Dataset + asideSuffix}
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

// decide runs steps 2–8 with the lock held and fills res.
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
	// The skip path: the service's own dataset only, and the pool's health
	// for its metric; a degraded pool never keeps complete data down.
	if st.ds != nil && st.ds[PropComplete] == "complete" && !isSet(st.ds[PropReceived]) {
		if err := r.checkMounted(st); err != nil {
			res.Err = err
			return
		}
		if err := r.readHealth(ctx); err != nil {
			r.log.Warn("reading the pool's health", "err", err)
		}
		res.Outcome = Skipped
		return
	}
	if err := r.readHealth(ctx); err != nil {
		res.Err = refused("pool of %s: %w", r.svc.Dataset, err)
		return
	}
	aside, err := r.readOne(ctx, r.aside)
	if err != nil {
		res.Err = err
		return
	}
	if aside != nil && aside[PropAside] != r.svc.Dataset {
		r.log.Warn("a dataset with the set-aside name is not preseed's; leaving it alone", "aside", r.aside)
		r.foreignAside, aside = true, nil
	}
	resumed := false
	if aside != nil {
		if err := r.requireOnline(); err != nil {
			res.Err = err
			return
		}
		if st, resumed, err = r.recoverAside(ctx, st, aside); err != nil {
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
	// A probe clone left mounted by a killed run goes before the staging
	// entries are removed (it is mounted on one).
	if _, err := os.Lstat(r.probeDir()); err == nil {
		if err := r.cleanProbe(ctx); err != nil {
			res.Err = err
			return
		}
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
	r.restore(ctx, res)
}

// restore runs the methods in order on the empty dataset, whose root is
// locked, until one restores it; then on_failure decides.
func (r *run) restore(ctx context.Context, res *Result) {
	if err := r.requireOnline(); err != nil {
		r.unlockRoot()
		res.Err = err
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
		r.startEmpty(ctx, res)
		return
	}
	r.unlockRoot()
	res.Err = fmt.Errorf("no preseed method restored %s (%s) and on_failure is block", r.svc.Name, summary(res.Attempts))
}

// startEmpty is on_failure = start-empty once every method was tried: the
// empty dataset is marked complete, but only when every method had nothing
// to restore from.
func (r *run) startEmpty(ctx context.Context, res *Result) {
	if failed := failedAttempts(res.Attempts); failed != "" {
		// After an error the data may well exist, and the mark would keep
		// it from ever being restored.
		r.unlockRoot()
		res.Err = fmt.Errorf("no preseed method restored %s (%s); on_failure = start-empty applies only when every method had nothing to restore from, and %s failed: not starting empty", r.svc.Name, summary(res.Attempts), failed)
		return
	}
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
}

// failedAttempts names the methods that failed (rather than having nothing
// to restore from), "" when none did.
func failedAttempts(as []Attempt) string {
	var names []string
	for _, a := range as {
		if a.Status != "unavailable" {
			names = append(names, a.Method)
		}
	}
	return strings.Join(names, ", ")
}

func isSet(v string) bool { return v != "" && v != "-" }

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
	case "pgbackrest":
		return r.pgbackrest(ctx)
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
		if !createOnly[k] && !rules.CreateOnly(k) {
			props[k] = v
		}
	}
	if len(props) == 0 {
		return nil
	}
	// One read, then a set only of what differs or is not set locally
	// (the rule nixgen-datasets applies): most values already match.
	have, err := r.zfs.Get(ctx, []string{r.svc.Dataset}, slices.Sorted(maps.Keys(props))...)
	if err != nil {
		return err
	}
	if d := have[r.svc.Dataset]; d != nil {
		for k, v := range props {
			if d.Props[k].SetTo(k, v) {
				delete(props, k)
			}
		}
	}
	return r.zfs.SetProps(ctx, r.svc.Dataset, props)
}

// state is what one `zfs get` of the service's dataset tells.
type state struct {
	ds map[string]string // nil when the dataset does not exist
}

// dsProps is what preseed reads of its datasets: values as `zfs get -p`
// prints them; an unset user property is "-".
var dsProps = []string{"mounted", "mountpoint", "guid", "referenced", PropComplete, PropReceived, PropAside}

func (r *run) state(ctx context.Context) (state, error) {
	ds, err := r.readOne(ctx, r.svc.Dataset)
	return state{ds: ds}, err
}

// readOne reads dsProps of one dataset in one `zfs get`; nil when it does
// not exist.
func (r *run) readOne(ctx context.Context, name string) (map[string]string, error) {
	t, err := r.zfs.Get(ctx, []string{name}, dsProps...)
	if zfs.NotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := t[name]
	if d == nil {
		return nil, fmt.Errorf("zfs get printed nothing for %s", name)
	}
	m := make(map[string]string, len(d.Props))
	for k, p := range d.Props {
		m[k] = p.Value
	}
	return m, nil
}

// readHealth reads the pool's health (reported as a metric on every run).
func (r *run) readHealth(ctx context.Context) error {
	pool, _, _ := strings.Cut(r.svc.Dataset, "/")
	health, err := r.zfs.PoolHealth(ctx, pool)
	if err != nil {
		return fmt.Errorf("pool %s: %w", pool, err)
	}
	r.health = health
	return nil
}

// requireOnline refuses a restore onto a pool that is not ONLINE.
func (r *run) requireOnline() error {
	if r.health != "ONLINE" {
		pool, _, _ := strings.Cut(r.svc.Dataset, "/")
		return refused("pool %s is %s, not ONLINE: refusing to restore", pool, r.health)
	}
	return nil
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
		if st.ds[PropAside] == ds {
			// setAside marks, then renames: a run killed in between.
			return refused("dataset %s is not mounted and is marked %s: a preseed run was killed while setting it aside; look into it, then `zfs inherit %s %s`, `zfs set canmount=on %s` and mount it (docs/restore-procedures.md, \"A preseed that refuses\")", ds, PropAside, PropAside, ds, ds)
		}
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
	if len(r.keptAside) > 0 {
		msg += "; set aside and kept: " + strings.Join(r.keptAside, ", ")
	}
	if r.health != "" && r.health != "ONLINE" {
		msg += fmt.Sprintf("; pool is %s", r.health)
	}
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
		pool, _, _ := strings.Cut(r.svc.Dataset, "/")
		if err := metrics.WritePreseed(r.o.TextfileDir, metrics.Preseed{Service: r.svc.Name, Method: res.Method,
			Status: status, Duration: res.Duration, Finished: now, Pool: pool, PoolHealth: r.health}); err != nil {
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
