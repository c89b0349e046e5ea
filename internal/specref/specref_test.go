package specref

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/rules"
	"github.com/nixgen/nixgen/internal/schema"
)

// The real schema must be fully documented: a new attribute or block in
// schema's raw structs needs a line in docs (text.go), and a line for
// something that no longer exists must go.
func TestSchemaDocumented(t *testing.T) {
	for _, p := range problems(Walk(schema.SpecType()), docs) {
		t.Error(p)
	}
}

// problems lists what is wrong between the walked blocks and a doc table.
func problems(blocks []*Block, table map[string]doc) []string {
	var out []string
	seen := map[string]bool{}
	check := func(path string, d doc, ok bool) {
		seen[path] = true
		switch {
		case !ok || d.Desc == "":
			out = append(out, fmt.Sprintf("%s: no description in specref's docs table (internal/specref/text.go)", path))
		case strings.ContainsAny(d.Desc+d.Default+d.Type, "|\n"):
			out = append(out, fmt.Sprintf("%s: a '|' or newline would break the Markdown table", path))
		}
	}
	var visit func(b *Block)
	visit = func(b *Block) {
		d, ok := table[b.Path]
		check(b.Path, d, ok)
		if d.Default != "" || d.Type != "" {
			out = append(out, fmt.Sprintf("%s: a block has no default or type", b.Path))
		}
		for _, a := range b.Attrs {
			d, ok := table[a.Path]
			check(a.Path, d, ok)
			if a.Type == "" && d.Type == "" {
				out = append(out, fmt.Sprintf("%s: an expression attribute needs its HCL type in the table", a.Path))
			}
			if a.Type != "" && d.Type != "" {
				out = append(out, fmt.Sprintf("%s: type %q comes from the Go field; drop %q from the table", a.Path, a.Type, d.Type))
			}
			if a.Required && d.Default != "" {
				out = append(out, fmt.Sprintf("%s: required, so the default %q never applies", a.Path, d.Default))
			}
		}
		for _, nb := range b.Blocks {
			visit(nb)
		}
	}
	for _, b := range blocks {
		visit(b)
	}
	for path := range table {
		if !seen[path] {
			out = append(out, fmt.Sprintf("%s: documented but not in the schema", path))
		}
	}
	slices.Sort(out)
	return out
}

type fakeFile struct {
	Things []*fakeThing `hcl:"thing,block"`
}

type fakeThing struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Size      string         `hcl:"size"`
	SizeRange hcl.Range      `hcl:"size,attr_range"`
	Count     int            `hcl:"count,optional"`
	On        *bool          `hcl:"on,optional"`
	Tags      hcl.Expression `hcl:"tags,optional"`
	Untagged  string
	Inner     *fakeInner `hcl:"inner,block"`
}

type fakeInner struct {
	Names []string          `hcl:"names,optional"`
	Env   map[string]string `hcl:"env"`
}

