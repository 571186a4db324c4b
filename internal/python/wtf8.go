package python

import "unicode/utf8"

// A Python str may hold lone surrogates (U+D800..U+DFFF, e.g. from the
// escape '\ud800'), which UTF-8 cannot encode. Strings that may hold them
// (LiteralResult.Str, and the inputs of StrReprWTF8 and ASCIIReprWTF8) are
// carried in generalised UTF-8, here called WTF-8: the bytes Python's
// str.encode('utf-8', 'surrogatepass') produces, i.e. UTF-8 in which each
// surrogate code point is written as its own 3-byte sequence
// ED A0..BF 80..BF. Unlike WTF-8 proper, a high surrogate followed by a low
// one stays two sequences, as it does in Python.

// AppendRuneWTF8 appends r to b in generalised UTF-8 (see above): the UTF-8
// encoding of r, or the 3-byte sequence of a surrogate code point. A value
// that is not a code point (negative, above U+10FFFF) is written as U+FFFD.
func AppendRuneWTF8(b []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(b, byte(0xe0|r>>12), byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
	}
	return utf8.AppendRune(b, r)
}

// DecodeRuneWTF8 is utf8.DecodeRuneInString for generalised UTF-8: it also
// decodes the 3-byte sequence of a surrogate code point, as
// bytes.decode('utf-8', 'surrogatepass') does. Other invalid input gives
// (utf8.RuneError, 1), and an empty string (utf8.RuneError, 0).
func DecodeRuneWTF8(s string) (r rune, size int) {
	if len(s) >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf && s[2]&0xc0 == 0x80 {
		return rune(s[0]&0x0f)<<12 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), 3
	}
	return utf8.DecodeRuneInString(s)
}

// runesToWTF8 encodes code points in generalised UTF-8.
func runesToWTF8(rs []rune) []byte {
	out := make([]byte, 0, len(rs))
	for _, r := range rs {
		out = AppendRuneWTF8(out, r)
	}
	return out
}

// wtf8ToRunes decodes generalised UTF-8 into code points (invalid bytes
// become U+FFFD).
func wtf8ToRunes(s string) []rune {
	rs := make([]rune, 0, len(s))
	for len(s) > 0 {
		r, n := DecodeRuneWTF8(s)
		rs = append(rs, r)
		s = s[n:]
	}
	return rs
}
