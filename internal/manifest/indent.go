package manifest

import "bytes"

// indent appends src, compact JSON as encoding/json writes it, to dst
// indented as json.Indent(dst, src, "", "  ") would: a newline and two
// spaces per level after every { [ and , and before every } ], none inside
// an empty object or array, a space after every colon. json.Indent runs a
// full JSON scanner byte by byte (twice as long as the marshalling itself
// for a manifest); this copies strings in one piece and looks only at the
// punctuation between them. It does not validate: src must be what the
// encoder wrote (a test compares the two on every manifest it renders).
func indent(dst, src []byte) []byte {
	depth := 0
	open := false // after { or [: the newline waits, so that {} and [] stay
	for i := 0; i < len(src); i++ {
		c := src[i]
		if open && c != '}' && c != ']' {
			open = false
			depth++
			dst = newline(dst, depth)
		}
		switch c {
		case '"':
			end := stringEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			open = true
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = newline(dst, depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				dst = newline(dst, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// stringEnd returns the index after the string that starts with the quote
// at src[start]: the first quote after it that no backslash escapes.
func stringEnd(src []byte, start int) int {
	i := start + 1
	for {
		q := bytes.IndexByte(src[i:], '"')
		if q < 0 {
			return len(src)
		}
		i += q
		backslashes := 0
		for j := i - 1; j > start && src[j] == '\\'; j-- {
			backslashes++
		}
		i++
		if backslashes%2 == 0 {
			return i
		}
	}
}

func newline(dst []byte, depth int) []byte {
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	return dst
}
