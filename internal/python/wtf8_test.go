package python

import (
	"testing"
	"unicode/utf8"
)

func TestWTF8(t *testing.T) {
	cases := []struct {
		in   string
		r    rune
		size int
	}{
		{"", utf8.RuneError, 0},
		{"a", 'a', 1},
		{"é!", 'é', 2},
		{"\U0001F600", 0x1f600, 4},
		{"\xed\xa0\x80x", 0xd800, 3},
		{"\xed\xbf\xbf", 0xdfff, 3},
		{"\xed\x9f\xbf", 0xd7ff, 3}, // ordinary UTF-8 just below the surrogates
		{"\xed\xa0", utf8.RuneError, 1},
		{"\xed\xa0\x41", utf8.RuneError, 1},
		{"\xef\xbf\xbd", utf8.RuneError, 3}, // U+FFFD itself
		{"\xff", utf8.RuneError, 1},
		{"\xf4\x90\x80\x80", utf8.RuneError, 1}, // above U+10FFFF
	}
	for _, c := range cases {
		if r, size := DecodeRuneWTF8(c.in); r != c.r || size != c.size {
			t.Errorf("DecodeRuneWTF8(%q) = %U, %d; want %U, %d", c.in, r, size, c.r, c.size)
		}
	}
	for r, want := range map[rune]string{
		'a': "a", 0xd800: "\xed\xa0\x80", 0xdc00: "\xed\xb0\x80", 0xdfff: "\xed\xbf\xbf",
		0x10ffff: "\U0010FFFF", -1: "\uFFFD", 0x110000: "\uFFFD",
	} {
		if got := string(AppendRuneWTF8([]byte("x"), r)); got != "x"+want {
			t.Errorf("AppendRuneWTF8(%U) = %q, want %q", r, got[1:], want)
		}
	}
	// Every code point, surrogates included, round-trips.
	for r := rune(0); r <= utf8.MaxRune; r++ {
		b := AppendRuneWTF8(nil, r)
		if got, size := DecodeRuneWTF8(string(b)); got != r || size != len(b) {
			t.Fatalf("DecodeRuneWTF8(AppendRuneWTF8(%U) = %q) = %U, %d", r, b, got, size)
		}
	}
}
