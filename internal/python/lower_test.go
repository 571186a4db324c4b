package python

import (
	"strings"
	"testing"
	"unicode"
)

// Expected values are str.lower() of /usr/bin/python3 (3.11.2).
func TestLower(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"HELLO", "hello"},
		{"ΑΣ", "ας"},   // final sigma
		{"ΣΑ", "σα"},   // not final: followed by a letter
		{"Σ", "σ"},     // not final: nothing cased before it
		{"ΑΣ.", "ας."}, // punctuation ends the word
		{"ΑΣ ΑΣ", "ας ας"},
		{"ΑΣΑ", "ασα"},
		{"Α'Σ", "α'ς"},   // ' is case-ignorable, skipped backwards
		{"ΑΣ'Α", "ασ'α"}, // ... and forwards
		{"ΑΣ\u0301", "ας\u0301"},
		{"Σ\u0301", "σ\u0301"},
		{"A\u0301Σ", "a\u0301ς"},
		{"ὈΔΥΣΣΕΎΣ", "ὀδυσσεύς"},
		{"aΣb", "aσb"},
		{"1Σ", "1σ"}, // a digit is not cased
		{"ʰΣ", "ʰσ"}, // a modifier letter is case-ignorable
		{"Σ\u00ad", "σ\u00ad"},
		{"İ", "i\u0307"}, // SpecialCasing: two code points
		{"Iİ", "ii\u0307"},
		{"İSTANBUL", "i\u0307stanbul"},
		{"ß", "ß"},
		{"ẞ", "ß"},
		{"ǅ", "ǆ"},
		{"Ǆ", "ǆ"},
		{"Ꭰ", "ꭰ"}, // Cherokee: lowercase is in a later block
		{"КИРИЛЛИЦА", "кириллица"},
		{"ΆΈΉ", "άέή"},
		{"ﬀ", "ﬀ"},
		{"\u212b", "å"}, // ANGSTROM SIGN
		{"\u2126", "ω"}, // OHM SIGN
		{"\u212a", "k"}, // KELVIN SIGN
		{"\U00010400", "\U00010428"},
		{"a\xffB", "a\ufffdb"}, // invalid UTF-8 reads as U+FFFD
	}
	for _, c := range cases {
		if got := Lower(c.in); got != c.want {
			t.Errorf("Lower(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLowerASCIIMatchesStrings(t *testing.T) {
	var b strings.Builder
	for c := 0; c < 0x80; c++ {
		b.WriteByte(byte(c))
	}
	if got, want := Lower(b.String()), strings.ToLower(b.String()); got != want {
		t.Errorf("Lower(ASCII) = %q, want %q", got, want)
	}
}

func TestLowerIdempotentPerCodePoint(t *testing.T) {
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if c >= 0xd800 && c < 0xe000 {
			continue
		}
		once := Lower(string(c))
		if twice := Lower(once); twice != once {
			t.Errorf("Lower(Lower(%U)) = %q, Lower = %q", c, twice, once)
		}
	}
}

func TestIsSpace(t *testing.T) {
	// Python 3.11: chr(c).isspace() is true exactly for these.
	want := map[rune]bool{}
	for _, r := range []rune{0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000} {
		want[r] = true
	}
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if IsSpace(c) != want[c] {
			t.Errorf("IsSpace(%U) = %v, want %v", c, IsSpace(c), want[c])
		}
	}
}
