package emit

import (
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
)

// unquotedActions lists every action in t's templates that prints a value
// whose pipeline does not end in a nix* function. Control structures (if,
// range, with) and variable declarations print nothing themselves; their
// bodies are walked.
func unquotedActions(t *template.Template) []string {
	var bad []string
	var walk func(name string, n parse.Node)
	walk = func(name string, n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(name, c)
			}
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 {
				return // {{ $x := ... }} or {{ $x = ... }} prints nothing
			}
			cmds := n.Pipe.Cmds
			last := cmds[len(cmds)-1]
			if id, ok := last.Args[0].(*parse.IdentifierNode); ok && nixFuncs[id.Ident] {
				return
			}
			bad = append(bad, name+": "+n.String())
		case *parse.IfNode:
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.RangeNode:
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.WithNode:
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.TextNode, *parse.CommentNode, *parse.TemplateNode,
			*parse.BreakNode, *parse.ContinueNode:
		default:
			bad = append(bad, name+": unexpected node "+n.String())
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Name(), tt.Tree.Root)
		}
	}
	return bad
}

func TestTemplatesQuoteEveryAction(t *testing.T) {
	for _, name := range []string{tmplDefault, tmplDatasets, tmplProtection, tmplService, tmplMonitoring} {
		if tmpl.Lookup(name) == nil {
			t.Errorf("template %s is missing", name)
		}
	}
	for _, b := range unquotedActions(tmpl) {
		t.Errorf("action prints a value that no nix* function quoted: %s", b)
	}
}

// The check must catch raw data, systemd quoting alone, quoting followed by
// another function, and actions nested in control structures.
func TestUnquotedActionsSelfTest(t *testing.T) {
	for _, src := range []string{
		`x = {{ .Name }};`,
		`x = "{{ .Name }}";`,
		`{{ if .A }}{{ range .B }}{{ . }}{{ end }}{{ end }}`,
		`{{ with .A }}{{ sdExec . }}{{ end }}`,
		`{{ nixStr .A | printf "%s" }}`,
		`{{ printf "%s" .A }}`,
		`{{ define "x" }}{{ .A }}{{ end }}`,
	} {
		tmpl := template.Must(template.New("bad").Funcs(funcs).Parse(src))
		if len(unquotedActions(tmpl)) == 0 {
			t.Errorf("template %q passed the quoting check", src)
		}
	}
	for _, src := range []string{
		`x = {{ nixStr .Name }}; {{ $v := .A }}{{ nixAttr $v }}`,
		`{{ range .L }}{{ nixStr (sdExec .) }}{{ end }}{{ .L | nixList }}`,
		`{{ if .A }}{{ nixInt .N }}{{ else }}{{ nixBool .B }}{{ end }}{{ template "t" . }}`,
	} {
		tmpl := template.Must(template.New("good").Funcs(funcs).Parse(src))
		if bad := unquotedActions(tmpl); len(bad) > 0 {
			t.Errorf("template %q failed the quoting check: %s", src, strings.Join(bad, "; "))
		}
	}
}
