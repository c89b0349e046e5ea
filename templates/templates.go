// Package templates embeds the Nix templates that internal/emit renders
// (go:embed cannot reach a parent directory, so they live at the top level).
package templates

import "embed"

// FS holds every *.tmpl file; each file is one named template, one output file kind.
//
//go:embed *.tmpl
var FS embed.FS
