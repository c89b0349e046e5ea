package jobreport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/metrics"
	"github.com/nixgen/nixgen/internal/notify"
)

type request struct {
	Path   string
	Header http.Header
	Body   string
}

// receiver is a local HTTP server standing in for ntfy and a webhook.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	status int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.URL.Path, req.Header.Clone(), string(b)})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func testManifest(url string) *manifest.Manifest {
	return &manifest.Manifest{
		Version: manifest.Version, Host: "nas",
		Parent:       manifest.Parent{Dataset: "tank/services", Pool: "tank"},
		Repositories: map[string]manifest.Repository{"main": {URL: "/srv/restic", PasswordFile: "/run/keys/restic"}},
		Notifiers: map[string]manifest.Notifier{
			// The webhook hears of every result, the phone of the default
			// events: failures and recoveries.
			"hook":  {Type: "webhook", URL: url + "/hook", Events: []string{"failure", "success"}},
			"phone": {Type: "ntfy", URL: url + "/alerts"},
		},
		Services: []manifest.Service{{Name: "app", Unit: "app.service", Dataset: "tank/services/app",
			Mountpoint: "/srv/app", User: "app", Group: "app", Mode: "0750",
			Backup: &manifest.Backup{Repository: "main", Paths: []string{"/srv/app"}}}},
		Jobs: []manifest.Job{
			{Unit: "restic-backups-app.service", Kind: manifest.JobBackup, Service: "app", Repository: "main",
				Notify: []string{"hook", "phone"}},
			{Unit: "restic-prune-main.service", Kind: manifest.JobPrune, Repository: "main", Notify: []string{"hook"}},
		},
	}
}

func parseFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return fams
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily, name string) (float64, map[string]string) {
	t.Helper()
	fam := fams[name]
	if fam == nil || len(fam.Metric) != 1 {
		t.Fatalf("metric %s: %v", name, fam)
	}
	labels := map[string]string{}
	for _, l := range fam.Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	return fam.Metric[0].GetGauge().GetValue(), labels
}

