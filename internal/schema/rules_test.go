package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/nixgen/nixgen/internal/rules"
)

func TestDatasetNames(t *testing.T) {
	good := []string{"tank", "tank/services", "rpool/services/home-assistant", "t/a_b.c:d-e", "Tank2/x", strings.Repeat("a", 255)}
	for _, n := range good {
		if msg := datasetNameError(n); msg != "" {
			t.Errorf("%q rejected: %s", n, msg)
		}
	}
	bad := map[string]string{
		"":                                 "empty",
		"/tank":                            "start or end",
		"tank/":                            "start or end",
		"tank//a":                          "empty component",
		"tank/./a":                         `"."`,
		"tank/../a":                        `".."`,
		"tank/a b":                         "may contain only",
		"tank/a@snap":                      "may contain only",
		"tank/a#book":                      "may contain only",
		"tank/a%tmp":                       "may contain only",
		"1tank":                            "start with a letter",
		"mirror":                           "reserved",
		"raidz2pool/a":                     "reserved",
		"draid/a":                          "reserved",
		"spare":                            "reserved",
		"log/a":                            "reserved",
		"c0t0d0/a":                         "disk device",
		"ta:nk/a":                          `":"`,
		strings.Repeat("a", 256):           "at most 255",
		"tank/" + "ü":                      "may contain only",
		"tank/a\x00":                       "may contain only",
		"tank/" + strings.Repeat("b", 300): "at most 255",
	}
	for n, want := range bad {
		if msg := datasetNameError(n); !strings.Contains(msg, want) {
			t.Errorf("%q: got %q, want it to mention %q", n, msg, want)
		}
	}
}

func TestProperties(t *testing.T) {
	ok := [][2]string{
		{"recordsize", "512"}, {"recordsize", "16M"}, {"recordsize", "1M"},
		{"compression", "zstd-19"}, {"compression", "gzip-9"}, {"compression", "zstd-fast-1000"}, {"compression", "lz4"},
		{"atime", "off"}, {"relatime", "on"}, {"logbias", "throughput"}, {"primarycache", "metadata"}, {"secondarycache", "none"},
		{"xattr", "sa"}, {"acltype", "posixacl"}, {"quota", "none"}, {"quota", "10G"}, {"refreservation", "auto"},
		{"dedup", "sha256,verify"}, {"dedup", "edonr,verify"}, {"copies", "2"}, {"encryption", "aes-256-gcm"},
		{"keylocation", "file:///run/key"}, {"pbkdf2iters", "350000"}, {"special_small_blocks", "0"},
		{"com.sun:auto-snapshot", "true"}, {"org.example:note", `any "text" \ ${x} ü`},
	}
	for _, p := range ok {
		if s, d := propertyError(p[0], p[1]); s != "" {
			t.Errorf("%s=%s rejected: %s: %s", p[0], p[1], s, d)
		}
	}
	bad := [][3]string{
		{"recordsize", "256", "power of two"}, {"recordsize", "32M", "power of two"}, {"recordsize", "100K", "power of two"},
		{"recordsize", "big", "size"}, {"compression", "zstd-20", "expected"}, {"compression", "gzip-0", "expected"},
		{"compression", "zstd-fast-11", "zstd-fast levels"}, {"compression", "LZ4", "expected"},
		{"atime", "yes", "on"}, {"logbias", "fast", "latency"}, {"primarycache", "everything", "metadata"},
		{"dedup", "edonr", "verify"}, {"dedup", "off,verify", "expected"}, {"copies", "4", "expected"},
		{"pbkdf2iters", "1000", "100000"}, {"mountpoint", "/x", "mountpoint"}, {"used", "1", "not a ZFS filesystem property"},
		{"volsize", "1G", "not a ZFS filesystem property"}, {"recordsiz", "1M", `Did you mean "recordsize"`},
		{"Com.Example:x", "1", "lowercase"}, {":x", "1", "must not start"}, {"nixgen:preseed", "complete", "nixgen-helper"},
		{"a:b", strings.Repeat("v", 8192), "8191"},
	}
	for _, p := range bad {
		s, d := propertyError(p[0], p[1])
		if s == "" || !strings.Contains(s+": "+d, p[2]) {
			t.Errorf("%s=%.20s: got %q %q, want mention of %q", p[0], p[1], s, d, p[2])
		}
	}
	for _, name := range rules.CreateOnlyProperties() {
		if _, native := nativeProperties[name]; !native {
			t.Errorf("create-only %q is not a known native property", name)
		}
	}
}

func TestDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"30m": 30 * time.Minute, "1h30m": 90 * time.Minute, "1h 30min": 90 * time.Minute, "2d": 48 * time.Hour,
		"90s": 90 * time.Second, "1.5h": 90 * time.Minute, "1w": 7 * 24 * time.Hour, "500ms": 500 * time.Millisecond,
	}
	for in, want := range cases {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "30", "0s", "-5m", "30y", "thirty minutes", "5m garbage", "99999999999999999999h"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want error", in, got)
		}
	}
}

func TestParseTarget(t *testing.T) {
	type res struct{ user, host, ds string }
	good := map[string]res{
		"zfs-recv@nas-1:backup/forge/sonarr": {"zfs-recv", "nas-1", "backup/forge/sonarr"},
		"nas.lan:backup/x":                   {"", "nas.lan", "backup/x"},
		"10.0.0.2:backup":                    {"", "10.0.0.2", "backup"},
		"backup/local":                       {"", "", "backup/local"},
		"backup/with:colon":                  {"", "", "backup/with:colon"},
	}
	for in, want := range good {
		u, h, d, problem := parseTarget(in)
		if problem != "" || (res{u, h, d}) != want {
			t.Errorf("parseTarget(%q) = %q %q %q %q", in, u, h, d, problem)
		}
	}
	for _, in := range []string{"", "nas:", ":backup/x", "@nas:backup", "Root@nas:backup", "-oProxyCommand=x:backup", "nas_1:backup", "a b:backup", "nas:/backup", "bad pool/x", "nas:backup@snap"} {
		if _, _, _, problem := parseTarget(in); problem == "" {
			t.Errorf("parseTarget(%q) accepted", in)
		}
	}
}

func TestCheckSubset(t *testing.T) {
	for _, s := range []string{"5%", "0.5%", "100%", "1/10", "10/10", "500M", "2G"} {
		if msg := checkSubsetError(s); msg != "" {
			t.Errorf("%q rejected: %s", s, msg)
		}
	}
	for _, s := range []string{"0%", "101%", "0/10", "11/10", "5", "five", "0M", "5 %"} {
		if msg := checkSubsetError(s); msg == "" {
			t.Errorf("%q accepted", s)
		}
	}
}

// Free text keeps quotes, backslashes, "$", "${" and Unicode as written:
// quoting is the emitter's job, not a reason to reject input.
func TestFreeTextAccepted(t *testing.T) {
	spec := loadOK(t, writeSpec(t, `
host "h" {
  parent_dataset = "tank/s"
  parent_mount   = "/srv/dätä \"q\""
}
restic_repository "r" {
  url           = "s3:https://s3.example.net/b\\k/\"x\"/$HOME/$${HOME}/ü"
  password_file = "/run/secrets/pa$$word 'x'"
}
service "app" {
  backup {
    repository = "r"
    exclude    = ["**/[$]{cache}", "C:\\temp", "'; rm -rf / #", "cost$"]
  }
}
`))
	r := spec.Repositories[0]
	if r.URL != `s3:https://s3.example.net/b\k/"x"/$HOME/${HOME}/ü` {
		t.Errorf("url = %q", r.URL)
	}
	if r.PasswordFile != `/run/secrets/pa$$word 'x'` {
		t.Errorf("password_file = %q", r.PasswordFile)
	}
	svc := spec.Hosts[0].Services[0]
	if svc.Mountpoint != `/srv/dätä "q"/app` {
		t.Errorf("mountpoint = %q", svc.Mountpoint)
	}
	// "$" only where restic's os.ExpandEnv leaves it (see backup-exclude-variable).
	want := []string{"**/[$]{cache}", `C:\temp`, "'; rm -rf / #", "cost$"}
	if strings.Join(svc.Backup.Exclude, "|") != strings.Join(want, "|") {
		t.Errorf("exclude = %q", svc.Backup.Exclude)
	}
}
