// Ported from CPython 3.11.2 Objects/unicodeobject.c str.lower (PSF License); see NOTICE.

package python

import (
	"strings"
	"unicode"
)

// Lower is Python 3.11 str.lower(): the full Unicode 14 lowercase mapping,
// including SpecialCasing (U+0130 'İ' becomes "i\u0307") and the
// Final_Sigma context rule (U+03A3 'Σ' at the end of a word becomes 'ς').
// Language-specific (tr, lt, az) rules are not applied, as in Python.
// Invalid UTF-8 bytes are read as U+FFFD, which lowercases to itself.
func Lower(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch {
		case r < 0x80:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case r == 0x3a3:
			b.WriteRune(lowerSigma(rs, i))
		default:
			if low, ok := lookupEntry(lowerMap14, r); ok {
				b.WriteString(low)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// lowerSigma mirrors handle_capital_sigma() in Objects/unicodeobject.c:
// Σ is final when preceded by a cased letter and not followed by one,
// skipping case-ignorable characters in both directions.
func lowerSigma(rs []rune, i int) rune {
	j := i - 1
	for j >= 0 && unicode.Is(caseIgnorable14, rs[j]) {
		j--
	}
	final := j >= 0 && unicode.Is(cased14, rs[j])
	if final && i+1 < len(rs) {
		j = i + 1
		for j < len(rs) && unicode.Is(caseIgnorable14, rs[j]) {
			j++
		}
		final = j == len(rs) || !unicode.Is(cased14, rs[j])
	}
	if final {
		return 0x3c2
	}
	return 0x3c3
}
