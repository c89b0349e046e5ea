// Package jobreport reports the result of a generated unit (restic backup,
// prune, check, restore drill, sanoid, syncoid): systemd's OnFailure= and
// OnSuccess= hooks start `nixgen-helper notify --unit U --result R`, which
// lands here. The job is looked up in the manifest by its unit name; the
// result goes to the job's notifiers with the last lines of the unit's journal,
// and into a Prometheus textfile per unit. Which results a notifier hears
// of is its choice (manifest.Notifier.Events): by default failures and
// recoveries, the first success after a failure, which the previous
// result in the textfile tells.
//
// Notifier failures are returned for logging but never fail the report: the
// hook runs after the fact and a failing hook would only hide the result.
package jobreport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/notify"
	"github.com/nixgen/nixgen/internal/proc"
	"github.com/nixgen/nixgen/internal/rules"
)

// Options configure one report.
type Options struct {
	Manifest    *manifest.Manifest
	Unit        string
	Success     bool
	Host        string // default: the manifest's host
	TextfileDir string // "" writes no metrics
	// StateDir is where the last result is read from, to tell a recovery
	// from a routine success: the metrics textfiles. Default TextfileDir;
	// the notifiers half of a split report reads it without writing.
	StateDir string
	NoNotify bool // tell no notifier (the metrics half of a split report)

	Journalctl string // default "journalctl"
	Systemctl  string // default "systemctl"
	// CallTimeout bounds each journalctl/systemctl call (default 15s).
	CallTimeout time.Duration
	Notify      *notify.Sender   // default: a zero Sender
	Now         func() time.Time // default time.Now
}

// ErrUnknownUnit is returned for a unit the manifest does not list.
var ErrUnknownUnit = errors.New("unit is not a job in the manifest")

// Report is what was done.
type Report struct {
	Job manifest.Job
	// Stopped: the failure was a stop by SIGTERM (a switch, a shutdown,
	// `systemctl stop`), not a failed run: no one is paged and no result
	// is recorded, so the metrics keep the last finished run.
	Stopped bool
	// Event is what the result was: rules.EventFailure, EventSuccess, or
	// EventRecovery (the first success after a failure).
	Event     string
	Notified  bool  // an event was sent (or attempted) to a notifier that wants it
	NotifyErr error // notifiers that could not be reached; logged only
	Duration  time.Duration
	Excerpt   string
}

// excerptLines and excerptBytes bound the journal excerpt (ntfy accepts
// 4096 bytes of message).
const (
	excerptLines = 40
	excerptBytes = 3000
)

