package rules

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

func TestName(t *testing.T) {
	for _, ok := range []string{"sonarr", "a", "1x", "a.b", "a_b-c", "in", strings.Repeat("x", 63)} {
		if msg := Name(ok); msg != "" {
			t.Errorf("Name(%q) = %q", ok, msg)
		}
	}
	for _, bad := range []string{"", ".", "..", "../../../../var/tmp/x", "a/b", ".hidden", "-x", "_x", "sp ace", "ü", strings.Repeat("x", 64), "a\x00"} {
		if Name(bad) == "" {
			t.Errorf("Name(%q) accepted", bad)
		}
	}
}

func TestUnitIsAPathComponent(t *testing.T) {
	for _, bad := range []string{"../x.service", "a/b.service", "foo@.service", ".service", "@x.service"} {
		if Unit(bad) == "" {
			t.Errorf("Unit(%q) accepted", bad)
		}
	}
	if msg := Unit("foo@main.service"); msg != "" {
		t.Error(msg)
	}
}

func TestDatasetName(t *testing.T) {
	for _, ok := range []string{"tank", "tank/services/x", "tank/a:b/c_d.e-f"} {
		if msg := DatasetName(ok); msg != "" {
			t.Errorf("DatasetName(%q) = %q", ok, msg)
		}
	}
	for _, bad := range []string{"", "tank/services/../services/x", "tank//x", "tank/./x", "/tank", "tank/", "tank/sp ace", "1tank", "mirror0/x", "c0d0", "ta:nk/x", strings.Repeat("a", 256)} {
		if DatasetName(bad) == "" {
			t.Errorf("DatasetName(%q) accepted", bad)
		}
	}
}

func TestMountpoint(t *testing.T) {
	for _, ok := range []string{"/srv/app", "/var/lib/app", "/home/alice/data", "/data", "/var/tmpfoo"} {
		if msg := Mountpoint(ok); msg != "" {
			t.Errorf("Mountpoint(%q) = %q", ok, msg)
		}
	}
	for bad, want := range map[string]string{
		"/":               "cannot be mounted at",
		"/etc":            "system directory",
		"/var/lib":        "system directory",
		"/nix/store/x":    "inside /nix",
		"/tmp/x":          "inside /tmp",
		"/var/tmp/srv":    "inside /var/tmp, where users other than root",
		"/var/tmp":        "system directory",
		"/var/lock/x":     "inside /var/lock",
		"/run/user/1000":  "inside /run",
		"srv/app":         "absolute",
		"/srv/../etc":     "clean",
		"/srv/app/":       "clean",
		"/dev/shm/x":      "inside /dev",
		"/srv//app":       "clean",
		"/var/tmp/a/b/c/": "clean",
	} {
		if msg := Mountpoint(bad); !strings.Contains(msg, want) {
			t.Errorf("Mountpoint(%q) = %q, want it to mention %q", bad, msg, want)
		}
	}
	for _, tree := range SharedTrees {
		if SharedTree(tree+"/x") != tree {
			t.Errorf("SharedTree(%q) = %q", tree+"/x", SharedTree(tree+"/x"))
		}
	}
}

func TestShellWord(t *testing.T) {
	for _, bad := range []string{"/var/tmp/k;touch /var/tmp/PWNED;#", "a b", "a\tb", "$(id)", "`id`", "a|b", "a&b", "a>b", "a<b", "a'b", `a"b`, `a\b`, "${X}", "~root", "#x", "a*", "a?", "[a]", "{a,b}", "!x", "a^b", "ü", "a\nb", ""} {
		if ShellWord(bad) == "" {
			t.Errorf("ShellWord(%q) accepted", bad)
		}
	}
	if msg := ShellWord("/run/keys/id_ed25519-backup.key"); msg != "" {
		t.Error(msg)
	}
}