func TestFailureAndSuccessReports(t *testing.T) {
	rcv := newReceiver(t)
	m := testManifest(rcv.srv.URL)
	dir := t.TempDir()
	t1 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	opts := func(unit string, success bool, at time.Time) Options {
		return Options{Manifest: m, Unit: unit, Success: success, TextfileDir: dir,
			Notify: &notify.Sender{Attempts: 1}, Now: func() time.Time { return at }}
	}
	ctx := context.Background()
	file := metrics.JobFile(dir, "restic-backups-app.service")

	// A successful backup is recorded, and told only to the notifier that
	// wants every success.
	rep, err := Run(ctx, opts("restic-backups-app.service", true, t1))
	if err != nil || rep.NotifyErr != nil {
		t.Fatalf("err %v, notify err %v", err, rep.NotifyErr)
	}
	got := rcv.take()
	if len(got) != 1 || got[0].Path != "/hook" || rep.Event != "success" {
		t.Fatalf("got %+v (event %s), want the webhook only", got, rep.Event)
	}
	fams := parseFile(t, file)
	if v, labels := gauge(t, fams, "nixgen_backup_status"); v != 1 ||
		labels["host"] != "nas" || labels["service"] != "app" || labels["repository"] != "main" || labels["unit"] != "restic-backups-app.service" {
		t.Errorf("status %v labels %v", v, labels)
	}
	if v, _ := gauge(t, fams, "nixgen_backup_last_success_timestamp_seconds"); v != float64(t1.Unix()) {
		t.Errorf("last success %v, want %d", v, t1.Unix())
	}

	// The next run fails: both notifiers hear it, the last success stays.
	rep, err = Run(ctx, opts("restic-backups-app.service", false, t2))
	if err != nil || rep.NotifyErr != nil || rep.Event != "failure" {
		t.Fatalf("err %v, notify err %v, event %s", err, rep.NotifyErr, rep.Event)
	}
	got = rcv.take()
	if len(got) != 2 {
		t.Fatalf("got %d requests for the failure, want 2", len(got))
	}
	byPath := map[string]request{}
	for _, r := range got {
		byPath[r.Path] = r
	}
	var ev notify.Event
	if err := json.Unmarshal([]byte(byPath["/hook"].Body), &ev); err != nil {
		t.Fatalf("webhook body: %v", err)
	}
	if ev.Event != "failure" || !ev.Failed || ev.Host != "nas" || ev.Service != "app" ||
		ev.Unit != "restic-backups-app.service" || ev.Kind != "backup" || ev.Repository != "main" {
		t.Errorf("webhook event %+v", ev)
	}
	if !strings.Contains(ev.Message, "last journal lines:") {
		t.Errorf("message has no journal excerpt: %q", ev.Message)
	}
	ntfy := byPath["/alerts"]
	if ntfy.Header.Get("Title") != "nas: app failure" || ntfy.Header.Get("Priority") != "high" ||
		!strings.Contains(ntfy.Body, "restic-backups-app.service") {
		t.Errorf("ntfy request: title %q priority %q body %q", ntfy.Header.Get("Title"), ntfy.Header.Get("Priority"), ntfy.Body)
	}
	fams = parseFile(t, file)
	if v, _ := gauge(t, fams, "nixgen_backup_status"); v != 0 {
		t.Errorf("status after failure %v", v)
	}
	if v, _ := gauge(t, fams, "nixgen_backup_last_run_timestamp_seconds"); v != float64(t2.Unix()) {
		t.Errorf("last run %v, want %d", v, t2.Unix())
	}
	if v, _ := gauge(t, fams, "nixgen_backup_last_success_timestamp_seconds"); v != float64(t1.Unix()) {
		t.Errorf("last success after a failure %v, want the earlier %d", v, t1.Unix())
	}

	// The next success is a recovery: the phone hears of it too. The one
	// after is routine again.
	t3 := t2.Add(24 * time.Hour)
	rep, err = Run(ctx, opts("restic-backups-app.service", true, t3))
	if err != nil || rep.Event != "recovery" {
		t.Fatalf("err %v, event %s, want recovery", err, rep.Event)
	}
	got = rcv.take()
	if len(got) != 2 {
		t.Fatalf("recovery: %d requests, want webhook and ntfy", len(got))
	}
	for _, r := range got {
		if r.Path == "/alerts" && (r.Header.Get("Title") != "nas: app recovery" || r.Header.Get("Priority") != "default") {
			t.Errorf("ntfy recovery: title %q priority %q", r.Header.Get("Title"), r.Header.Get("Priority"))
		}
	}
	rep, err = Run(ctx, opts("restic-backups-app.service", true, t3.Add(time.Hour)))
	if err != nil || rep.Event != "success" {
		t.Fatalf("err %v, event %s, want success", err, rep.Event)
	}
	if got := rcv.take(); len(got) != 1 || got[0].Path != "/hook" {
		t.Errorf("routine success after a recovery: %+v", got)
	}

	// A prune success is recorded, with repository-only labels, and told
	// to its repository's notifier, which wants every success.
	if _, err := Run(ctx, opts("restic-prune-main.service", true, t2)); err != nil {
		t.Fatal(err)
	}
	if got := rcv.take(); len(got) != 1 {
		t.Errorf("prune success sent %d notifications, want 1", len(got))
	}
	fams = parseFile(t, metrics.JobFile(dir, "restic-prune-main.service"))
	if v, labels := gauge(t, fams, "nixgen_restic_prune_status"); v != 1 || labels["repository"] != "main" || len(labels) != 3 {
		t.Errorf("prune status %v labels %v", v, labels)
	}

	// A failed prune is announced to its repository's notifier only.
	if _, err := Run(ctx, opts("restic-prune-main.service", false, t2)); err != nil {
		t.Fatal(err)
	}
	got = rcv.take()
	if len(got) != 1 || got[0].Path != "/hook" || !strings.Contains(got[0].Body, `"repository":"main"`) {
		t.Errorf("prune failure requests %+v", got)
	}
}

func TestUnreachableNotifierDoesNotFail(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status = http.StatusInternalServerError
	dir := t.TempDir()
	rep, err := Run(context.Background(), Options{Manifest: testManifest(rcv.srv.URL), Unit: "restic-backups-app.service",
		TextfileDir: dir, Notify: &notify.Sender{Attempts: 2, Backoff: time.Millisecond}})
	if err != nil {
		t.Fatalf("a notifier failure failed the report: %v", err)
	}
	if rep.NotifyErr == nil {
		t.Fatal("the notifier failure was not reported")
	}
	if got := len(rcv.take()); got != 4 {
		t.Errorf("%d attempts, want 2 per notifier", got)
	}
	if _, err := os.Stat(metrics.JobFile(dir, "restic-backups-app.service")); err != nil {
		t.Errorf("metrics not written: %v", err)
	}
}

func TestUnknownUnit(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	_, err := Run(context.Background(), Options{Manifest: testManifest(rcv.srv.URL), Unit: "sshd.service", TextfileDir: dir})
	if !errors.Is(err, ErrUnknownUnit) {
		t.Fatalf("err = %v", err)
	}
	if len(rcv.take()) != 0 {
		t.Error("an unknown unit was announced")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files written: %v", ents)
	}
}

