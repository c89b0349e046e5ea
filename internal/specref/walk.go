// Package specref generates the spec language reference (docs/spec-reference.md)
// from the schema: the blocks and attributes come from the gohcl tags of the
// structs specs decode into, the prose from a table in this package, and the
// defaults from schema's own constants, so the reference cannot drift from
// the code.
package specref

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Block is one block type of the language.
type Block struct {
	Path   string // dotted from the top level: "service.dataset"
	Name   string // the HCL block type: "dataset"
	Labels []string
	Many   bool // may appear more than once (decoded into a slice)
	Attrs  []Attr
	Blocks []*Block
}

// Attr is one attribute of a block.
type Attr struct {
	Path     string // "service.dataset.recordsize"
	Name     string
	Type     string // HCL type; "" for an hcl.Expression, whose type the table gives
	Required bool
}

var exprType = reflect.TypeFor[hcl.Expression]()

// Walk returns the block types that root's fields declare, in field order,
// each with its nested blocks. It panics on a tag or field type it does not
// know: the schema and this package must be changed together.
func Walk(root reflect.Type) []*Block {
	b := walk(root, "", "")
	if len(b.Attrs) > 0 {
		panic(fmt.Sprintf("specref: top-level attributes in %v are not supported", root))
	}
	return b.Blocks
}

func walk(t reflect.Type, path, name string) *Block {
	b := &Block{Path: path, Name: name}
	for f := range t.Fields() {
		tag, ok := f.Tag.Lookup("hcl")
		if !ok {
			continue
		}
		fname, kind, _ := strings.Cut(tag, ",")
		switch kind {
		case "attr_range", "def_range", "label_range", "type_range":
			// Source positions, not part of the language.
		case "label":
			b.Labels = append(b.Labels, fname)
		case "", "optional":
			b.Attrs = append(b.Attrs, Attr{Path: join(path, fname), Name: fname, Type: hclType(f.Type, f.Name), Required: kind == ""})
		case "block":
			bt, many := blockType(f.Type, f.Name)
			nb := walk(bt, join(path, fname), fname)
			nb.Many = many
			b.Blocks = append(b.Blocks, nb)
		default:
			panic(fmt.Sprintf("specref: field %s: unsupported hcl tag kind %q", f.Name, kind))
		}
	}
	return b
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func hclType(t reflect.Type, field string) string {
	if t == exprType {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "bool"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "list(string)"
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return "map(string)"
		}
	}
	panic(fmt.Sprintf("specref: field %s: no HCL type for Go type %v", field, t))
}

// blockType returns the struct a block field decodes into and whether the
// block may repeat.
func blockType(t reflect.Type, field string) (reflect.Type, bool) {
	many := false
	if t.Kind() == reflect.Slice {
		many, t = true, t.Elem()
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("specref: block field %s: %v is not a struct", field, t))
	}
	return t, many
}
