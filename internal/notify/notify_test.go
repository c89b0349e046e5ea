package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
)

type received struct {
	header http.Header
	body   []byte
}

func recorder(t *testing.T, fail int) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		got = append(got, received{r.Header.Clone(), b})
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestNtfyHeadersBodyAndToken(t *testing.T) {
	srv, got := recorder(t, 0)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := manifest.Notifier{Type: "ntfy", URL: srv.URL + "/homelab", TokenFile: tok}
	ev := Event{Host: "forge", Service: "sonarr", Event: "failed", Method: "restic", Message: "all methods failed\nsee journal", Failed: true}
	s := &Sender{Backoff: time.Millisecond}
	if err := s.Send(context.Background(), n, ev); err != nil {
		t.Fatal(err)
	}
	r := got()
	if len(r) != 1 {
		t.Fatalf("got %d requests, want 1", len(r))
	}
	h := r[0].header
	if h.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("Authorization = %q", h.Get("Authorization"))
	}
	if h.Get("Title") != "forge: sonarr failed" || h.Get("Priority") != "high" {
		t.Errorf("Title %q Priority %q", h.Get("Title"), h.Get("Priority"))
	}
	for _, tag := range []string{"nixgen", "failed", "restic", "warning"} {
		if !strings.Contains(","+h.Get("Tags")+",", ","+tag+",") {
			t.Errorf("Tags %q lacks %q", h.Get("Tags"), tag)
		}
	}
	if string(r[0].body) != ev.Message {
		t.Errorf("body %q", r[0].body)
	}
}

func TestWebhookJSONAfterRetries(t *testing.T) {
	srv, got := recorder(t, 2)
	n := manifest.Notifier{Type: "webhook", URL: srv.URL}
	ev := Event{Host: "forge", Service: "pg", Event: "restored", Method: "syncoid", Message: "ok"}
	s := &Sender{Backoff: time.Millisecond}
	if err := s.Send(context.Background(), n, ev); err != nil {
		t.Fatal(err)
	}
	r := got()
	if len(r) != 1 {
		t.Fatalf("got %d successful requests, want 1", len(r))
	}
	if r[0].header.Get("Authorization") != "" {
		t.Errorf("unexpected Authorization header")
	}
	var m map[string]any
	if err := json.Unmarshal(r[0].body, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"host": "forge", "service": "pg", "event": "restored", "method": "syncoid", "message": "ok"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %q", k, m[k], want)
		}
	}
}

func TestGivesUpAndReports(t *testing.T) {
	srv, got := recorder(t, 100)
	s := &Sender{Backoff: time.Millisecond, Attempts: 3}
	err := s.SendAll(context.Background(),
		map[string]manifest.Notifier{"a": {Type: "webhook", URL: srv.URL}},
		[]string{"a", "missing"}, Event{Event: "failed"})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("err = %v", err)
	}
	if len(got()) != 0 {
		t.Fatal("no request should have succeeded")
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, "bad token", http.StatusForbidden)
	}))
	defer srv.Close()
	s := &Sender{Backoff: time.Millisecond}
	if err := s.Send(context.Background(), manifest.Notifier{Type: "ntfy", URL: srv.URL}, Event{}); err == nil {
		t.Fatal("want an error")
	}
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
}

// Errors never print what could be a secret in a URL: userinfo and query
// of an inline URL, anything but scheme and host of a URL from url_file.
func TestErrorsRedactURLs(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer failing.Close()
	closed := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	closed.Close() // connection refused: a transport error that quotes the URL
	urlFile := filepath.Join(t.TempDir(), "url")
	s := &Sender{Backoff: time.Millisecond, Attempts: 1}
	for name, base := range map[string]string{"answer": failing.URL, "transport": closed.URL} {
		host := strings.TrimPrefix(base, "http://")
		inline := "http://user:hunter2@" + host + "/topic?auth=hunter2&x=1"
		if err := s.Send(context.Background(), manifest.Notifier{Type: "ntfy", URL: inline}, Event{}); err == nil {
			t.Fatalf("%s: want an error", name)
		} else if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "http://***@"+host+"/topic?***") {
			t.Errorf("%s, inline URL: %v", name, err)
		}
		if err := os.WriteFile(urlFile, []byte(base+"/hooks/T0/B0/hunter2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), manifest.Notifier{Type: "webhook", URLFile: urlFile}, Event{}); err == nil {
			t.Fatalf("%s: want an error", name)
		} else if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), base+"/… (from url_file)") {
			t.Errorf("%s, url_file: %v", name, err)
		}
	}
}

// A URL and a token from files: the posted request uses them; with a
// credentials directory (the notify units' LoadCredential=), its files win.
func TestURLFileAndCredentials(t *testing.T) {
	srv, got := recorder(t, 0)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	n := manifest.Notifier{Type: "ntfy", URLFile: write("url", srv.URL+"/from-file\n"), TokenFile: write("token", "file-token\n")}
	s := &Sender{Backoff: time.Millisecond}
	if err := s.SendAll(context.Background(), map[string]manifest.Notifier{"phone": n}, []string{"phone"}, Event{Message: "one"}); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "creds")
	os.Mkdir(creds, 0o700)
	os.WriteFile(filepath.Join(creds, manifest.CredentialToken("phone")), []byte("cred-token"), 0o600)
	s.Credentials = creds
	if err := s.SendAll(context.Background(), map[string]manifest.Notifier{"phone": n}, []string{"phone"}, Event{Message: "two"}); err != nil {
		t.Fatal(err)
	}
	r := got()
	if len(r) != 2 || r[0].header.Get("Authorization") != "Bearer file-token" || r[1].header.Get("Authorization") != "Bearer cred-token" {
		t.Fatalf("requests: %+v", r)
	}
	// A file that does not hold an http(s) URL is refused, not posted to.
	bad := manifest.Notifier{Type: "ntfy", URLFile: write("bad", "file:///etc/shadow")}
	if err := s.Send(context.Background(), bad, Event{}); err == nil || !strings.Contains(err.Error(), "http:// or https://") {
		t.Errorf("err = %v", err)
	}
}