func TestWalk(t *testing.T) {
	got := Walk(reflect.TypeFor[fakeFile]())
	want := []*Block{{
		Path: "thing", Name: "thing", Labels: []string{"name"}, Many: true,
		Attrs: []Attr{
			{Path: "thing.size", Name: "size", Type: "string", Required: true},
			{Path: "thing.count", Name: "count", Type: "number"},
			{Path: "thing.on", Name: "on", Type: "bool"},
			{Path: "thing.tags", Name: "tags"},
		},
		Blocks: []*Block{{
			Path: "thing.inner", Name: "inner",
			Attrs: []Attr{
				{Path: "thing.inner.names", Name: "names", Type: "list(string)"},
				{Path: "thing.inner.env", Name: "env", Type: "map(string)", Required: true},
			},
		}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func dump(bs []*Block) string {
	var s []string
	for _, b := range bs {
		s = append(s, fmt.Sprintf("%+v", *b), dump(b.Blocks))
	}
	return strings.Join(s, " ")
}

func TestWalkPanicsOnUnknownType(t *testing.T) {
	type bad struct {
		Things []struct {
			C chan int `hcl:"c"`
		} `hcl:"thing,block"`
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "field C") {
			t.Errorf("recover() = %v, want a panic naming field C", r)
		}
	}()
	Walk(reflect.TypeFor[bad]())
}

// problems must catch each kind of mistake, or TestSchemaDocumented proves
// nothing.
func TestProblems(t *testing.T) {
	table := map[string]doc{
		"thing":             {Desc: "A thing."},
		"thing.size":        {Desc: "Size.", Default: "`1`"}, // required with a default
		"thing.count":       {Desc: "Count | more."},         // breaks the table
		"thing.on":          {Desc: "On.", Type: "bool"},     // type already known
		"thing.tags":        {Desc: "Tags."},                 // expression without type
		"thing.inner.names": {Desc: "Names."},
		// thing.inner and thing.inner.env missing
		"thing.gone": {Desc: "Removed."},
	}
	got := problems(Walk(reflect.TypeFor[fakeFile]()), table)
	want := []string{
		"thing.count: a '|' or newline",
		"thing.gone: documented but not in the schema",
		"thing.inner.env: no description",
		"thing.inner: no description",
		"thing.on: type \"bool\" comes from the Go field",
		"thing.size: required",
		"thing.tags: an expression attribute needs its HCL type",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// Every block gets a section and every attribute a row in it; the
// appendices list exactly schema's profiles and create-only properties.
func TestMarkdown(t *testing.T) {
	md := string(Markdown([]ExitCode{{Code: 7, Meaning: "seven"}}))
	sections := map[string]string{}
	for _, s := range strings.Split(md, "\n## ")[1:] {
		title, body, _ := strings.Cut(s, "\n")
		sections[title] = body
	}
	var visit func(b *Block)
	visit = func(b *Block) {
		body, ok := sections[b.Path]
		if !ok {
			t.Errorf("no section %q", b.Path)
			return
		}
		for _, a := range b.Attrs {
			if !strings.Contains(body, "\n| `"+a.Name+"` | ") {
				t.Errorf("section %q has no row for %s", b.Path, a.Name)
			}
		}
		for _, nb := range b.Blocks {
			visit(nb)
		}
	}
	for _, b := range Walk(schema.SpecType()) {
		visit(b)
	}

	if row := "| `mode` | string | `\"" + schema.DefaultMode + "\"` |"; !strings.Contains(sections["service"], row) {
		t.Errorf("service section lacks %q", row)
	}
	for name, props := range schema.BuiltinProfiles {
		row := fmt.Sprintf("| `%s` | %s | %s |", name, props["recordsize"], props["compression"])
		if !strings.Contains(sections["Built-in profiles"], row) {
			t.Errorf("built-in profiles lack %q", row)
		}
	}
	if n := strings.Count(sections["Built-in profiles"], "\n| `"); n != len(schema.BuiltinProfiles) {
		t.Errorf("%d built-in profile rows, want %d", n, len(schema.BuiltinProfiles))
	}
	var listed []string
	for _, line := range strings.Split(sections["Create-time-only properties"], "\n") {
		if p, ok := strings.CutPrefix(line, "- "); ok {
			listed = append(listed, strings.Trim(p, "`"))
		}
	}
	if want := rules.CreateOnlyProperties(); !slices.Equal(listed, want) || len(want) == 0 {
		t.Errorf("create-time-only properties %v, want %v", listed, want)
	}
	if !strings.Contains(sections["Exit codes of nixgen"], "| 7 | seven |") {
		t.Error("exit codes not listed")
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{{"30m", "30m"}, {"2h", "2h"}, {"90m", "90m"}, {"45s", "45s"}} {
		d, err := time.ParseDuration(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := duration(d); got != c.want {
			t.Errorf("duration(%v) = %q, want %q", d, got, c.want)
		}
	}
}
