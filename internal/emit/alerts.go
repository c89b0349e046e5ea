package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	nixmodel "github.com/nixgen/nixgen/internal/model"
)

// alertRule is one Prometheus alerting rule of a host's alerts.rules.yml.
type alertRule struct {
	Alert       string
	Expr        string
	For         time.Duration // 0: none
	Severity    string        // "warning" | "critical"
	Summary     string        // Prometheus templates ({{ $labels.x }}) allowed
	Description string
}

// alertRules are the rules of host h. Every selector of a metric that
// carries the host label (all of nixgen's but preseed's) is limited to h,
// so one Prometheus can load the files of several hosts, each with its
// own thresholds. Ages are compared in seconds: PromQL has no duration
// literals in expressions.
func alertRules(h *nixmodel.Host) []alertRule {
	a := h.Alerts
	sel := func(metric string, matchers ...string) string {
		return metric + "{" + strings.Join(append([]string{"host=" + promString(h.Name)}, matchers...), ",") + "}"
	}
	age := func(metric string, d time.Duration) string {
		return fmt.Sprintf("time() - %s > %d", sel(metric), int64(d/time.Second))
	}
	var rules []alertRule
	add := func(r alertRule) { rules = append(rules, r) }

	// Replication and backups that stopped succeeding, whatever the reason
	// (failing, timer disabled, wrapper stuck on a lock).
	for _, sev := range []struct {
		name string
		lag  time.Duration
		bak  time.Duration
	}{{"warning", a.ReplicationLagWarning, a.BackupFailingWarning}, {"critical", a.ReplicationLagCritical, a.BackupFailingCritical}} {
		add(alertRule{Alert: "NixgenReplicationLag", Severity: sev.name,
			// The age of the newest snapshot the target has (nixgen-helper
			// replication lag), not of syncoid's last success: a run that
			// succeeds without sending anything new does not hide the lag.
			Expr:        age("nixgen_replication_last_snapshot_timestamp_seconds", sev.lag),
			Summary:     "the replica of {{ $labels.service }} from {{ $labels.host }} is {{ $value | humanizeDuration }} behind",
			Description: fmt.Sprintf("The newest snapshot the replication target has of {{ $labels.service }} is older than %s: see the journal of its syncoid unit (docs/replication.md#health).", promDuration(sev.lag))})
		add(alertRule{Alert: "NixgenBackupFailing", Severity: sev.name,
			Expr:        age("nixgen_backup_last_success_timestamp_seconds", sev.bak),
			Summary:     "no successful backup of {{ $labels.service }} on {{ $labels.host }} for {{ $value | humanizeDuration }}",
			Description: fmt.Sprintf("restic has not backed up {{ $labels.service }} to {{ $labels.repository }} for more than %s. journalctl -u {{ $labels.unit }}", promDuration(sev.bak))})
	}
	add(alertRule{Alert: "NixgenPreseedFailed", Severity: "critical",
		Expr:        "nixgen_preseed_status == 0 or nixgen_preseed_status == 4",
		Summary:     "preseed of {{ $labels.service }} on {{ $labels.instance }} failed",
		Description: "Every restore method failed: the service is blocked (status 0) or started with an empty dataset (status 4). nixgen-helper preseed status; journalctl -u nixgen-preseed-{{ $labels.service }}"})
	capacity := fmt.Sprintf("100 * %s / (%s + %s)", sel("nixgen_dataset_used_bytes"), sel("nixgen_dataset_used_bytes"), sel("nixgen_dataset_available_bytes"))
	for _, c := range []struct {
		sev string
		pct int
	}{{"warning", a.CapacityWarning}, {"critical", a.CapacityCritical}} {
		add(alertRule{Alert: "NixgenDatasetCapacity", Severity: c.sev,
			Expr:        fmt.Sprintf("%s > %d", capacity, c.pct),
			Summary:     "dataset {{ $labels.dataset }} on {{ $labels.host }} is {{ $value | printf \"%.0f\" }}% full",
			Description: fmt.Sprintf("More than %d%% of the space of {{ $labels.service }}'s dataset (its quota, or the pool) is used.", c.pct)})
	}
	snapAge := int64(a.SnapshotAgeWarning / time.Second)
	newest := sel("nixgen_dataset_newest_snapshot_timestamp_seconds")
	add(alertRule{Alert: "NixgenSnapshotStale", Severity: "warning",
		Expr:        fmt.Sprintf("(time() - %s > %d) and %s > 0", newest, snapAge, newest),
		Summary:     "the newest snapshot of {{ $labels.dataset }} on {{ $labels.host }} is {{ $value | humanizeDuration }} old",
		Description: fmt.Sprintf("sanoid should snapshot this dataset; its newest snapshot is older than %s.", promDuration(a.SnapshotAgeWarning))})
	add(alertRule{Alert: "NixgenSnapshotMissing", Severity: "warning", For: a.SnapshotAgeWarning,
		Expr:        newest + " == 0",
		Summary:     "{{ $labels.dataset }} on {{ $labels.host }} has no snapshot",
		Description: fmt.Sprintf("sanoid should snapshot this dataset, and it has had none for %s.", promDuration(a.SnapshotAgeWarning))})
	add(alertRule{Alert: "NixgenPoolUnhealthy", Severity: "critical",
		Expr:        sel("nixgen_pool_health", `state!="ONLINE"`) + " == 1",
		Summary:     "pool {{ $labels.pool }} on {{ $labels.host }} is {{ $labels.state }}",
		Description: "zpool status {{ $labels.pool }} (MISSING: the manifest uses the pool, but it is not imported)."})
	add(alertRule{Alert: "NixgenPoolScrubErrors", Severity: "critical",
		Expr:        sel("nixgen_pool_scrub_errors") + " > 0",
		Summary:     "the last scrub of pool {{ $labels.pool }} on {{ $labels.host }} found {{ $value }} errors",
		Description: "zpool status -v {{ $labels.pool }}"})
	add(alertRule{Alert: "NixgenPoolScrubStale", Severity: "warning",
		Expr:        age("nixgen_pool_last_scrub_end_timestamp_seconds", a.ScrubAgeWarning),
		Summary:     "pool {{ $labels.pool }} on {{ $labels.host }} was last scrubbed {{ $value | humanizeDuration }} ago",
		Description: fmt.Sprintf("No scrub has completed for more than %s.", promDuration(a.ScrubAgeWarning))})
	add(alertRule{Alert: "NixgenPropertyDrift", Severity: "warning", For: time.Hour,
		Expr:        sel("nixgen_dataset_property_drift") + " > 0",
		Summary:     "{{ $value }} managed properties of {{ $labels.dataset }} on {{ $labels.host }} differ from the specs",
		Description: "nixgen-helper datasets plan shows them; a create-time-only property cannot be changed on an existing dataset."})

	// Jobs the manifest expects that never succeeded: no textfile, so the
	// age rules above cannot fire. The for: gives a new job its first run.
	for _, j := range []struct {
		kind, prefix string
		grace        time.Duration
	}{
		{"backup", "nixgen_backup", a.BackupFailingWarning},
		{"replication", "nixgen_replication", a.ReplicationLagWarning},
		{"snapshot", "nixgen_snapshot", a.SnapshotAgeWarning},
		{"prune", "nixgen_restic_prune", a.PruneAgeWarning},
		{"check", "nixgen_restic_check", a.CheckAgeWarning},
		{"drill", "nixgen_restore_drill", a.DrillAgeWarning},
	} {
		add(alertRule{Alert: "NixgenJobNeverSucceeded", Severity: "warning", For: j.grace,
			Expr:        fmt.Sprintf("%s unless on(host, unit) %s_last_success_timestamp_seconds", sel("nixgen_job_info", "kind="+promString(j.kind)), j.prefix),
			Summary:     "{{ $labels.unit }} on {{ $labels.host }} has never succeeded",
			Description: fmt.Sprintf("The %s job is expected on this host, but it has not reported a success in %s: it never ran, or failed every time. systemctl list-timers; journalctl -u {{ $labels.unit }}", j.kind, promDuration(j.grace))})
	}
	for _, j := range []struct {
		alert, metric, what string
		d                   time.Duration
	}{
		{"NixgenSanoidStale", "nixgen_snapshot_last_success_timestamp_seconds", "sanoid has", a.SnapshotAgeWarning},
		{"NixgenPruneStale", "nixgen_restic_prune_last_success_timestamp_seconds", "repository {{ $labels.repository }} has not been pruned; its prune has", a.PruneAgeWarning},
		{"NixgenCheckStale", "nixgen_restic_check_last_success_timestamp_seconds", "repository {{ $labels.repository }} has not passed restic check; the check has", a.CheckAgeWarning},
		{"NixgenRestoreDrillStale", "nixgen_restore_drill_last_success_timestamp_seconds", "repository {{ $labels.repository }} has no recent restore drill; the drill has", a.DrillAgeWarning},
	} {
		add(alertRule{Alert: j.alert, Severity: "warning", Expr: age(j.metric, j.d),
			Summary:     "{{ $labels.unit }} on {{ $labels.host }} has not succeeded for {{ $value | humanizeDuration }}",
			Description: fmt.Sprintf("%s not succeeded for more than %s. journalctl -u {{ $labels.unit }}", j.what, promDuration(j.d))})
	}
	add(alertRule{Alert: "NixgenRestoreDrillFailed", Severity: "critical",
		Expr:        sel("nixgen_restore_drill_status") + " == 0",
		Summary:     "the restore drill of repository {{ $labels.repository }} failed on {{ $labels.host }}",
		Description: "The backups may not restore. journalctl -u {{ $labels.unit }}"})

	// The node exporter's own view of the textfiles (no host label).
	add(alertRule{Alert: "NixgenHostMetricsStale", Severity: "warning",
		Expr:        `time() - node_textfile_mtime_seconds{file=~"(.*/)?nixgen_host[.]prom"} > 1800`,
		Summary:     "nixgen_host.prom on {{ $labels.instance }} was last written {{ $value | humanizeDuration }} ago",
		Description: "nixgen-metrics.timer writes it every 5 minutes; while it is stale the pool and dataset alerts see old values. systemctl status nixgen-metrics.service"})
	add(alertRule{Alert: "NixgenTextfileUnreadable", Severity: "warning", For: 15 * time.Minute,
		Expr:        "node_textfile_scrape_error == 1",
		Summary:     "the node exporter on {{ $labels.instance }} cannot read a textfile",
		Description: "A malformed file in the textfile directory hides every metric of the directory."})
	return rules
}

