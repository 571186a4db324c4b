package python

import (
	"strings"
	"testing"
)

// Expected values were produced by ast.literal_eval + str() on
// /usr/bin/python3 (3.11.2); TestAgainstPython re-checks them live.
func TestLiteralEvalTable(t *testing.T) {
	cases := []struct {
		kind    string
		class   Class
		str     string
		errType string
	}{
		{"'spam'", Literal, "spam", ""},
		{"\"spam\"", Literal, "spam", ""},
		{"True", Literal, "True", ""},
		{"False", Literal, "False", ""},
		{"None", Literal, "None", ""},
		{"1", Literal, "1", ""},
		{"-1", Literal, "-1", ""},
		{"+1", Literal, "1", ""},
		{"0x10", Literal, "16", ""},
		{"0o17", Literal, "15", ""},
		{"0b101", Literal, "5", ""},
		{"1e3", Literal, "1000.0", ""},
		{"1_000", Literal, "1000", ""},
		{"1.", Literal, "1.0", ""},
		{".5", Literal, "0.5", ""},
		{"1_0.0", Literal, "10.0", ""},
		{"1j", Literal, "1j", ""},
		{"1.5j", Literal, "1.5j", ""},
		{"-1j", Literal, "(-0-1j)", ""},
		{"1+2j", Literal, "(1+2j)", ""},
		{"1-2j", Literal, "(1-2j)", ""},
		{"-1.5-0j", Literal, "(-1.5+0j)", ""},
		{"[1,2]", Literal, "[1, 2]", ""},
		{"[1, 'a']", Literal, "[1, 'a']", ""},
		{"(1,)", Literal, "(1,)", ""},
		{"()", Literal, "()", ""},
		{"(1, 2)", Literal, "(1, 2)", ""},
		{"{1,2}", Literal, "{1, 2}", ""},
		{"{2,1,True,1.0}", Literal, "{1, 2}", ""},
		{"{-1,-2,8,16}", Literal, "{8, 16, -1, -2}", ""},
		{"set()", Literal, "set()", ""},
		{"{}", Literal, "{}", ""},
		{"b'x'", Literal, "b'x'", ""},
		{"b\"it's\"", Literal, "b\"it's\"", ""},
		{"...", Literal, "Ellipsis", ""},
		{"00", Literal, "0", ""},
		{"1e999", Literal, "inf", ""},
		{"-1e999", Literal, "-inf", ""},
		{"1e16", Literal, "1e+16", ""},
		{"1e-05", Literal, "1e-05", ""},
		{"0.0001", Literal, "0.0001", ""},
		{"'a' 'b'", Literal, "ab", ""},
		{"u'x'", Literal, "x", ""},
		{"r'\\n'", Literal, "\\n", ""},
		{"'\\x41\\u00e9\\U0001F600'", Literal, "Aé😀", ""},
		{"'\\q'", Literal, "\\q", ""},
		{"'''t'''", Literal, "t", ""},
		{"'it''s'", Literal, "its", ""},
		{"\"it's\"", Literal, "it's", ""},
		{"['it\\'s', \"q\\\"\"]", Literal, "[\"it's\", 'q\"']", ""},
		{"[b'\\x00\\xff']", Literal, "[b'\\x00\\xff']", ""},
		{"(None, True, ...)", Literal, "(None, True, Ellipsis)", ""},
		{"123456789012345678901234567890", Literal, "123456789012345678901234567890", ""},
		{"-0x8000000000000000", Literal, "-9223372036854775808", ""},
		{"[0.1, 1e+16, -0.0]", Literal, "[0.1, 1e+16, -0.0]", ""},
		{"{(1, 2), (2, 1)}", Literal, "{(1, 2), (2, 1)}", ""},
		{"ſet()", Literal, "set()", ""},
		{"ｓｅｔ()", Literal, "set()", ""},
		{"tenant", NotLiteral, "", ""},
		{"print", NotLiteral, "", ""},
		{"true", NotLiteral, "", ""},
		{"project-id", NotLiteral, "", ""},
		{"a/b", NotLiteral, "", ""},
		{"user@dom", NotLiteral, "", ""},
		{"is_admin", NotLiteral, "", ""},
		{"token.domain.id", NotLiteral, "", ""},
		{"match", NotLiteral, "", ""},
		{"_", NotLiteral, "", ""},
		{"f'{x}'", NotLiteral, "", ""},
		{"f'a'", NotLiteral, "", ""},
		{"{**a}", NotLiteral, "", ""},
		{"not 1", NotLiteral, "", ""},
		{"--1", NotLiteral, "", ""},
		{"-True", NotLiteral, "", ""},
		{"1+1", NotLiteral, "", ""},
		{"1j+1", NotLiteral, "", ""},
		{"x[0]", NotLiteral, "", ""},
		{"a if b else c", NotLiteral, "", ""},
		{"[x for x in y]", NotLiteral, "", ""},
		{"(yield)", NotLiteral, "", ""},
		{"set(*())", NotLiteral, "", ""},
		{"{a, [2]}", NotLiteral, "", ""},
		{"\u0000", NotLiteral, "", ""},
		{"class", SyntaxError, "", "SyntaxError"},
		{"or", SyntaxError, "", "SyntaxError"},
		{"not", SyntaxError, "", "SyntaxError"},
		{"in", SyntaxError, "", "SyntaxError"},
		{"is", SyntaxError, "", "SyntaxError"},
		{"if", SyntaxError, "", "SyntaxError"},
		{"for", SyntaxError, "", "SyntaxError"},
		{"lambda", SyntaxError, "", "SyntaxError"},
		{"async", SyntaxError, "", "SyntaxError"},
		{"await", SyntaxError, "", "SyntaxError"},
		{"yield", SyntaxError, "", "SyntaxError"},
		{"nonlocal", SyntaxError, "", "SyntaxError"},
		{"roles.0", SyntaxError, "", "SyntaxError"},
		{"a..b", SyntaxError, "", "SyntaxError"},
		{".a", SyntaxError, "", "SyntaxError"},
		{"a.", SyntaxError, "", "SyntaxError"},
		{"", SyntaxError, "", "SyntaxError"},
		{" ", SyntaxError, "", "SyntaxError"},
		{"01", SyntaxError, "", "SyntaxError"},
		{"1_", SyntaxError, "", "SyntaxError"},
		{"0x", SyntaxError, "", "SyntaxError"},
		{"1__0", SyntaxError, "", "SyntaxError"},
		{"'unbalanced", SyntaxError, "", "SyntaxError"},
		{"\"unbalanced", SyntaxError, "", "SyntaxError"},
		{"(1", SyntaxError, "", "SyntaxError"},
		{"1)", SyntaxError, "", "SyntaxError"},
		{"[1", SyntaxError, "", "SyntaxError"},
		{"foo bar", SyntaxError, "", "SyntaxError"},
		{"$", SyntaxError, "", "SyntaxError"},
		{"?", SyntaxError, "", "SyntaxError"},
		{"!", SyntaxError, "", "SyntaxError"},
		{"`", SyntaxError, "", "SyntaxError"},
		{"a b", SyntaxError, "", "SyntaxError"},
		{"'a' b'b'", SyntaxError, "", "SyntaxError"},
		{"b'é'", SyntaxError, "", "SyntaxError"},
		{"f'{'", SyntaxError, "", "SyntaxError"},
		{"f'}'", SyntaxError, "", "SyntaxError"},
		{"'\\N{}'", SyntaxError, "", "SyntaxError"},
		{"1.real", SyntaxError, "", "SyntaxError"},
		{"\n 1", SyntaxError, "", "IndentationError"},
		{"\ufeff1", SyntaxError, "", "SyntaxError"},
		{"€", SyntaxError, "", "SyntaxError"},
		{"a b", SyntaxError, "", "SyntaxError"},
		{"{[1]}", SyntaxError, "", "TypeError"},
		{"{{1}}", SyntaxError, "", "TypeError"},
		{"{(1, [2])}", SyntaxError, "", "TypeError"},
		{"{1, [2], a}", SyntaxError, "", "TypeError"},
		{"{'a', 'a'}", Literal, "{'a'}", ""},
		// Beyond the limits of the parser and of int/str conversion.
		{strings.Repeat("1", 400) + "+1j", SyntaxError, "", "OverflowError"},
		{"1" + strings.Repeat("0", 4299), Literal, "1" + strings.Repeat("0", 4299), ""},
		{"1" + strings.Repeat("0", 4300), SyntaxError, "", "SyntaxError"},
		{"0x" + strings.Repeat("f", 3575), NotLiteral, "", ""}, // str() raises ValueError
		{strings.Repeat("0", 5000), Literal, "0", ""},
		{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), Literal, "1", ""},
		{strings.Repeat("(", 201) + "1" + strings.Repeat(")", 201), SyntaxError, "", "SyntaxError"},
		{strings.Repeat("[", 200) + "1" + strings.Repeat("]", 200), Literal, strings.Repeat("[", 200) + "1" + strings.Repeat("]", 200), ""},
		{strings.Repeat("[-", 199) + "1" + strings.Repeat("]", 199), NotLiteral, "", ""},
		{strings.Repeat("[-", 200) + "1" + strings.Repeat("]", 200), SyntaxError, "", "MemoryError"},
		// The AST conversion limit depends on the Python stack depth of
		// the caller; these values hold for pythonFrames (4) frames.
		{strings.Repeat("-", 2986) + "1", NotLiteral, "", ""},
		{strings.Repeat("-", 2987) + "1", SyntaxError, "", "RecursionError"},
	}
	for _, c := range cases {
		got := LiteralEval(c.kind)
		if got.Class != c.class || got.Str != c.str || errType(got.Err) != c.errType {
			t.Errorf("LiteralEval(%.60q) = {%v %.60q %q}, want {%v %.60q %s}", c.kind, got.Class, got.Str, got.Err, c.class, c.str, c.errType)
		}
	}
}

