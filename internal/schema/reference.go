package schema

import "reflect"

// SpecType is the Go type every spec file decodes into. Its gohcl tags are
// the language's grammar; internal/specref walks them to generate the
// reference, so the reference cannot miss a block or attribute.
func SpecType() reflect.Type { return reflect.TypeFor[rawFile]() }
