// Package notify delivers nixgen events (a preseed outcome, a failed backup)
// to the notifiers declared in the manifest: ntfy topics and JSON webhooks.
//
// Delivery is best effort by design: each notifier gets a few attempts with
// backoff and a short per-attempt timeout, and a failure is returned to the
// caller for logging only — it must never change the outcome being reported.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
)

// Event is one thing worth telling the operator about.
type Event struct {
	Host    string `json:"host"`
	Service string `json:"service"`
	Event   string `json:"event"`            // e.g. "restored", "skipped", "adopted", "failed", "start-empty"
	Method  string `json:"method,omitempty"` // e.g. "restic"; empty when no method applied
	Message string `json:"message"`
	// Failed marks events that need attention: ntfy gets a high priority.
	Failed bool `json:"failed"`
	// Priority overrides ntfy's priority (min, low, default, high, urgent).
	Priority string    `json:"priority,omitempty"`
	Duration float64   `json:"duration_seconds,omitempty"`
	Time     time.Time `json:"time"`

	// Job results (nixgen-helper notify): the unit, its kind, and the
	// repository for jobs that belong to a repository rather than a service.
	Unit       string `json:"unit,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Repository string `json:"repository,omitempty"`
}

// Sender posts events. The zero value is usable; tests shorten Backoff.
type Sender struct {
	Client   *http.Client  // default: a client without its own timeout (Timeout bounds each attempt)
	Attempts int           // default 3
	Backoff  time.Duration // first pause between attempts, doubled each time; default 1s
	Timeout  time.Duration // per attempt; default 10s
}

func (s *Sender) defaults() (client *http.Client, attempts int, backoff, timeout time.Duration) {
	client, attempts, backoff, timeout = s.Client, s.Attempts, s.Backoff, s.Timeout
	if client == nil {
		client = http.DefaultClient
	}
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return
}

// SendAll delivers ev to each named notifier and returns one error per
// notifier that could not be reached (joined), or nil.
func (s *Sender) SendAll(ctx context.Context, notifiers map[string]manifest.Notifier, names []string, ev Event) error {
	var errs []error
	for _, name := range names {
		n, ok := notifiers[name]
		if !ok {
			errs = append(errs, fmt.Errorf("notifier %q is not declared", name))
			continue
		}
		if err := s.Send(ctx, n, ev); err != nil {
			errs = append(errs, fmt.Errorf("notifier %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Send delivers ev to one notifier, retrying transport errors and 5xx/429 answers.
func (s *Sender) Send(ctx context.Context, n manifest.Notifier, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	token := ""
	if n.TokenFile != "" {
		b, err := os.ReadFile(n.TokenFile)
		if err != nil {
			return fmt.Errorf("reading token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	body, header, err := encode(n.Type, ev)
	if err != nil {
		return err
	}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	client, attempts, backoff, timeout := s.defaults()
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(last, ctx.Err())
			case <-time.After(backoff << (i - 1)):
			}
		}
		retry, err := post(ctx, client, timeout, n.URL, header, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d: %w", i+1, err)
		if !retry {
			break
		}
	}
	return last
}

func encode(typ string, ev Event) ([]byte, http.Header, error) {
	h := http.Header{}
	switch typ {
	case "ntfy":
		// ntfy takes the message as the body and the rest as headers; header
		// values must stay on one line, so control characters are dropped.
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Title", oneLine(fmt.Sprintf("%s: %s %s", ev.Host, ev.subject(), ev.Event)))
		prio := "default"
		tags := []string{"nixgen", ev.Event}
		if ev.Failed {
			prio = "high"
			tags = append(tags, "warning")
		}
		if ev.Priority != "" {
			prio = ev.Priority
		}
		if ev.Method != "" {
			tags = append(tags, ev.Method)
		}
		if ev.Kind != "" {
			tags = append(tags, ev.Kind)
		}
		sort.Strings(tags)
		h.Set("Priority", prio)
		h.Set("Tags", oneLine(strings.Join(tags, ",")))
		return []byte(ev.Message), h, nil
	case "webhook":
		h.Set("Content-Type", "application/json")
		b, err := json.Marshal(ev)
		return b, h, err
	default:
		return nil, nil, fmt.Errorf("unknown notifier type %q", typ)
	}
}

// subject is what the event is about: the service, else the repository
// (prune, check and drill belong to a repository), else the unit.
func (ev Event) subject() string {
	switch {
	case ev.Service != "":
		return ev.Service
	case ev.Repository != "":
		return "repository " + ev.Repository
	}
	return ev.Unit
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// post makes one attempt; retry reports whether another attempt can help.
func post(ctx context.Context, client *http.Client, timeout time.Duration, url string, h http.Header, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("%s answered %s: %q", url, resp.Status, strings.TrimSpace(string(excerpt)))
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, err
}