// renderAlerts is generated/<host>/alerts.rules.yml.
func renderAlerts(h *nixmodel.Host) []byte { return writeAlerts(h, true) }

// writeAlerts writes the rules, without their annotations for promtool's
// unit tests, which compare annotations too and are about when alerts fire.
func writeAlerts(h *nixmodel.Host, annotations bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Code generated by nixgen. DO NOT EDIT.\n")
	fmt.Fprintf(&b, "# Prometheus alerting rules of host %s, thresholds from its alerts block\n", h.Name)
	fmt.Fprintf(&b, "# (docs/alerts.md). monitoring.nix loads them when services.prometheus is\n")
	fmt.Fprintf(&b, "# enabled on the host; another Prometheus can load this file as it is.\n")
	fmt.Fprintf(&b, "groups:\n  - name: %s\n    rules:\n", yamlString("nixgen-"+h.Name))
	for _, r := range alertRules(h) {
		fmt.Fprintf(&b, "      - alert: %s\n", r.Alert)
		fmt.Fprintf(&b, "        expr: %s\n", yamlString(r.Expr))
		if r.For > 0 {
			fmt.Fprintf(&b, "        for: %s\n", promDuration(r.For))
		}
		fmt.Fprintf(&b, "        labels:\n          severity: %s\n", r.Severity)
		if annotations {
			fmt.Fprintf(&b, "        annotations:\n          summary: %s\n          description: %s\n", yamlString(r.Summary), yamlString(r.Description))
		}
	}
	return b.Bytes()
}