// shellInert runs each word unquoted as an argument in sh -c, as syncoid
// does with its ssh command, and returns the words as the program received
// them.
func shellInert(t *testing.T, shell string, words []string) []string {
	t.Helper()
	script := "printf '%s\\n' " + strings.Join(words, " ")
	cmd := exec.Command(shell, "-c", script)
	cmd.Dir = t.TempDir() // nothing for a glob to match
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s -c %q: %v\n%s", shell, script, err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// TestAllowedWordsAreShellInert proves the allow-list: every word made of
// its characters reaches the program unchanged when a shell parses it
// unquoted, in sh and in bash; and every printable ASCII character outside
// it is rejected.
func TestAllowedWordsAreShellInert(t *testing.T) {
	var allowed []rune
	for r := rune(0x20); r < 0x7f; r++ {
		if ShellWord(string(r)) == "" {
			allowed = append(allowed, r)
		} else if shellSafe(r) {
			t.Errorf("%q is shell-safe but rejected", r)
		}
	}
	punct := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, string(allowed))
	if got := string(allowed); punct != "%+,-./:=@_" || len(got) != 62+len(punct) {
		t.Fatalf("allowed punctuation changed: %q", got)
	}
	// Every allowed character alone, at the start, in the middle and at the
	// end of a word, doubled, and random words.
	var words []string
	for _, r := range allowed {
		c := string(r)
		words = append(words, c, c+"x", "x"+c, "x"+c+"y", c+c, "/"+c+"/k")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]rune, 1+rng.IntN(20))
		for i := range b {
			b[i] = allowed[rng.IntN(len(allowed))]
		}
		words = append(words, string(b))
	}
	words = append(words, "root@nas.example:backup/forge", "-oConnectTimeout=10", "%h@%p:%%")
	for _, w := range words {
		if msg := ShellWord(w); msg != "" {
			t.Fatalf("%q: %s", w, msg)
		}
	}
	for _, shell := range []string{"sh", "bash"} {
		got := shellInert(t, e2e.Tool(t, shell), words)
		if len(got) != len(words) {
			t.Fatalf("%s split %d words into %d", shell, len(words), len(got))
		}
		for i := range words {
			if got[i] != words[i] {
				t.Errorf("%s turned %q into %q", shell, words[i], got[i])
			}
		}
	}
	// The check can fail: a rejected character changes the word.
	if got := shellInert(t, e2e.Tool(t, "sh"), []string{"/k;echo", "x"}); len(got) == 1 {
		t.Errorf("the harness did not notice a ';': %q", got)
	}
}

func TestSSHOption(t *testing.T) {
	for _, ok := range []string{"Port=2222", "ConnectTimeout=10", "UserKnownHostsFile=/run/k/known_hosts", "Ciphers=aes128-ctr,aes256-ctr", "ControlPath=/run/c/%r@%h"} {
		if msg := SSHOption(ok); msg != "" {
			t.Errorf("SSHOption(%q) = %s", ok, msg)
		}
	}
	for _, bad := range []string{"Port", "=x", "1x=y", "ProxyCommand=sh -c x", "X=a;b", "X=", "X=$(id)"} {
		if SSHOption(bad) == "" {
			t.Errorf("SSHOption(%q) accepted", bad)
		}
	}
}