// TestLiteralEvalNotComputable covers the documented limits: the class is
// right but Str cannot be known, and Err says why.
func TestLiteralEvalNotComputable(t *testing.T) {
	cases := []struct {
		kind  string
		class Class
		str   string
		err   string
	}{
		{"{'a', 'b'}", Literal, "", ErrSetOrder},       // str hashes are randomised
		{"{None, 1}", Literal, "", ErrSetOrder},        // None hashes by address
		{"{(1, 'x'), (2,)}", Literal, "", ErrSetOrder}, // ... also inside tuples
		{"{'a', 'a'}", Literal, "{'a'}", ""},           // one element: no order issue
		{"{'a', [1]}", SyntaxError, "", ""},            // TypeError wins over order
		{"{'a', 0x" + strings.Repeat("f", 3575) + "}", NotLiteral, "", ""},
		{`'\ud800'`, Literal, "\xed\xa0\x80", ErrSurrogate},
		{`['\ud800']`, Literal, `['\ud800']`, ""},
		{"{1:2}", SyntaxError, "", ErrColon},
		{"'a:b'", SyntaxError, "", ErrColon},
	}
	for _, c := range cases {
		got := LiteralEval(c.kind)
		if got.Class != c.class || got.Str != c.str || (c.err != "" && got.Err != c.err) ||
			(c.class == SyntaxError && got.Err == "") {
			t.Errorf("LiteralEval(%.60q) = %+v, want {%v %q %q}", c.kind, got, c.class, c.str, c.err)
		}
	}
}

