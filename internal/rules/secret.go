package rules

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Secrets in URLs. Whatever a spec says ends up in the generated .nix
// files, which Nix copies into the world-readable /nix/store, in
// manifest.json (also in the store), and in the units' Environment= lines,
// which any local user can read with `systemctl show`. A password or token
// in a URL would be readable by every user of the host, so such URLs are
// rejected, and each gets a file-based alternative: repository_file for
// restic (NixOS's repositoryFile), url_file and token_file for notifiers.
//
// What counts as a secret:
//   - a password in the userinfo of any scheme://user:password@host part of
//     a restic repository string (rest:, s3:, sftp://...); for notifier
//     URLs any userinfo at all, since ntfy and others also take a token
//     alone ("https://:tk_...@host", "https://tk_...@host");
//   - a query parameter whose name looks like a credential: one of its
//     words (split at "_", "-", "." and lower-to-upper case changes) is
//     auth, authorization, bearer, jwt, token, key, secret, password,
//     passwd, pass, pwd, sig, signature, credential or credentials, or the
//     whole name is apikey, accesstoken or authtoken ("?auth=", "?access_token=", "?apiKey=",
//     "?X-Amz-Signature=", "?sig=");
//   - in an rclone: repository, a connection-string parameter with such a
//     name (":s3,secret_access_key=...:bucket").
//
// A secret in a URL's path (Slack, Discord and Matrix webhook URLs) cannot
// be recognised; docs/security.md tells users to put those in url_file.

var secretWords = map[string]bool{
	"auth": true, "token": true, "key": true, "secret": true, "password": true, "passwd": true,
	"pass": true, "pwd": true, "sig": true, "signature": true, "credential": true, "credentials": true,
	"authorization": true, "bearer": true, "jwt": true,
	"apikey": true, "accesstoken": true, "authtoken": true,
}

// SecretName reports whether a query or connection-string parameter name
// looks like it carries a credential.
func SecretName(name string) bool {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	if secretWords[strings.Join(words, "")] {
		return true
	}
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	return false
}

// urlParts finds the first "scheme://" in s and splits what follows it.
// It works on text that url.Parse rejects (restic repository strings are
// free text), so a secret cannot hide behind a bad percent escape.
type urlParts struct {
	authStart int    // index in s just after "://"
	userinfo  string // before the last "@" of the authority; "" when none
	hasUser   bool
	query     string // after the first "?" that follows the authority, without a fragment
	hasQuery  bool
	queryAt   int // index in s of that "?"
}

func splitURL(s string) (urlParts, bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return urlParts{}, false
	}
	p := urlParts{authStart: i + 3}
	rest := s[p.authStart:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		p.userinfo, p.hasUser = rest[:at], true
	}
	if q := strings.IndexByte(rest[end:], '?'); q >= 0 && !strings.Contains(rest[end:end+q], "#") {
		p.hasQuery, p.queryAt = true, p.authStart+end+q
		p.query, _, _ = strings.Cut(s[p.queryAt+1:], "#")
	}
	return p, true
}

// secretParam returns the first query parameter with a secret-looking name.
func secretParam(query string) string {
	for _, kv := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(kv, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if SecretName(name) {
			return name
		}
	}
	return ""
}

var (
	rcloneParam = lazyRegexp(`[,:]([A-Za-z_][A-Za-z0-9_-]*)=`)
	rcloneValue = lazyRegexp(`([,:])([A-Za-z_][A-Za-z0-9_-]*)=[^,:]*`)
)

// RepositorySecret returns why a restic repository string would put a
// secret into the store, or "".
func RepositorySecret(s string) string {
	if rest, ok := strings.CutPrefix(s, "rclone:"); ok {
		for _, m := range rcloneParam().FindAllStringSubmatch(rest, -1) {
			if SecretName(m[1]) {
				return fmt.Sprintf("the rclone connection string sets %q, which looks like a credential", m[1])
			}
		}
		return ""
	}
	p, ok := splitURL(s)
	if !ok {
		return ""
	}
	if p.hasUser && strings.Contains(p.userinfo, ":") {
		return "the URL holds a password (\"user:…@\")"
	}
	if p.hasQuery {
		if name := secretParam(p.query); name != "" {
			return fmt.Sprintf("the query parameter %q looks like a credential", name)
		}
	}
	return ""
}

// NotifierSecret returns why a notifier URL would put a secret into the
// store, or "".
func NotifierSecret(s string) string {
	p, ok := splitURL(s)
	if !ok {
		return ""
	}
	if p.hasUser {
		return "the URL holds credentials (\"…@\" before the host)"
	}
	if p.hasQuery {
		if name := secretParam(p.query); name != "" {
			return fmt.Sprintf("the query parameter %q looks like a credential", name)
		}
	}
	return ""
}

// RedactURL hides what could be a secret in a URL (or in a restic
// repository string holding one) before it is printed: the userinfo
// becomes "***@", the query "?***", and the value of a secret-looking
// rclone connection-string parameter "***". Other text is returned as it is.
func RedactURL(s string) string {
	if strings.HasPrefix(s, "rclone:") {
		return rcloneValue().ReplaceAllStringFunc(s, func(m string) string {
			sub := rcloneValue().FindStringSubmatch(m)
			if SecretName(sub[2]) {
				return sub[1] + sub[2] + "=***"
			}
			return m
		})
	}
	p, ok := splitURL(s)
	if !ok {
		return s
	}
	out := s
	if p.hasQuery {
		out = out[:p.queryAt] + "?***"
	}
	if p.hasUser {
		out = out[:p.authStart] + "***" + out[p.authStart+len(p.userinfo):]
	}
	return out
}

// HTTPURL checks a notifier URL: http or https, with a host.
func HTTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an http:// or https:// URL with a host"
	}
	return ""
}
