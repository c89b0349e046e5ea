package schema

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
)

// DefaultAlerts are the thresholds of the generated alert rules when a
// host has no alerts block or leaves an attribute out.
var DefaultAlerts = model.Alerts{
	ReplicationLagWarning:  12 * time.Hour,
	ReplicationLagCritical: 24 * time.Hour,
	BackupFailingWarning:   24 * time.Hour,
	BackupFailingCritical:  48 * time.Hour,
	SnapshotAgeWarning:     48 * time.Hour,
	PruneAgeWarning:        9 * 24 * time.Hour,
	CheckAgeWarning:        35 * 24 * time.Hour,
	DrillAgeWarning:        9 * 24 * time.Hour,
	ScrubAgeWarning:        35 * 24 * time.Hour,
	CapacityWarning:        80,
	CapacityCritical:       90,
}

// minAlertAge keeps an age threshold above the metrics' own refresh
// (nixgen-metrics runs every 5 minutes): a shorter one would flap.
const minAlertAge = 10 * time.Minute

func resolveAlerts(c *checker, a *rawAlerts) model.Alerts {
	out := DefaultAlerts
	if a == nil {
		return out
	}
	age := func(s string, rng hcl.Range, dst *time.Duration) {
		if !set(rng) || !c.nonEmpty(s, rng, "threshold") {
			return
		}
		d, err := parseDuration(s)
		switch {
		case err != nil:
			c.errorf(rng, "Invalid duration", "%s.", err)
		case d < minAlertAge:
			c.errorf(rng, "Threshold too short", "%q is shorter than %dm; the metrics are refreshed every 5 minutes, so the alert would flap.", s, minAlertAge/time.Minute)
		default:
			*dst = d
		}
	}
	age(a.ReplicationLagWarning, a.ReplicationLagWarningRange, &out.ReplicationLagWarning)
	age(a.ReplicationLagCritical, a.ReplicationLagCriticalRange, &out.ReplicationLagCritical)
	age(a.BackupFailingWarning, a.BackupFailingWarningRange, &out.BackupFailingWarning)
	age(a.BackupFailingCritical, a.BackupFailingCriticalRange, &out.BackupFailingCritical)
	age(a.SnapshotAgeWarning, a.SnapshotAgeWarningRange, &out.SnapshotAgeWarning)
	age(a.PruneAgeWarning, a.PruneAgeWarningRange, &out.PruneAgeWarning)
	age(a.CheckAgeWarning, a.CheckAgeWarningRange, &out.CheckAgeWarning)
	age(a.DrillAgeWarning, a.DrillAgeWarningRange, &out.DrillAgeWarning)
	age(a.ScrubAgeWarning, a.ScrubAgeWarningRange, &out.ScrubAgeWarning)
	percent := func(n int, rng hcl.Range, dst *int) {
		if !set(rng) || !c.usable(rng) {
			return
		}
		if n < 1 || n > 100 {
			c.errorf(rng, "Invalid percentage", "A capacity threshold is a percentage from 1 to 100, not %d.", n)
			return
		}
		*dst = n
	}
	percent(a.CapacityWarning, a.CapacityWarningRange, &out.CapacityWarning)
	percent(a.CapacityCritical, a.CapacityCriticalRange, &out.CapacityCritical)

	// A warning that comes after the critical alert warns of nothing.
	for _, o := range []struct {
		warn, crit         string
		below              bool
		warnRng, critRange hcl.Range
	}{
		{"replication_lag_warning", "replication_lag_critical", out.ReplicationLagWarning < out.ReplicationLagCritical, a.ReplicationLagWarningRange, a.ReplicationLagCriticalRange},
		{"backup_failing_warning", "backup_failing_critical", out.BackupFailingWarning < out.BackupFailingCritical, a.BackupFailingWarningRange, a.BackupFailingCriticalRange},
		{"capacity_warning", "capacity_critical", out.CapacityWarning < out.CapacityCritical, a.CapacityWarningRange, a.CapacityCriticalRange},
	} {
		if !o.below {
			c.errorf(laterRange(o.warnRng, o.critRange, a.DefRange), "Warning after critical", "%s must be below %s.", o.warn, o.crit)
		}
	}
	return out
}

// laterRange is where to report a pair that conflicts: the attribute the
// user wrote (the second one when both are), else the block.
func laterRange(a, b, block hcl.Range) hcl.Range {
	switch {
	case set(b):
		return b
	case set(a):
		return a
	}
	return block
}