func TestMissingJournalctl(t *testing.T) {
	rcv := newReceiver(t)
	rep, err := Run(context.Background(), Options{Manifest: testManifest(rcv.srv.URL), Unit: "restic-backups-app.service",
		Journalctl: filepath.Join(t.TempDir(), "no-journalctl"), Systemctl: filepath.Join(t.TempDir(), "no-systemctl"),
		Notify: &notify.Sender{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Excerpt, "journal not available") || !strings.Contains(rep.Excerpt, "no-journalctl") {
		t.Errorf("excerpt %q", rep.Excerpt)
	}
	if rep.Duration != 0 {
		t.Errorf("duration %v without systemctl", rep.Duration)
	}
	if len(rcv.take()) != 2 {
		t.Error("not sent")
	}
}

func TestParseMainDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"ExecMainStartTimestampMonotonic=1000000\nExecMainExitTimestampMonotonic=91500000\n", 90500 * time.Millisecond},
		{"ExecMainExitTimestampMonotonic=5\nExecMainStartTimestampMonotonic=2\n", 3 * time.Microsecond},
		{"ExecMainStartTimestampMonotonic=0\nExecMainExitTimestampMonotonic=0\n", 0},
		{"ExecMainStartTimestampMonotonic=100\nExecMainExitTimestampMonotonic=0\n", 0}, // still running
		{"ExecMainStartTimestampMonotonic=\n", 0},
		{"", 0},
	} {
		if got := ParseMainDuration([]byte(c.in)); got != c.want {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// fakeSystemctl writes a systemctl that prints show output.
func fakeSystemctl(t *testing.T, show string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "systemctl")
	if err := os.WriteFile(p, []byte("#!/bin/sh\ncat <<'EOF'\n"+show+"EOF\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A job stopped by a switch (or a shutdown) is not a failure page, and
// records nothing; a job killed by its time limit is a failure.
func TestStopBySIGTERMIsNotPaged(t *testing.T) {
	const times = "ExecMainStartTimestampMonotonic=1000000\nExecMainExitTimestampMonotonic=2000000\n"
	for _, c := range []struct {
		name, show string
		paged      bool
	}{
		{"killed by SIGTERM", times + "Result=signal\nExecMainCode=2\nExecMainStatus=15\n", false},
		{"exit 143", times + "Result=exit-code\nExecMainCode=1\nExecMainStatus=143\n", false},
		{"restic interrupted", times + "Result=exit-code\nExecMainCode=1\nExecMainStatus=130\n", false},
		{"time limit", times + "Result=timeout\nExecMainCode=2\nExecMainStatus=15\n", true},
		{"killed by SIGKILL", times + "Result=signal\nExecMainCode=2\nExecMainStatus=9\n", true},
		{"exit 1", times + "Result=exit-code\nExecMainCode=1\nExecMainStatus=1\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := newReceiver(t)
			dir := t.TempDir()
			rep, err := Run(context.Background(), Options{Manifest: testManifest(rcv.srv.URL), Unit: "restic-backups-app.service",
				TextfileDir: dir, Journalctl: filepath.Join(t.TempDir(), "no-journalctl"), Systemctl: fakeSystemctl(t, c.show),
				Notify: &notify.Sender{Attempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			sent := len(rcv.take())
			ents, _ := os.ReadDir(dir)
			if c.paged && (sent != 2 || len(ents) == 0 || rep.Stopped) {
				t.Errorf("sent %d, files %d, stopped %v: want a failure page and metrics", sent, len(ents), rep.Stopped)
			}
			if !c.paged && (sent != 0 || len(ents) != 0 || !rep.Stopped) {
				t.Errorf("sent %d, files %d, stopped %v: want nothing", sent, len(ents), rep.Stopped)
			}
		})
	}
}

// The notifiers half of a split report (--only notifiers) reads the last
// result from the textfile directory without writing to it.
func TestRecoveryFromStateDirWithoutWriting(t *testing.T) {
	rcv := newReceiver(t)
	m := testManifest(rcv.srv.URL)
	dir := t.TempDir()
	ctx := context.Background()
	unit := "restic-backups-app.service"
	if err := metrics.WriteJob(dir, metrics.Job{Kind: manifest.JobBackup, Host: "nas", Unit: unit, Service: "app", Repository: "main", Finished: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(metrics.JobFile(dir, unit))
	rep, err := Run(ctx, Options{Manifest: m, Unit: unit, Success: true, StateDir: dir, Notify: &notify.Sender{Attempts: 1}})
	if err != nil || rep.Event != "recovery" || len(rcv.take()) != 2 {
		t.Fatalf("err %v, event %s: want a recovery told to both", err, rep.Event)
	}
	if after, _ := os.ReadFile(metrics.JobFile(dir, unit)); !bytes.Equal(before, after) {
		t.Error("the notifiers half wrote the textfile")
	}
}