func TestSSHKey(t *testing.T) {
	for bad, want := range map[string]string{
		"/var/tmp/k;touch /var/tmp/PWNED;#": `";"`,
		"/run/keys/my key":                  "a space",
		"/run/keys/$(id)":                   `"$"`,
		"run/key":                           "absolute",
		"/run/%H-key":                       "specifier",
		`/run/a\tkey`:                       `"\\"`,
	} {
		if msg := SSHKey(bad); !strings.Contains(msg, want) {
			t.Errorf("SSHKey(%q) = %q, want it to mention %s", bad, msg, want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	cases := map[string][3]string{
		"tank/backup":                {"", "", "tank/backup"},
		"nas:backup/x":               {"", "nas", "backup/x"},
		"syncoid@nas.lan:backup/x:y": {"syncoid", "nas.lan", "backup/x:y"},
		"10.0.0.2:tank/x":            {"", "10.0.0.2", "tank/x"},
	}
	for in, want := range cases {
		u, h, d, problem := ParseTarget(in)
		if problem != "" || [3]string{u, h, d} != want {
			t.Errorf("ParseTarget(%q) = %q %q %q %q", in, u, h, d, problem)
		}
	}
	for bad, want := range map[string]string{
		"machine$@nas:backup/x": `"$"`,
		"-oProxyCommand=x:a/b":  "not a valid host",
		"root@:a/b":             "host is empty",
		"nas:../x":              "target dataset is invalid",
		"root@nas;id:a/b":       "not a valid host",
		"Root@nas:a/b":          "not a valid user name",
	} {
		if _, _, _, problem := ParseTarget(bad); !strings.Contains(problem, want) {
			t.Errorf("ParseTarget(%q) problem %q, want it to mention %s", bad, problem, want)
		}
	}
}

func TestSecretName(t *testing.T) {
	for _, yes := range []string{"auth", "token", "access_token", "accessToken", "ACCESSTOKEN", "apikey", "api_key", "apiKey", "key", "X-Amz-Signature", "X-Amz-Credential", "sig", "password", "pass", "client_secret", "authorization"} {
		if !SecretName(yes) {
			t.Errorf("%q not recognised", yes)
		}
	}
	for _, no := range []string{"q", "topic", "monkey", "keyword", "design", "priority", "tags", "passage", "x"} {
		if SecretName(no) {
			t.Errorf("%q taken for a secret", no)
		}
	}
}

func TestRepositorySecret(t *testing.T) {
	for _, ok := range []string{
		"/mnt/restic", "rest:https://backup.example/forge", "rest:https://user@host/", "sftp:user@host:/srv/restic",
		"s3:https://s3.example/bucket", "rclone:nas:restic", "b2:bucket:path", "rest:https://h/?q=1",
		"rest:https://h/pct%i%%", "rest:https://h/hash#x?token=1",
	} {
		if msg := RepositorySecret(ok); msg != "" {
			t.Errorf("RepositorySecret(%q) = %q", ok, msg)
		}
	}
	for bad, want := range map[string]string{
		"rest:https://user:pass@host/":            "password",
		"sftp://u:p@host//srv":                    "password",
		"s3:https://AKIA:secret@s3.example/b":     "password",
		"rest:https://h/?token=abc":               `"token"`,
		"rclone::s3,secret_access_key=xyz:bucket": `"secret_access_key"`,
		"rclone:remote,pass=xyz:path":             `"pass"`,
	} {
		if msg := RepositorySecret(bad); !strings.Contains(msg, want) {
			t.Errorf("RepositorySecret(%q) = %q, want it to mention %s", bad, msg, want)
		}
	}
}

func TestNotifierSecret(t *testing.T) {
	for _, ok := range []string{"https://ntfy.sh/topic", "https://hook.example/?q=1", "https://h/p?q=semi;colon", "https://h/x#token=1"} {
		if msg := NotifierSecret(ok); msg != "" {
			t.Errorf("NotifierSecret(%q) = %q", ok, msg)
		}
	}
	for bad, want := range map[string]string{
		"https://user:pass@ntfy.example/t":         "credentials",
		"https://tk_abc@ntfy.example/t":            "credentials",
		"https://ntfy.example/t?auth=QmFzaWM":      `"auth"`,
		"https://hook.example/x?a=1&api%5Fkey=2":   `"api_key"`,
		"https://hook.example/x?access_token=abcd": `"access_token"`,
	} {
		if msg := NotifierSecret(bad); !strings.Contains(msg, want) {
			t.Errorf("NotifierSecret(%q) = %q, want it to mention %s", bad, msg, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@ntfy.example/t?auth=x#f": "https://***@ntfy.example/t?***",
		"rest:https://u:p@host:8000/repo":           "rest:https://***@host:8000/repo",
		"https://h/x?token=1":                       "https://h/x?***",
		"https://h?token=1":                         "https://h?***",
		"https://h/x#y?z":                           "https://h/x#y?z",
		"/mnt/restic":                               "/mnt/restic",
		"sftp:u@h:/x":                               "sftp:u@h:/x",
		"rclone::s3,provider=AWS,secret_access_key=k3y,region=x:b": "rclone::s3,provider=AWS,secret_access_key=***,region=x:b",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnerTakesNamesAndNumericIDs(t *testing.T) {
	for _, ok := range []string{"root", "sonarr", "_apt", "0", "568", "4294967294"} {
		if msg := Owner(ok); msg != "" {
			t.Errorf("Owner(%q) = %q", ok, msg)
		}
	}
	// (uid_t)-1 means "unchanged" to chown; a leading zero or a sign is not
	// what chown would read as the same id.
	for _, bad := range []string{"", "4294967295", "99999999999", "0568", "-1", "+5", "56 8", "Sonarr", "5a"} {
		if Owner(bad) == "" {
			t.Errorf("Owner(%q) accepted", bad)
		}
	}
	if id, ok := NumericID("568"); !ok || id != 568 {
		t.Errorf("NumericID(568) = %d, %v", id, ok)
	}
	if _, ok := NumericID("sonarr"); ok {
		t.Error("NumericID(sonarr) is numeric")
	}
}

// TestZFSSize: the one size parser, as libzfs's zfs_nicestrtonum reads a
// value (internal/zfs's TestZFSSizeAgreesWithZFS holds it against a real
// `zfs set`).
func TestZFSSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"512": 512, "0": 0, "16K": 16 << 10, "16k": 16 << 10, "1M": 1 << 20, "128KiB": 128 << 10,
		"128kib": 128 << 10, "128KB": 128 << 10, "512B": 512, "512b": 512, "1G": 1 << 30, "2E": 2 << 60,
		"1.5M": 3 << 19, ".5K": 512, "1.": 1, "1.5": 1, "0.25G": 1 << 28,
	} {
		if got, ok := ZFSSize(in); !ok || got != want {
			t.Errorf("ZFSSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "K", ".", ".K", "-1K", "+1K", " 1K", "16 K", "16KK", "1BB", "1BiB", "1iB",
		"12Q", "1Z", "0Z", "16E", "99999999999999999999", "1.5.5M", "1e3", "0x10"} {
		if got, ok := ZFSSize(in); ok {
			t.Errorf("ZFSSize(%q) = %d, want failure", in, got)
		}
	}
}

// TestCharChecksMatchExpressions compares the byte-class checks with the
// regular expressions they replaced, on every string of up to four
// characters from an alphabet of the characters each class admits or
// refuses, with and without unit type suffixes.
func TestCharChecksMatchExpressions(t *testing.T) {
	exprs := []struct {
		name  string
		re    *regexp.Regexp
		check func(string) bool
	}{
		{"Name", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`), func(s string) bool { return Name(s) == "" }},
		{"UnixName", regexp.MustCompile(`^[a-z_][a-z0-9_-]*\$?$`), func(s string) bool { return UnixName(s) == "" }},
		{"Mode", regexp.MustCompile(`^[0-7]{3,4}$`), func(s string) bool { return Mode(s) == "" }},
		{"Unit", regexp.MustCompile(`^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.(service|socket|target|mount|automount|timer|path|swap|slice|scope|device)$`),
			func(s string) bool { return Unit(s) == "" }},
		{"component", regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`), componentChars.all},
	}
	alphabet := []string{"a", "Z", "q", "0", "7", "8", "_", ".", "-", ":", `\`, "@", "$", "/", " ", "é", "\n", "\x00"}
	suffixes := []string{"", ".service", ".automount", ".timer", ".bogus", "@x.socket", ".Service"}
	var inputs []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		inputs = append(inputs, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+c, n-1)
		}
	}
	grow("", 4)
	n := len(inputs)
	for _, in := range inputs[:n] {
		if len(in) <= 3 {
			for _, suf := range suffixes[1:] {
				inputs = append(inputs, in+suf)
			}
		}
	}
	for _, e := range exprs {
		bad := 0
		for _, s := range inputs {
			want := e.re.MatchString(s)
			if e.name == "component" && s == "" {
				want = true // all is true of ""; RelativeDataset refuses empty components first
			}
			if got := e.check(s); got != want && bad < 5 {
				bad++
				t.Errorf("%s(%q): check says %v, the expression %v", e.name, s, got, want)
			}
		}
	}
	if len(inputs) < 100000 {
		t.Fatalf("only %d inputs", len(inputs))
	}
}

// TestWithin compares Within with the definition it implements without
// allocating: p == q, or p starts with q (less a trailing sep) and sep.
func TestWithin(t *testing.T) {
	paths := []string{"", "/", "//", "/a", "/a/", "/a/b", "/a/b/", "/ab", "/a//b", "a", "a/", "a/b", "ab", "tank", "tank/x", "tank/xy"}
	for _, sep := range []string{"/", "::"} {
		for _, p := range paths {
			for _, q := range paths {
				p, q := strings.ReplaceAll(p, "/", sep), strings.ReplaceAll(q, "/", sep)
				want := p == q || strings.HasPrefix(p, strings.TrimSuffix(q, sep)+sep)
				if got := Within(p, q, sep); got != want {
					t.Errorf("Within(%q, %q, %q) = %v, want %v", p, q, sep, got, want)
				}
			}
		}
	}
	if !Within("/srv/app/data", "/srv/app", "/") || Within("/srv/apple", "/srv/app", "/") {
		t.Error("Within misses a child or takes a sibling with the same prefix")
	}
}
