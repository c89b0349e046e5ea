// Package diag prints HCL diagnostics in the formats the CLI offers: HCL's
// own snippet form ("text"), one line per diagnostic for editors and CI
// ("gcc"), and JSON for tools ("json").
package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Formats lists the accepted values of --error-format.
var Formats = []string{"text", "gcc", "json"}

// Write prints diags to w in the given format. files maps filenames to parsed
// files so the text form can show source snippets; it may be nil. color
// enables ANSI colors in the text form only.
func Write(w io.Writer, format string, diags hcl.Diagnostics, files map[string]*hcl.File, color bool) error {
	switch format {
	case "text", "":
		if files == nil {
			files = map[string]*hcl.File{}
		}
		for _, d := range diags {
			var err error
			if IsSecret(d) {
				err = writeWithoutSource(w, d)
			} else {
				err = hcl.NewDiagnosticTextWriter(w, snippetFiles(files, d), 0, color).WriteDiagnostic(d)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case "gcc":
		return writeGCC(w, diags)
	case "json":
		return writeJSON(w, diags)
	default:
		return fmt.Errorf("unknown diagnostics format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
}

// snippetFiles returns files with d's file cut after the lines that d's
// snippet shows (and one more). HCL's text writer scans the whole file for
// the lines of every diagnostic, working out each line's columns grapheme by
// grapheme: about 7 ms for a warning near the start of a spec file of 100
// services, on every run that prints it. The lines it prints, and their
// numbers, are the same (a test compares the two over the invalid corpus).
func snippetFiles(files map[string]*hcl.File, d *hcl.Diagnostic) map[string]*hcl.File {
	if d.Subject == nil {
		return files
	}
	f := files[d.Subject.Filename]
	if f == nil || f.Bytes == nil {
		return files
	}
	snip := *d.Subject
	if d.Context != nil {
		snip = hcl.RangeOver(snip, *d.Context)
	}
	// The writer shows every line that overlaps the snippet, which it
	// extends by a byte when empty: up to the line holding End.Byte+1.
	end := min(max(snip.End.Byte+1, 0), len(f.Bytes))
	for range 2 {
		if nl := bytes.IndexByte(f.Bytes[end:], '\n'); nl >= 0 {
			end += nl + 1
		} else {
			end = len(f.Bytes)
		}
	}
	if end == len(f.Bytes) {
		return files
	}
	cut := *f
	cut.Bytes = f.Bytes[:end]
	return map[string]*hcl.File{d.Subject.Filename: &cut}
}

// Secret, as a diagnostic's Extra, marks an error about a value that holds
// a password or token: the text form then names the position without
// printing the source lines, which would show the secret. The summary and
// detail are the schema's to keep free of it.
var Secret any = secretMark{}

type secretMark struct{}

// IsSecret reports whether d carries the Secret mark.
func IsSecret(d *hcl.Diagnostic) bool {
	_, ok := d.Extra.(secretMark)
	return ok
}

// writeWithoutSource prints d in the layout of HCL's text writer, with a
// note where the source snippet would be.
func writeWithoutSource(w io.Writer, d *hcl.Diagnostic) error {
	head := "Error"
	if d.Severity == hcl.DiagWarning {
		head = "Warning"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", head, d.Summary)
	if r := d.Subject; r != nil {
		fmt.Fprintf(&b, "  on %s line %d:\n  (source not shown: it holds a secret)\n\n", r.Filename, r.Start.Line)
	}
	if d.Detail != "" {
		fmt.Fprintf(&b, "%s\n\n", d.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

// oneLine keeps a message on a single line so every gcc-format diagnostic is
// exactly one line, which is what editors' error parsers expect.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func writeGCC(w io.Writer, diags hcl.Diagnostics) error {
	for _, d := range diags {
		msg := oneLine(d.Summary)
		if det := oneLine(d.Detail); det != "" {
			msg += ": " + det
		}
		var err error
		if d.Subject != nil {
			_, err = fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, severity(d), msg)
		} else {
			_, err = fmt.Fprintf(w, "%s: %s\n", severity(d), msg)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Pos is a position in a JSON diagnostic.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONDiagnostic is the shape of one element of the "json" format.
type JSONDiagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Filename string `json:"filename,omitempty"`
	Start    *Pos   `json:"start,omitempty"`
	End      *Pos   `json:"end,omitempty"`
}

func writeJSON(w io.Writer, diags hcl.Diagnostics) error {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		j := JSONDiagnostic{Severity: severity(d), Summary: d.Summary, Detail: d.Detail}
		if r := d.Subject; r != nil {
			j.Filename = r.Filename
			j.Start = &Pos{r.Start.Line, r.Start.Column, r.Start.Byte}
			j.End = &Pos{r.End.Line, r.End.Column, r.End.Byte}
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
