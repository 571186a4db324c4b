// Ported from CPython 3.11.2 Objects/unicodectype.c str.isspace/str.isprintable (PSF License); see NOTICE.

package python

import (
	"sort"
	"unicode"
)

//go:generate sh -c "/usr/bin/python3 gen_tables.py > tables.go"

// IsSpace is Python str.isspace() for one code point, which is also what
// `\s` matches in a Python str regex: Go's unicode.IsSpace plus the
// information separators U+001C..U+001F (bidirectional class B or S).
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// IsPrintable is Python str.isprintable() for one code point (Unicode 14):
// false for the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and for Zs other than
// the ASCII space. These are the characters repr() of a str escapes.
func IsPrintable(r rune) bool { return unicode.Is(printable14, r) }

// isXIDStart and isXIDContinue are the identifier rules of the 3.11
// tokenizer (Unicode 14), probed from the interpreter by gen_tables.py.
func isXIDStart(r rune) bool    { return unicode.Is(xidStart14, r) }
func isXIDContinue(r rune) bool { return unicode.Is(xidContinue14, r) }

// lowerEntry maps a code point to a string (a lowercase mapping or an NFKC
// form).
type lowerEntry struct {
	r rune
	s string
}

func lookupEntry(table []lowerEntry, r rune) (string, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].r >= r })
	if i < len(table) && table[i].r == r {
		return table[i].s, true
	}
	return "", false
}

// nfkcIsSet reports whether an identifier normalises (NFKC) to "set".
// Every code point whose NFKC form is a piece of "set" is a single ASCII
// letter, so normalising character by character is exact here.
func nfkcIsSet(id string) bool {
	norm := make([]byte, 0, 3)
	for _, r := range id {
		part := string(r)
		if r >= 0x80 {
			p, ok := lookupEntry(nfkcSetParts, r)
			if !ok {
				return false
			}
			part = p
		}
		norm = append(norm, part...)
		if len(norm) > 3 {
			return false
		}
	}
	return string(norm) == "set"
}
