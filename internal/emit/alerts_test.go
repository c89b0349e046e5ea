package emit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/schema"
)

// promtool checks every committed rules file (goldens and the example
// tree) and runs testdata/alerts*.test.yml, which fire and do not fire
// each alert, against the rules for host "h" with the default thresholds.
func TestAlertRulesPromtool(t *testing.T) {
	promtool := e2e.Tool(t, "promtool")
	var files []string
	for _, pattern := range []string{"../../golden/valid/*/out/*/alerts.rules.yml", "../../generated/*/alerts.rules.yml"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no generated alerts.rules.yml found")
	}
	dir := t.TempDir()
	h := &model.Host{Name: "h", Alerts: schema.DefaultAlerts}
	full := filepath.Join(dir, "full.rules.yml")
	if err := os.WriteFile(full, renderAlerts(h), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, append([]string{"check", "rules", full}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	if err := os.WriteFile(filepath.Join(dir, "alerts.rules.yml"), writeAlerts(h, false), 0o644); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, name := range []string{"alerts.test.yml", "alerts-minutes.test.yml"} {
		tests, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tests...)
		if err := os.WriteFile(filepath.Join(dir, name), tests, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "test", "rules", "alerts.test.yml", "alerts-minutes.test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// Every alert has a test.
	for _, r := range alertRules(h) {
		if !strings.Contains(string(all), "alertname: "+r.Alert+"\n") {
			t.Errorf("alert %s has no promtool test", r.Alert)
		}
	}
}

// A host's alerts block reaches its expressions and for: clauses.
func TestAlertThresholds(t *testing.T) {
	a := schema.DefaultAlerts
	a.ReplicationLagCritical = 36 * time.Hour
	a.CapacityCritical = 95
	a.DrillAgeWarning = 10 * 24 * time.Hour
	rules := string(renderAlerts(&model.Host{Name: "forge", Alerts: a}))
	for _, want := range []string{
		`nixgen_replication_last_snapshot_timestamp_seconds{host="forge"} > 129600`,
		`{host="forge"}) > 95'`,
		`nixgen_restore_drill_last_success_timestamp_seconds{host="forge"} > 864000`,
		"for: 10d",
		"name: 'nixgen-forge'",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q", want)
		}
	}
	if strings.Contains(rules, "> 86400'\n        labels:\n          severity: critical\n        annotations:\n          summary: 'no successful replication") {
		t.Error("the default replication_lag_critical is still there")
	}
}

func TestYAMLString(t *testing.T) {
	for in, want := range map[string]string{
		`a{x="y"} > 1`: `'a{x="y"} > 1'`,
		"it's":         `'it''s'`,
		"two\nlines":   `"two\nlines"`,
	} {
		if got := yamlString(in); got != want {
			t.Errorf("yamlString(%q) = %s, want %s", in, got, want)
		}
	}
}
