// Ported from CPython 3.11.2 Objects/unicodeobject.c, Objects/bytesobject.c and Python/pystrtod.c repr() (PSF License); see NOTICE.

package python

import (
	"math"
	"strconv"
	"strings"
)

const hexDigits = "0123456789abcdef"

// FloatRepr is Python repr(float) / str(float): the shortest digits that
// round-trip, in exponent form when the decimal exponent is < -4 or >= 16,
// and with ".0" appended to integral values: "inf", "-inf", "nan", "-0.0",
// "10.0", "1e+20", "1e-05", "0.0001".
func FloatRepr(f float64) string { return formatFloat(f, true, false) }

// formatFloat is PyOS_double_to_string(f, 'r', 0, flags, NULL): addDot0 is
// Py_DTSF_ADD_DOT_0 and sign is Py_DTSF_SIGN. The shortest round-trip digits
// of strconv and of Python's dtoa (mode 0) are the same digits.
func formatFloat(f float64, addDot0, sign bool) string {
	var b strings.Builder
	if math.IsNaN(f) {
		if sign {
			b.WriteByte('+')
		}
		b.WriteString("nan") // the sign of a NaN is ignored
		return b.String()
	}
	if math.Signbit(f) {
		b.WriteByte('-')
	} else if sign {
		b.WriteByte('+')
	}
	if math.IsInf(f, 0) {
		b.WriteString("inf")
		return b.String()
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64) // d.ddddde±XX
	ePos := strings.IndexByte(s, 'e')
	digits := strings.Replace(s[:ePos], ".", "", 1)
	exp, _ := strconv.Atoi(s[ePos+1:])
	decpt := exp + 1 // position of the decimal point relative to digits
	switch {
	case decpt <= -4 || decpt > 16:
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		if addDot0 {
			b.WriteString(".0")
		}
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}

// complexRepr is repr(complex): "1j", "(1+2j)", "(-0-1j)", "(inf-infj)".
func complexRepr(re, im float64) string {
	if re == 0 && !math.Signbit(re) {
		return formatFloat(im, false, false) + "j"
	}
	return "(" + formatFloat(re, false, false) + formatFloat(im, false, true) + "j)"
}

// StrRepr is Python repr(str): single quotes unless the string contains '
// and no ", backslash escapes for \\ \n \r \t and the chosen quote, \xNN for
// other ASCII controls and for non-printable U+0080..U+00FF, \uNNNN and
// \UNNNNNNNN (lowercase hex) for other non-printable characters, using
// str.isprintable() of Unicode 14. Invalid UTF-8 bytes are read as U+FFFD.
func StrRepr(s string) string { return strRepr([]rune(s), false) }

// StrReprWTF8 is StrRepr of a str held in generalised UTF-8 (see
// AppendRuneWTF8), such as LiteralResult.Str: an encoded lone surrogate is
// read as that code point, which repr() escapes ('\ud800'). Other invalid
// bytes are read as U+FFFD. On valid UTF-8 it equals StrRepr.
func StrReprWTF8(s string) string { return strRepr(wtf8ToRunes(s), false) }

// ASCIIReprWTF8 is Python ascii() of a str held in generalised UTF-8: repr()
// with every non-ASCII character escaped as \xNN, \uNNNN or \UNNNNNNNN,
// printable or not. Input is read as by StrReprWTF8.
func ASCIIReprWTF8(s string) string { return strRepr(wtf8ToRunes(s), true) }

// strRepr is repr(str), or ascii(str) when asciiOnly is set. It works on
// code points so that lone surrogates (which a Python string literal can
// produce) are escaped as Python does.
func strRepr(rs []rune, asciiOnly bool) string {
	squote, dquote := false, false
	for _, r := range rs {
		switch r {
		case '\'':
			squote = true
		case '"':
			dquote = true
		}
	}
	quote := '\''
	if squote && !dquote {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(rs) + 2)
	b.WriteRune(quote)
	for _, r := range rs {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			writeHexEscape(&b, 'x', uint32(r), 2)
		case r < 0x7f:
			b.WriteRune(r)
		case !asciiOnly && IsPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			writeHexEscape(&b, 'x', uint32(r), 2)
		case r <= 0xffff:
			writeHexEscape(&b, 'u', uint32(r), 4)
		default:
			writeHexEscape(&b, 'U', uint32(r), 8)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

func writeHexEscape(b *strings.Builder, kind byte, v uint32, width int) {
	b.WriteByte('\\')
	b.WriteByte(kind)
	for i := width - 1; i >= 0; i-- {
		b.WriteByte(hexDigits[(v>>(4*uint(i)))&0xf])
	}
}

// BytesRepr is Python repr(bytes), which is also str(bytes): b'...' (b"..."
// when the bytes contain ' and no "), with backslash escapes for \\ \n \r
// \t and the chosen quote, and \xNN (lowercase hex) for other bytes
// outside 0x20..0x7e.
func BytesRepr(bs []byte) string {
	squote, dquote := false, false
	for _, c := range bs {
		switch c {
		case '\'':
			squote = true
		case '"':
			dquote = true
		}
	}
	quote := byte('\'')
	if squote && !dquote {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(bs) + 3)
	b.WriteByte('b')
	b.WriteByte(quote)
	for _, c := range bs {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			writeHexEscape(&b, 'x', uint32(c), 2)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
