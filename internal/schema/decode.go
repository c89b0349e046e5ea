package schema

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// decodeBody is gohcl.DecodeBody for the raw* types, with each type's body
// schema and field layout worked out once instead of by reflection on every
// block (at 10,000 services that reflection was most of the decode time).
// The diagnostics are gohcl's: the body schema is gohcl.ImpliedBodySchema's
// and values go through gohcl.DecodeExpression. Only the tags the raw*
// types use are supported; another is a programming error and panics.
func decodeBody(body hcl.Body, val any) hcl.Diagnostics {
	rv := reflect.ValueOf(val).Elem()
	return planFor(rv.Type()).decode(body, rv)
}

// plan is how to decode one struct type.
type plan struct {
	schema   *hcl.BodySchema
	attrs    []attrField
	blocks   []blockField
	labels   []labelField
	defRange int // field index of the def_range, or -1
}

type attrField struct {
	name       string
	field, rng int // rng: field index of the attr_range, or -1
	isExpr     bool
}

type blockField struct {
	typeName string
	field    int
	slice    bool
	elem     reflect.Type // the struct type a block decodes into
}

type labelField struct{ field, rng int }

var (
	exprType  = reflect.TypeFor[hcl.Expression]()
	rangeType = reflect.TypeFor[hcl.Range]()
	plans     sync.Map // reflect.Type -> *plan
)

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	schema, partial := gohcl.ImpliedBodySchema(reflect.New(t).Interface())
	if partial {
		panic(fmt.Sprintf("schema: %s has a remain field; decodeBody does not support it", t))
	}
	p := &plan{schema: schema, defRange: -1}
	attrRanges := map[string]int{}
	labelRanges := map[string]int{}
	var labelNames []string
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		switch kind {
		case "", "optional":
			p.attrs = append(p.attrs, attrField{name: name, field: i, rng: -1, isExpr: t.Field(i).Type == exprType})
		case "attr_range":
			attrRanges[name] = i
		case "block":
			ft := t.Field(i).Type
			b := blockField{typeName: name, field: i}
			if ft.Kind() == reflect.Slice {
				b.slice, ft = true, ft.Elem()
			}
			if ft.Kind() != reflect.Pointer || ft.Elem().Kind() != reflect.Struct {
				panic(fmt.Sprintf("schema: block field %s.%s must be a pointer or a slice of pointers to a struct", t, t.Field(i).Name))
			}
			b.elem = ft.Elem()
			p.blocks = append(p.blocks, b)
		case "label":
			p.labels = append(p.labels, labelField{field: i, rng: -1})
			labelNames = append(labelNames, name)
		case "label_range":
			labelRanges[name] = i
		case "def_range":
			p.defRange = i
		default:
			panic(fmt.Sprintf("schema: tag kind %q of %s.%s is not supported by decodeBody", kind, t, t.Field(i).Name))
		}
	}
	for i := range p.attrs {
		if r, ok := attrRanges[p.attrs[i].name]; ok {
			p.attrs[i].rng = r
		}
	}
	for i, n := range labelNames {
		if r, ok := labelRanges[n]; ok {
			p.labels[i].rng = r
		}
	}
	for _, f := range append(slicesOf(attrRanges), slicesOf(labelRanges)...) {
		if t.Field(f).Type != rangeType {
			panic(fmt.Sprintf("schema: range field %s.%s is not an hcl.Range", t, t.Field(f).Name))
		}
	}
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*plan)
}

func slicesOf(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (p *plan) decode(body hcl.Body, val reflect.Value) hcl.Diagnostics {
	content, diags := body.Content(p.schema)
	if content == nil {
		return diags
	}
	for _, a := range p.attrs {
		attr := content.Attributes[a.name]
		fv := val.Field(a.field)
		if attr == nil {
			if a.isExpr {
				// As gohcl does: a missing expression is a null one, so
				// callers can test it in cty terms.
				fv.Set(reflect.ValueOf(hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), body.MissingItemRange())))
			}
			continue
		}
		if a.rng >= 0 {
			val.Field(a.rng).Set(reflect.ValueOf(attr.Range))
		}
		if a.isExpr {
			fv.Set(reflect.ValueOf(attr.Expr))
			continue
		}
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, fv.Addr().Interface())...)
	}
	if len(p.blocks) == 0 {
		return diags
	}
	byType := content.Blocks.ByType()
	for _, b := range p.blocks {
		blocks := byType[b.typeName]
		if len(blocks) == 0 {
			continue
		}
		if !b.slice {
			if len(blocks) > 1 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  fmt.Sprintf("Duplicate %s block", b.typeName),
					Detail:   fmt.Sprintf("Only one %s block is allowed. Another was defined at %s.", b.typeName, blocks[0].DefRange.String()),
					Subject:  &blocks[1].DefRange,
				})
				continue
			}
			v := reflect.New(b.elem)
			diags = append(diags, decodeBlock(blocks[0], v.Elem())...)
			val.Field(b.field).Set(v)
			continue
		}
		sli := reflect.MakeSlice(val.Field(b.field).Type(), len(blocks), len(blocks))
		for i, block := range blocks {
			v := reflect.New(b.elem)
			diags = append(diags, decodeBlock(block, v.Elem())...)
			sli.Index(i).Set(v)
		}
		val.Field(b.field).Set(sli)
	}
	return diags
}

func decodeBlock(block *hcl.Block, v reflect.Value) hcl.Diagnostics {
	p := planFor(v.Type())
	diags := p.decode(block.Body, v)
	for i, l := range block.Labels {
		v.Field(p.labels[i].field).SetString(l)
		if r := p.labels[i].rng; r >= 0 {
			v.Field(r).Set(reflect.ValueOf(block.LabelRanges[i]))
		}
	}
	if p.defRange >= 0 {
		v.Field(p.defRange).Set(reflect.ValueOf(block.DefRange))
	}
	return diags
}
