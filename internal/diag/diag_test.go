package diag

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

const src = "service \"a\" {\n  mode = \"999\"\n}\n"

func sample(t *testing.T) (hcl.Diagnostics, map[string]*hcl.File) {
	t.Helper()
	p := hclparse.NewParser()
	_, diags := p.ParseHCL([]byte(src), "main.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rng := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: 3, Byte: 16}, End: hcl.Pos{Line: 2, Column: 15, Byte: 28}}
	return hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Invalid mode", Detail: "\"999\" is not an octal\nmode.", Subject: &rng},
		{Severity: hcl.DiagWarning, Summary: "Unused service", Detail: "No host runs it."},
	}, p.Files()
}

func TestGCC(t *testing.T) {
	diags, files := sample(t)
	var b bytes.Buffer
	if err := Write(&b, "gcc", diags, files, false); err != nil {
		t.Fatal(err)
	}
	want := "main.hcl:2:3: error: Invalid mode: \"999\" is not an octal mode.\nwarning: Unused service: No host runs it.\n"
	if b.String() != want {
		t.Fatalf("got %q\nwant %q", b.String(), want)
	}
}

func TestJSON(t *testing.T) {
	diags, files := sample(t)
	var b bytes.Buffer
	if err := Write(&b, "json", diags, files, false); err != nil {
		t.Fatal(err)
	}
	var got []JSONDiagnostic
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d diagnostics", len(got))
	}
	if got[0].Severity != "error" || got[0].Filename != "main.hcl" || got[0].Start.Line != 2 || got[0].Start.Column != 3 || got[0].End.Column != 15 || got[0].Start.Byte != 16 {
		t.Errorf("first: %+v %+v", got[0], got[0].Start)
	}
	if got[1].Severity != "warning" || got[1].Start != nil || got[1].Filename != "" {
		t.Errorf("second: %+v", got[1])
	}
	// An empty list is still a JSON array, so tools can always iterate.
	b.Reset()
	if err := Write(&b, "json", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty: %q", b.String())
	}
}

func TestText(t *testing.T) {
	diags, files := sample(t)
	var b bytes.Buffer
	if err := Write(&b, "text", diags, files, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Error: Invalid mode", "on main.hcl line 2", `mode = "999"`, "Warning: Unused service"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("color without color=true:\n%s", out)
	}
}

func TestUnknownFormat(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "xml", nil, nil, false); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("err = %v", err)
	}
}

// A diagnostic marked Secret names its position but never prints the
// source line that holds the secret.
func TestTextHidesSecretSource(t *testing.T) {
	const secretSrc = "restic_repository \"a\" {\n  url = \"rest:https://u:hunter2@h/\"\n}\n"
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL([]byte(secretSrc), "main.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	rng := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: 3, Byte: 28}, End: hcl.Pos{Line: 2, Column: 37, Byte: 62}}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Secret in a repository URL", Detail: "It holds a password.", Subject: &rng}
	for _, secret := range []bool{false, true} {
		if secret {
			d.Extra = Secret
		}
		var b bytes.Buffer
		if err := Write(&b, "text", hcl.Diagnostics{d}, p.Files(), false); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "hunter2") != !secret || !strings.Contains(out, "Error: Secret in a repository URL") || !strings.Contains(out, "on main.hcl line 2") || !strings.Contains(out, "It holds a password.") {
			t.Errorf("secret=%v:\n%s", secret, out)
		}
	}
}
