package python

import (
	"math"
	"testing"
)

// Expected values are repr() of /usr/bin/python3 (3.11.2).
func TestStrRepr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "''"},
		{"a", "'a'"},
		{"it's", `"it's"`},
		{`it's "x"`, `'it\'s "x"'`},
		{`"`, `'"'`},
		{`\`, `'\\'`},
		{"\n\r\t", `'\n\r\t'`},
		{"\x00\x07\x1b\x7f", `'\x00\x07\x1b\x7f'`},
		{"\u0080\u009f\u00a0\u00ad", `'\x80\x9f\xa0\xad'`},
		{"é", "'é'"},
		{"\u200b", `'\u200b'`},
		{"\u2028\u2029", `'\u2028\u2029'`},
		{"\u3000", `'\u3000'`},
		{"\U0001F600", "'\U0001F600'"},
		{"\U000E0001", `'\U000e0001'`},
		{"\u0378", `'\u0378'`},         // unassigned
		{"\U0001FAE8", `'\U0001fae8'`}, // assigned in Unicode 15 only: not printable in 3.11
		{"\ufffd", "'\ufffd'"},
		{"\ue000", `'\ue000'`},
		{"\ufeff", `'\ufeff'`},
		{"名字", "'名字'"},
		{"\u0301", "'\u0301'"},
		{"\xff", "'\ufffd'"}, // invalid UTF-8 reads as U+FFFD
	}
	for _, c := range cases {
		if got := StrRepr(c.in); got != c.want {
			t.Errorf("StrRepr(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// Inputs are generalised UTF-8 (surrogates as ED A0..BF 80..BF); expected
// values are repr() and ascii() of bytes.fromhex(...).decode("utf-8",
// "surrogatepass") in /usr/bin/python3.
func TestStrReprWTF8(t *testing.T) {
	cases := []struct{ in, repr, ascii string }{
		{"", "''", "''"},
		{"\xed\xa0\x80", `'\ud800'`, `'\ud800'`},
		{"\xed\xbf\xbf", `'\udfff'`, `'\udfff'`},
		{"a\xed\xa0\x80x\xed\xb0\x80", `'a\ud800x\udc00'`, `'a\ud800x\udc00'`},
		{"\xed\xa0\xbd\xed\xb8\x80", `'\ud83d\ude00'`, `'\ud83d\ude00'`}, // a pair stays two surrogates
		{"'\xed\xa0\x80\"", `'\'\ud800"'`, `'\'\ud800"'`},
		{"\U0001F600", "'\U0001F600'", `'\U0001f600'`},
		{"é名\n", "'é名\\n'", `'\xe9\u540d\n'`},
		{"\u00a0\u200b", `'\xa0\u200b'`, `'\xa0\u200b'`},
		{"\u0cf3", `'\u0cf3'`, `'\u0cf3'`}, // assigned in Unicode 15 only
		{"it's", `"it's"`, `"it's"`},
		{"\xed\xa0", "'\ufffd\ufffd'", `'\ufffd\ufffd'`}, // truncated: invalid bytes read as U+FFFD
		{"\xff", "'\ufffd'", `'\ufffd'`},
	}
	for _, c := range cases {
		if got := StrReprWTF8(c.in); got != c.repr {
			t.Errorf("StrReprWTF8(%q) = %s, want %s", c.in, got, c.repr)
		}
		if got := ASCIIReprWTF8(c.in); got != c.ascii {
			t.Errorf("ASCIIReprWTF8(%q) = %s, want %s", c.in, got, c.ascii)
		}
	}
}

func TestIsPrintable(t *testing.T) {
	// Python 3.11: chr(c).isprintable().
	for r, want := range map[rune]bool{
		0x20: true, 0x7e: true, 0x7f: false, 0xa0: false, 0xa1: true, 0xad: false, 0x378: false,
		0x2028: false, 0x3000: false, 0xe000: false, 0xfffd: true, 0x1f600: true, 0x1fae8: false,
		0xcf3: false, 0xe0001: false, 0x10ffff: false, 0xd800: false, 0xdfff: false, 0x0a: false,
	} {
		if got := IsPrintable(r); got != want {
			t.Errorf("IsPrintable(%U) = %v, want %v", r, got, want)
		}
	}
}

func TestFloatRepr(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{10, "10.0"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{1e17, "1e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1e20, "1e+20"},
		{1e22, "1e+22"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
		{-math.NaN(), "nan"},
		{0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"},
		{123456789.123, "123456789.123"},
		{-2.5e-7, "-2.5e-07"},
		{9007199254740993, "9007199254740992.0"},
		{-1.5, "-1.5"},
		{1.5e300, "1.5e+300"},
		{123456789.125, "123456789.125"},
		{1234567890123456.8, "1234567890123456.8"},
	}
	for _, c := range cases {
		if got := FloatRepr(c.in); got != c.want {
			t.Errorf("FloatRepr(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestComplexRepr(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cases := []struct {
		re, im float64
		want   string
	}{
		{0, 1, "1j"},
		{0, 1.5, "1.5j"},
		{negZero, -1, "(-0-1j)"},
		{1, 2, "(1+2j)"},
		{1, negZero, "(1-0j)"},
		{0, 1e20, "1e+20j"},
		{math.Inf(1), math.Inf(-1), "(inf-infj)"},
		{0, 0, "0j"},
	}
	for _, c := range cases {
		if got := complexRepr(c.re, c.im); got != c.want {
			t.Errorf("complexRepr(%v, %v) = %s, want %s", c.re, c.im, got, c.want)
		}
	}
}

func TestBytesRepr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "b''"},
		{"x", "b'x'"},
		{"it's", `b"it's"`},
		{`'"`, `b'\'"'`},
		{"\x00\t\n\r\\\x7f\x80\xff", `b'\x00\t\n\r\\\x7f\x80\xff'`},
	}
	for _, c := range cases {
		if got := BytesRepr([]byte(c.in)); got != c.want {
			t.Errorf("BytesRepr(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
