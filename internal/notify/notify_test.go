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