// Run reports one result. Its error is non-nil only for an unknown unit or
// when the metrics file could not be written.
func Run(ctx context.Context, o Options) (*Report, error) {
	var job *manifest.Job
	for i := range o.Manifest.Jobs {
		if o.Manifest.Jobs[i].Unit == o.Unit {
			job = &o.Manifest.Jobs[i]
		}
	}
	if job == nil {
		return nil, fmt.Errorf("%q: %w", o.Unit, ErrUnknownUnit)
	}
	host := o.Host
	if host == "" {
		host = o.Manifest.Host
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	finished := now()
	run := o.lastRun(ctx)
	rep := &Report{Job: *job, Duration: run.duration}
	if !o.Success && run.stoppedByTerm() {
		rep.Stopped = true
		return rep, nil
	}

	rep.Event = rules.EventFailure
	if o.Success {
		rep.Event = rules.EventSuccess
		if o.failedBefore(*job) {
			rep.Event = rules.EventRecovery
		}
	}
	var to []string
	for _, name := range job.Notify {
		if n, ok := o.Manifest.Notifiers[name]; ok && n.Wants(rep.Event) {
			to = append(to, name)
		}
	}
	if !o.NoNotify && len(to) > 0 {
		rep.Notified = true
		rep.Excerpt = o.journal(ctx)
		sender := o.Notify
		if sender == nil {
			sender = &notify.Sender{}
		}
		ev := event(host, *job, rep, finished)
		rep.NotifyErr = sender.SendAll(ctx, o.Manifest.Notifiers, to, ev)
	}

	if o.TextfileDir != "" {
		err := metrics.WriteJob(o.TextfileDir, metrics.Job{
			Kind: job.Kind, Host: host, Unit: job.Unit, Service: job.Service,
			Repository: job.Repository, Success: o.Success, Finished: finished, Duration: rep.Duration,
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// failedBefore reports whether the job's last recorded result (its metrics
// textfile, written after every report) was a failure.
func (o Options) failedBefore(j manifest.Job) bool {
	dir := o.StateDir
	if dir == "" {
		dir = o.TextfileDir
	}
	prefix, err := metrics.JobPrefix(j.Kind)
	if dir == "" || err != nil {
		return false
	}
	v, ok, err := metrics.ReadGauge(metrics.JobFile(dir, j.Unit), prefix+"_status")
	return err == nil && ok && v == 0
}

func event(host string, j manifest.Job, rep *Report, at time.Time) notify.Event {
	result := rep.Event
	var b strings.Builder
	fmt.Fprintf(&b, "%s job %s on %s: %s", j.Kind, j.Unit, host, result)
	if j.Service != "" {
		fmt.Fprintf(&b, "\nservice: %s", j.Service)
	}
	if j.Repository != "" {
		fmt.Fprintf(&b, "\nrepository: %s", j.Repository)
	}
	if rep.Duration > 0 {
		fmt.Fprintf(&b, "\nduration: %s", rep.Duration.Round(time.Second))
	}
	fmt.Fprintf(&b, "\n\nlast journal lines:\n%s", rep.Excerpt)
	return notify.Event{
		Host: host, Service: j.Service, Repository: j.Repository, Unit: j.Unit, Kind: j.Kind,
		Event: result, Failed: result == rules.EventFailure, Message: b.String(),
		Duration: rep.Duration.Seconds(), Time: at.UTC(),
	}
}

func (o Options) call(ctx context.Context, prog, def string, args ...string) ([]byte, error) {
	if prog == "" {
		prog = def
	}
	d := o.CallTimeout
	if d <= 0 {
		d = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// proc.Error names the command and quotes the end of its stderr.
	out, err := proc.Cmd{Argv: append([]string{prog}, args...), Grace: 5 * time.Second}.Run(ctx)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// journal returns the unit's last journal lines, or a line saying why
// there are none: a report goes out either way.
func (o Options) journal(ctx context.Context) string {
	out, err := o.call(ctx, o.Journalctl, "journalctl", "-u", o.Unit, "-n", strconv.Itoa(excerptLines), "--no-pager", "-o", "cat")
	if err != nil {
		return fmt.Sprintf("(journal not available: %v)", err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "(the journal has no lines for this unit)"
	}
	if len(s) > excerptBytes {
		s = "…" + s[len(s)-excerptBytes:]
	}
	return s
}

// lastRun reads what systemd knows about the unit's last run; the zero
// value when systemd cannot be asked.
func (o Options) lastRun(ctx context.Context) runInfo {
	out, err := o.call(ctx, o.Systemctl, "systemctl", "show", o.Unit,
		"-p", "ExecMainStartTimestampMonotonic", "-p", "ExecMainExitTimestampMonotonic",
		"-p", "Result", "-p", "ExecMainCode", "-p", "ExecMainStatus")
	if err != nil {
		return runInfo{}
	}
	return parseRun(out)
}

// runInfo is the end of a unit's last run.
type runInfo struct {
	duration time.Duration
	result   string // systemd's Result=: "success", "exit-code", "signal", "timeout", ...
	code     int    // ExecMainCode: 1 exited, 2 killed, 3 dumped core
	status   int    // ExecMainStatus: exit status or signal number
}

// sigterm is SIGTERM's number on Linux.
const sigterm = 15

// stoppedByTerm reports a main process that ended because systemd stopped
// the unit: killed by SIGTERM, or exiting with 143 (128+SIGTERM, what
// shells and many programs return) or 130 (restic's "interrupted").
// systemd's own time limit also sends SIGTERM, but then Result= is
// "timeout", which stays a failure.
func (r runInfo) stoppedByTerm() bool {
	switch r.result {
	case "signal":
		return r.code == 2 && r.status == sigterm
	case "exit-code":
		return r.code == 1 && (r.status == 128+sigterm || r.status == 130)
	}
	return false
}

func parseRun(out []byte) runInfo {
	var r runInfo
	var start, exit int64
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if k == "Result" {
			r.result = v
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "ExecMainStartTimestampMonotonic":
			start = n
		case "ExecMainExitTimestampMonotonic":
			exit = n
		case "ExecMainCode":
			r.code = int(n)
		case "ExecMainStatus":
			r.status = int(n)
		}
	}
	if start > 0 && exit > start {
		r.duration = time.Duration(exit-start) * time.Microsecond
	}
	return r
}

// ParseMainDuration reads `systemctl show -p ExecMainStartTimestampMonotonic
// -p ExecMainExitTimestampMonotonic` (microseconds); 0 when either is
// missing or zero, or the exit is not after the start (a run in progress).
func ParseMainDuration(out []byte) time.Duration { return parseRun(out).duration }
