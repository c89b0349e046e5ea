package golden

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/emit"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/nixeval"
	"github.com/nixgen/nixgen/internal/schema"
)

// hostileText holds strings that break naive quoting in HCL, Nix, systemd or
// a shell. Every free-text spec field accepts all of them; control characters
// (newline, CR, tab, NUL) are rejected by validation in every field — see
// golden/invalid/*control* — so they are covered one layer down, by
// internal/emit's model-level round trip and its fuzz targets.
var hostileText = []string{
	`dq"uote`, `back\slash`, `interp${x}`, `dollar$${x}`, `$`, `end$`, `two''single`,
	`''${x}`, `'''`, `\${`, "ünïcödé ✓ 🚀", `pct%i%%`, `sp ace`, `semi;colon`,
	`hash#x`, `{braces}`, `$HOME`, `"`, `%{tmpl}`, "`tick`",
}

// hclString writes s as an HCL quoted string literal: backslash escapes plus
// HCL's template escapes `$${` and `%%{`.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}

// excludeText is s as an exclude pattern: "?" stands for "$".
func excludeText(s string) string { return strings.ReplaceAll(s, "$", "?") }

// hostileSpecs writes one service per hostile string, with the string in
// every free-text field: repository URL and file paths, notifier URL and
// token file, a user property, backup paths, excludes and tags.
func hostileSpecs(t *testing.T) string {
	var b bytes.Buffer
	b.WriteString("host \"box\" {\n  parent_dataset = \"tank/services\"\n  parent_mount = \"/srv\"\n}\n")
	for i, s := range hostileText {
		q := hclString
		// systemd would expand % in Environment= file paths; schema rejects it there.
		file := strings.ReplaceAll(s, "%", "")
		// restic expands $VAR in its exclude file; schema rejects it there.
		excl := excludeText(s)
		fmt.Fprintf(&b, `
restic_repository "r%[1]d" {
  url              = %[2]s
  password_file    = %[3]s
  environment_file = %[4]s
}
notifier "n%[1]d" {
  type       = "webhook"
  url        = %[5]s
  token_file = %[6]s
}
service "s%[1]d" {
  dataset {
    properties = { "org.example:note" = %[7]s }
  }
  backup {
    repository = "r%[1]d"
    paths      = [%[8]s]
    exclude    = [%[11]s, %[9]s]
    tags       = [%[10]s]
  }
  notify = ["n%[1]d"]
}
`, i, q("rest:https://h/"+s), q("/run/secrets/"+file), q("/run/env/"+file),
			q("https://hook.example/?q="+s), q("/run/token/"+file), q(s),
			q(fmt.Sprintf("/srv/s%d/%s", i, s)), q("**/"+excl+"/*"), q(tag(s)), q(excl))
	}
	dir := filepath.Join(t.TempDir(), "specs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile.hcl"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHostileSpecRoundTrip writes hostile strings into HCL specs, loads,
// renders and evaluates the result with real Nix, and checks that the values
// Nix (and the helper, through manifest.json) sees are exactly the strings.
var globEscape = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)

func TestHostileSpecRoundTrip(t *testing.T) {
	dir := hostileSpecs(t)
	spec, _, diags := schema.Load(dir)
	if diags.HasErrors() {
		for _, d := range diags {
			t.Errorf("%s", d)
		}
		t.FailNow()
	}
	out := emit.Render(spec)
	m, err := manifest.Decode(bytes.NewReader(out["box/manifest.json"]))
	if err != nil {
		t.Fatal(err)
	}
	v := nixeval.Host(t, spec, out)
	for i, s := range hostileText {
		name := fmt.Sprintf("s%d", i)
		file := strings.ReplaceAll(s, "%", "")
		job := nixeval.Get(t, v, "services", name+".nix", "services", "restic", "backups", name)
		url := "rest:https://h/" + s
		if strings.Contains(url, "%") {
			// Environment= would expand %; the URL goes through a file instead.
			check(t, name+" repositoryFile", nixeval.Get(t, job, "repositoryFile", "text"), url)
		} else {
			check(t, name+" repository", nixeval.Get(t, job, "repository"), url)
		}
		check(t, name+" passwordFile", nixeval.Get(t, job, "passwordFile"), "/run/secrets/"+file)
		check(t, name+" environmentFile", nixeval.Get(t, job, "environmentFile"), "/run/env/"+file)
		// restic globs --files-from lines: NixOS gets them escaped.
		check(t, name+" paths", nixeval.Get(t, job, "paths"), []any{globEscape.Replace(fmt.Sprintf("/srv/s%d/%s", i, s))})
		check(t, name+" exclude", nixeval.Get(t, job, "exclude"), []any{excludeText(s), "**/" + excludeText(s) + "/*"})

		svc := m.Service(name)
		if svc == nil {
			t.Fatalf("%s missing from manifest", name)
		}
		check(t, name+" manifest property", svc.Properties["org.example:note"], s)
		check(t, name+" manifest tags", svc.Backup.Tags, []string{tag(s)})
		check(t, name+" manifest repository", m.Repositories[fmt.Sprintf("r%d", i)].URL, url)
		n := m.Notifiers[fmt.Sprintf("n%d", i)]
		check(t, name+" manifest notifier", []string{n.URL, n.TokenFile}, []string{"https://hook.example/?q=" + s, "/run/token/" + file})
	}
}

// tag is s as a restic tag: restic splits tags at commas, and schema also
// rejects whitespace in them.
func tag(s string) string { return strings.Join(strings.Fields(s), "") }

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}
