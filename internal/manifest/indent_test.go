package manifest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// jsonIndent is what Marshal wrote before it had its own indenter.
func jsonIndent(t testing.TB, compact []byte) []byte {
	t.Helper()
	var want bytes.Buffer
	if err := json.Indent(&want, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	return want.Bytes()
}

// encodeCompact marshals v as marshalCompact does a manifest.
func encodeCompact(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var indentSeeds = []string{
	`{}`, `[]`, `""`, `0`, `null`, `true`,
	`{"a":{},"b":[],"c":[{}],"d":[[]],"e":{"f":[]}}`,
	`{"q":"a\"b","bs":"a\\","bsq":"a\\\"","only":"\\\\","u":"\u00e9<>&\u2028","ctl":"\n\t\u0001"}`,
	`[1,-2.5e10,"x",null,false,{"k":[1,[2,[3]]]}]`,
	`{"":"","{":"}","[":"]",",":":"}`,
}

func TestIndentMatchesEncodingJSON(t *testing.T) {
	for _, s := range indentSeeds {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("seed %s: %v", s, err)
		}
		compact := encodeCompact(t, v)
		if got, want := indent(nil, compact), jsonIndent(t, compact); !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", s, got, want)
		}
	}
	// A whole manifest, as Marshal writes it (with the marker).
	m := valid()
	got, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	withMarker := *m
	withMarker.Generated = GeneratedMarker
	if want := jsonIndent(t, encodeCompact(t, &withMarker)); !bytes.Equal(got, want) {
		t.Errorf("Marshal:\ngot  %s\nwant %s", got, want)
	}
}

func FuzzIndent(f *testing.F) {
	for _, s := range indentSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		compact := encodeCompact(t, v)
		if got, want := indent(nil, compact), jsonIndent(t, compact); !bytes.Equal(got, want) {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})
}