// yamlString quotes s for YAML: single-quoted (only ' is doubled, nothing
// else is special) when s is printable text, else as a JSON string, which
// YAML reads as the same double-quoted scalar.
func yamlString(s string) string {
	printable := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			printable = false
		}
	}
	if printable {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(out.String(), "\n")
}

// promDuration writes d in Prometheus's duration syntax ("9d", "1d12h") as
// the Prometheus client's model.Duration.String does (a test compares them):
// whole milliseconds, years and weeks only when nothing smaller remains.
// nixgen does not link that package for this one function: it brings the
// client's protobuf types, whose initialisation every nixgen run paid for.
func promDuration(d time.Duration) string {
	ms := int64(d / time.Millisecond)
	if ms == 0 {
		return "0s"
	}
	var b []byte
	if ms < 0 {
		b, ms = append(b, '-'), -ms
	}
	for _, u := range []struct {
		unit  string
		mult  int64
		exact bool
	}{
		{"y", 1000 * 60 * 60 * 24 * 365, true},
		{"w", 1000 * 60 * 60 * 24 * 7, true},
		{"d", 1000 * 60 * 60 * 24, false},
		{"h", 1000 * 60 * 60, false},
		{"m", 1000 * 60, false},
		{"s", 1000, false},
		{"ms", 1, false},
	} {
		if u.exact && ms%u.mult != 0 {
			continue
		}
		if v := ms / u.mult; v > 0 {
			b = append(strconv.AppendInt(b, v, 10), u.unit...)
			ms -= v * u.mult
		}
	}
	return string(b)
}

// promString quotes a PromQL label value.
func promString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