// TestLiteralEvalCharNames covers \N{NAME} escapes (issue 9 E). Expected
// values were produced by ast.literal_eval + str() on /usr/bin/python3
// (3.11.2, Unicode 14.0.0); TestCharNamesAgainstPython sweeps every name.
func TestLiteralEvalCharNames(t *testing.T) {
	const unknown = "SyntaxError: (unicode error) 'unicodeescape' codec can't decode bytes: unknown Unicode character name"
	const malformed = "SyntaxError: (unicode error) 'unicodeescape' codec can't decode bytes: malformed \\N character escape"
	cases := []struct {
		kind  string
		class Class
		str   string
		err   string
	}{
		{`'\N{BULLET}'`, Literal, "\u2022", ""},
		{`'\N{bullet}'`, Literal, "\u2022", ""}, // any ASCII case
		{`'\N{Bullet}'`, Literal, "\u2022", ""},
		{`u'\N{bullet}'`, Literal, "\u2022", ""},
		{`'\N{EM DASH}'`, Literal, "\u2014", ""},
		{`'a\N{BULLET}b\N{EM DASH}'`, Literal, "a\u2022b\u2014", ""},
		{`[ '\N{BULLET}' ]`, Literal, "['\u2022']", ""},
		{`('\N{BULLET}',)`, Literal, "('\u2022',)", ""},
		{`'\N{SPACE}'`, Literal, " ", ""},
		{`'\N{LATIN SMALL LETTER A}'`, Literal, "a", ""},
		{`'\N{latin small letter a}'`, Literal, "a", ""},
		{`'\N{LATIN SMALL LETTER SHARP S}'`, Literal, "\u00df", ""},
		{`'\N{GRINNING FACE}'`, Literal, "\U0001F600", ""},
		{`'\N{digit one}'`, Literal, "1", ""},
		{`'\N{HYPHEN-MINUS}'`, Literal, "-", ""},
		{`'\N{TIBETAN MARK BKA- SHOG GI MGO RGYAN}'`, Literal, "\u0fd0", ""},
		{`'\N{HANGUL JUNGSEONG O-E}'`, Literal, "\u1180", ""},
		{`'\N{HANGUL JUNGSEONG OE}'`, Literal, "\u116c", ""},
		{`'\N{TANGUT COMPONENT-001}'`, Literal, "\U00018800", ""},
		{`'\N{WEIERSTRASS ELLIPTIC FUNCTION}'`, Literal, "\u2118", ""},
		// Name aliases (NameAliases.txt), also in any case.
		{`'\N{SCRIPT CAPITAL P}'`, Literal, "\u2118", ""},
		{`'\N{LINE FEED}'`, Literal, "\n", ""},
		{`'\N{LF}'`, Literal, "\n", ""},
		{`'\N{NUL}'`, Literal, "\x00", ""},
		{`'\N{NULL}'`, Literal, "\x00", ""},
		{`'\N{CHARACTER TABULATION}'`, Literal, "\t", ""},
		{`'\N{ALERT}'`, Literal, "\a", ""},
		{`'\N{BYTE ORDER MARK}'`, Literal, "\ufeff", ""},
		{`'\N{bom}'`, Literal, "\ufeff", ""},
		{`'\N{ZWSP}'`, Literal, "\u200b", ""},
		// Names ending in a code point that are stored, not computed: any case.
		{`'\N{KHITAN SMALL SCRIPT CHARACTER-18B00}'`, Literal, "\U00018B00", ""},
		{`'\N{khitan small script character-18b00}'`, Literal, "\U00018B00", ""},
		{`'\N{NUSHU CHARACTER-1B170}'`, Literal, "\U0001B170", ""},
		{`'\N{CJK COMPATIBILITY IDEOGRAPH-F900}'`, Literal, "\uf900", ""},
		{`'\N{cjk compatibility ideograph-f900}'`, Literal, "\uf900", ""},
		// Computed names: case-sensitive prefix, 4 or 5 upper-case hex digits.
		{`'\N{CJK UNIFIED IDEOGRAPH-4E00}'`, Literal, "\u4e00", ""},
		{`'\N{CJK UNIFIED IDEOGRAPH-04E00}'`, Literal, "\u4e00", ""},
		{`'\N{CJK UNIFIED IDEOGRAPH-2A6DF}'`, Literal, "\U0002A6DF", ""},
		{`'\N{CJK UNIFIED IDEOGRAPH-3134A}'`, Literal, "\U0003134A", ""},
		{`'\N{CJK UNIFIED IDEOGRAPH-004E00}'`, SyntaxError, "", unknown},
		{`'\N{CJK UNIFIED IDEOGRAPH-4e00}'`, SyntaxError, "", unknown},
		{`'\N{cjk unified ideograph-4E00}'`, SyntaxError, "", unknown},
		{`'\N{CJK UNIFIED IDEOGRAPH-4DC0}'`, SyntaxError, "", unknown},  // between extension A and the main block
		{`'\N{CJK UNIFIED IDEOGRAPH-3134B}'`, SyntaxError, "", unknown}, // after extension G
		{`'\N{CJK UNIFIED IDEOGRAPH-F900}'`, SyntaxError, "", unknown},  // a compatibility ideograph
		{`'\N{HANGUL SYLLABLE GA}'`, Literal, "\uac00", ""},
		{`'\N{HANGUL SYLLABLE A}'`, Literal, "\uc544", ""},
		{`'\N{HANGUL SYLLABLE GAG}'`, Literal, "\uac01", ""},
		{`'\N{HANGUL SYLLABLE GGAG}'`, Literal, "\uae4d", ""},
		{`'\N{HANGUL SYLLABLE YEOLB}'`, Literal, "\uc5f7", ""},
		{`'\N{HANGUL SYLLABLE HIH}'`, Literal, "\ud7a3", ""},
		{`'\N{hangul syllable GA}'`, SyntaxError, "", unknown},
		{`'\N{HANGUL SYLLABLE ga}'`, SyntaxError, "", unknown},
		{`'\N{HANGUL SYLLABLE }'`, SyntaxError, "", unknown},
		{`'\N{HANGUL SYLLABLE G}'`, SyntaxError, "", unknown},
		{`'\N{HANGUL SYLLABLE GAX}'`, SyntaxError, "", unknown},
		// Not names: named sequences, Tangut ideographs (unnamed in 3.11),
		// spacing and spelling variants, non-ASCII.
		{`'\N{LATIN CAPITAL LETTER A WITH MACRON AND GRAVE}'`, SyntaxError, "", unknown},
		{`'\N{TANGUT IDEOGRAPH-17000}'`, SyntaxError, "", unknown},
		{`'\N{PRIVATE USE AREA}'`, SyntaxError, "", unknown},
		{`'\N{EM_DASH}'`, SyntaxError, "", unknown},
		{`'\N{ BULLET}'`, SyntaxError, "", unknown},
		{`'\N{BULLET }'`, SyntaxError, "", unknown},
		{`'\N{BULLET  X}'`, SyntaxError, "", unknown},
		{`'\N{TIBETAN MARK BKA-SHOG GI MGO RGYAN}'`, SyntaxError, "", unknown},
		{`'\N{BULLET\}'`, SyntaxError, "", unknown},
		{"'\\N{\u00e9}'", SyntaxError, "", unknown},
		{`'\N{BULLET}\N{foo}'`, SyntaxError, "", unknown},
		// Malformed escapes.
		{`'\N{}'`, SyntaxError, "", malformed},
		{`'\N'`, SyntaxError, "", malformed},
		{`'\N{'`, SyntaxError, "", malformed},
		{`'\Nx'`, SyntaxError, "", malformed},
		{`'\N{BULLET'`, SyntaxError, "", malformed},
		// No escape in bytes (kept verbatim) and raw strings; f-strings are
		// not literals, but their names are resolved first.
		{`b'\N{BULLET}'`, Literal, `b'\\N{BULLET}'`, ""},
		{`r'\N{BULLET}'`, Literal, `\N{BULLET}`, ""},
		{`f'\N{BULLET}'`, NotLiteral, "", ""},
		{`f'\N{BULLET}{x}'`, NotLiteral, "", ""},
		{`f'\N{FOO}{x}'`, SyntaxError, "", unknown},
	}
	for _, c := range cases {
		got := LiteralEval(c.kind)
		if got.Class != c.class || got.Str != c.str || got.Err != c.err {
			t.Errorf("LiteralEval(%q) = %+v, want {%v %q %q}", c.kind, got, c.class, c.str, c.err)
		}
	}
}

