// Package replication is the sending side's health of a syncoid
// replication: a probe that the target answers over ssh before syncoid runs
// (ExecStartPre of the syncoid unit), and the replication lag after each run
// (ExecStopPost), written as a node-exporter textfile.
package replication

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/preseed"
	"github.com/nixgen/nixgen/internal/proc"
	"github.com/nixgen/nixgen/internal/zfs"
)

// ProbeTimeout bounds the whole probe; ssh's ConnectTimeout (10 s) bounds
// the connection inside it.
const ProbeTimeout = 30 * time.Second

// ProbeOptions configure Probe.
type ProbeOptions struct {
	SSH        string   // ssh program; "" for "ssh" on PATH
	SSHOptions []string // extra `ssh -o` values, before the defaults (ssh takes an option's first value)
	Timeout    time.Duration
}

// Probe logs in to the service's remote target as syncoid will (same user,
// key, bounds and strict host key checking, BatchMode) and lists the
// target's parent dataset there. It returns an error that says which step
// failed: name resolution, the network, the host key, the login, or zfs on
// the far side.
func Probe(ctx context.Context, svc *manifest.Service, o ProbeOptions) error {
	rep := svc.Replication
	if rep == nil || rep.Host == "" {
		return fmt.Errorf("service %s has no remote replication target", svc.Name)
	}
	for _, opt := range o.SSHOptions {
		if err := preseed.CheckSSHOption(opt); err != nil {
			return err
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = ProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ssh := o.SSH
	if ssh == "" {
		ssh = "ssh"
	}
	argv := []string{"-o", "BatchMode=yes"}
	for _, opt := range append(append([]string(nil), o.SSHOptions...), hostfacts.SSHOptions...) {
		argv = append(argv, "-o", opt)
	}
	if rep.SSHKey != "" {
		argv = append(argv, "-i", rep.SSHKey)
	}
	dest := rep.Host
	if rep.User != "" {
		dest = rep.User + "@" + rep.Host
	}
	parent := rep.Dataset
	if i := strings.LastIndexByte(parent, '/'); i > 0 {
		parent = parent[:i]
	}
	// ssh joins the words into one command line for the remote shell; every
	// word passed manifest.Validate's shell allow-list.
	argv = append(argv, "--", dest, "zfs", "list", "-H", "-o", "name", parent)
	_, err := proc.Cmd{Argv: append([]string{ssh}, argv...), Grace: 5 * time.Second}.Run(ctx)
	if err == nil {
		return nil
	}
	// probeError reads ssh's stderr itself, and quotes an excerpt once.
	stderr := ""
	var pe *proc.Error
	if errors.As(err, &pe) {
		stderr, err = pe.Stderr, pe.Err
	}
	return probeError(ctx, dest, parent, rep.Target, err, stderr)
}

// probeError turns ssh's failure into a sentence that names the cause.
func probeError(ctx context.Context, dest, parent, target string, err error, stderr string) error {
	excerpt := strings.TrimSpace(stderr)
	if len(excerpt) > 500 {
		excerpt = excerpt[len(excerpt)-500:]
	}
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(stderr, x) {
				return true
			}
		}
		return false
	}
	var why string
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		why = "no answer within the probe's time limit"
	case errors.As(err, &ee) && ee.ExitCode() != 255:
		// ssh itself exits 255; anything else is the remote command's.
		why = fmt.Sprintf("the login worked, but `zfs list %s` failed there: the receive parent dataset is missing, or zfs is not on the receive user's PATH", parent)
	case has("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "host key is known", "No matching host key"):
		why = "its host key is not the pinned one (programs.ssh.knownHosts, from the receiving host's ssh_host_key or the replication's known_host_key): a different or reinstalled machine, or a key that changed"
	case has("Permission denied"):
		why = "the login was refused: the receiving host does not authorize this key for the user (its authorized keys come from the replication's ssh_public_key), or the key file is not readable here"
	case has("Could not resolve hostname", "Name or service not known", "Temporary failure in name resolution"):
		why = "its name does not resolve"
	case has("Connection refused"):
		why = "the connection was refused (is sshd running there?)"
	case has("timed out", "No route to host", "Network is unreachable"):
		why = "it does not answer on the network"
	default:
		why = "ssh failed"
	}
	return fmt.Errorf("replication target %s (%s) is not reachable: %s: %v; ssh said: %s", target, dest, why, err, excerpt)
}

// syncoidPrefix starts the names of syncoid's own snapshots
// ("syncoid_<identifier><host>_<date>").
const syncoidPrefix = "syncoid_"

// Lag records the replication lag of the service after a syncoid run.
// After a successful run the newest syncoid snapshot of the source is the
// newest snapshot the target has: syncoid snapshots, sends everything up
// to that snapshot, and only then prunes the older ones. After a failed
// run it is not (the new snapshot may not have arrived), so the time
// recorded by the last success is kept and only the lag grows.
func Lag(ctx context.Context, r *zfs.Runner, m *manifest.Manifest, svc *manifest.Service, success bool, dir string, now time.Time) (metrics.ReplicationLag, error) {
	l := metrics.ReplicationLag{Host: m.Host, Service: svc.Name, Now: now}
	if success {
		snaps, err := r.Snapshots(ctx, svc.Dataset)
		if err != nil {
			return l, fmt.Errorf("listing the snapshots of %s: %w", svc.Dataset, err)
		}
		for _, s := range snaps { // oldest first
			if _, name, _ := strings.Cut(s.Name, "@"); strings.HasPrefix(name, syncoidPrefix) {
				l.Newest = time.Unix(s.Creation, 0)
			}
		}
		if l.Newest.IsZero() {
			return l, fmt.Errorf("syncoid succeeded but %s has no %s* snapshot (was it run with --no-sync-snap?)", svc.Dataset, syncoidPrefix)
		}
	}
	if err := metrics.WriteReplicationLag(dir, &l); err != nil {
		return l, err
	}
	return l, nil
}
