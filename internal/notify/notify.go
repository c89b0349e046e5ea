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
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/rules"
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
	// Credentials is a systemd credentials directory ($CREDENTIALS_DIRECTORY).
	// SendAll reads a notifier's token and URL file from it, under the names
	// manifest.CredentialToken and CredentialURL, when they are there: the
	// generated notify units run as a dynamic user and get the root-only
	// files through LoadCredential=. "" reads token_file and url_file.
	Credentials string
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
		if err := s.send(ctx, name, n, ev); err != nil {
			errs = append(errs, fmt.Errorf("notifier %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// SendEvent delivers ev to those of the named notifiers that want event
// (a rules.Event* name; manifest.Notifier.Wants).
func (s *Sender) SendEvent(ctx context.Context, notifiers map[string]manifest.Notifier, names []string, event string, ev Event) error {
	var to []string
	for _, name := range names {
		if n, ok := notifiers[name]; !ok || n.Wants(event) {
			to = append(to, name) // an undeclared one is SendAll's error
		}
	}
	return s.SendAll(ctx, notifiers, to, ev)
}

// Send delivers ev to one notifier, retrying transport errors and 5xx/429 answers.
func (s *Sender) Send(ctx context.Context, n manifest.Notifier, ev Event) error {
	return s.send(ctx, "", n, ev)
}

// readSecret reads a token or URL file: from the credentials directory
// when it has the credential, else from path.
func (s *Sender) readSecret(credential, path string) (string, error) {
	if s.Credentials != "" && credential != "" {
		b, err := os.ReadFile(filepath.Join(s.Credentials, credential))
		if err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// target returns the URL to post to and how to print it: a URL from
// url_file may carry its secret anywhere (Slack and Discord put it in the
// path), so only its scheme and host are ever shown; an inline URL is
// shown without userinfo and query (rules.RedactURL).
func (s *Sender) target(name string, n manifest.Notifier) (target, shown string, err error) {
	if n.URLFile == "" {
		return n.URL, rules.RedactURL(n.URL), nil
	}
	cred := ""
	if name != "" {
		cred = manifest.CredentialURL(name)
	}
	u, err := s.readSecret(cred, n.URLFile)
	if err != nil {
		return "", "", fmt.Errorf("reading url_file: %w", err)
	}
	if msg := rules.HTTPURL(u); msg != "" {
		return "", "", fmt.Errorf("the URL in url_file %s %s", n.URLFile, msg)
	}
	p, _ := url.Parse(u)
	return u, p.Scheme + "://" + p.Host + "/… (from url_file)", nil
}

func (s *Sender) send(ctx context.Context, name string, n manifest.Notifier, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	target, shown, err := s.target(name, n)
	if err != nil {
		return err
	}
	token := ""
	if n.TokenFile != "" {
		cred := ""
		if name != "" {
			cred = manifest.CredentialToken(name)
		}
		if token, err = s.readSecret(cred, n.TokenFile); err != nil {
			return fmt.Errorf("reading token: %w", err)
		}
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
		retry, err := post(ctx, client, timeout, target, shown, header, body)
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
// Errors name the URL as shown, never as posted: it may hold a secret.
func post(ctx context.Context, client *http.Client, timeout time.Duration, target, shown string, h http.Header, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: invalid URL", shown)
	}
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// net/http strips a password from the URL it quotes, not a
			// token in the query or the path.
			return true, fmt.Errorf("%s %s: %w", ue.Op, shown, ue.Err)
		}
		return true, err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("%s answered %s: %q", shown, resp.Status, strings.TrimSpace(string(excerpt)))
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, err
}