func TestLiteralEvalLeadingBlanks(t *testing.T) {
	// ast.literal_eval strips only leading spaces and tabs.
	for _, k := range []string{"1", "'a'", "x", "class"} {
		want := LiteralEval(k)
		for _, prefix := range []string{" ", "\t", " \t  "} {
			if got := LiteralEval(prefix + k); got != want {
				t.Errorf("LiteralEval(%q) = %+v, want %+v", prefix+k, got, want)
			}
		}
	}
	if got := LiteralEval("\f 1"); got.Class != SyntaxError || errType(got.Err) != "IndentationError" {
		t.Errorf("form feed is not stripped: got %+v", got)
	}
}

func TestLiteralEvalInvalidUTF8(t *testing.T) {
	// Each invalid byte reads as U+FFFD, which is not an identifier character.
	if got := LiteralEval("'\xff'"); got.Class != Literal || got.Str != "\ufffd" {
		t.Errorf("got %+v", got)
	}
	if got := LiteralEval("a\xffb"); got.Class != SyntaxError {
		t.Errorf("got %+v", got)
	}
}

func BenchmarkLiteralEval(b *testing.B) {
	kinds := []string{"'spam'", "True", "token.domain.id", "is_admin", "project-id", "[1, 2]", "None", "{1, 2, 3}"}
	for i := 0; i < b.N; i++ {
		LiteralEval(kinds[i%len(kinds)])
	}
}
