package casegen

import (
	"fmt"
	"strings"

	"github.com/oslorego/oslorego/internal/python"
)

// namesArea: issue 9 class E, \N{NAME} escapes in quoted KINDs (§5.4 step
// 2a). ast.literal_eval resolves them with Python 3.11's Unicode 14.0.0
// name table: every stored name and alias in any ASCII case, Hangul
// syllable and CJK unified ideograph names computed behind a case-sensitive
// prefix; anything else is a SyntaxError that escapes from enforce().
//
// Names contain spaces, which the rule tokenizer splits on, so every check
// is a legacy list rule (no tokenizer). MATCH is %(t)s with t set to the
// string internal/python computes for the KIND; the oracle decides.
func namesArea() *area {
	a := newArea("names")
	names, err := python.CharNames()
	if err != nil {
		panic(err)
	}
	// check adds one case for a KIND made of the escapes of ns.
	check := func(note string, kind string) {
		t := "x"
		if lit := python.LiteralEval(kind); lit.Class == python.Literal && lit.Err == "" {
			t = lit.Str
		}
		a.add("issue 9 E: "+note, one(L{L{kind + ":%(t)s"}}, M{"t": t}, nil))
	}
	escapes := func(ns []string) string {
		var b strings.Builder
		b.WriteString("'")
		for _, n := range ns {
			b.WriteString(`\N{` + n + `}`)
		}
		b.WriteString("'")
		return b.String()
	}
	const group = 16
	spellings := []struct {
		note string
		f    func(int, string) string
	}{
		{"as listed", func(_ int, n string) string { return n }},
		{"in lower case", func(_ int, n string) string { return strings.ToLower(n) }},
		{"in mixed case", func(i int, n string) string {
			b := []byte(n)
			for j := range b {
				if (i+j)%3 == 0 && b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}},
	}
	// The first and last stored name of every 256-code-point block that
	// has one, and every alias, in groups; the spelling rotates by group.
	var sample, aliases []string
	for i, n := range names {
		switch {
		case n.Alias:
			aliases = append(aliases, n.Name)
		case i == 0 || names[i-1].Alias || names[i-1].Rune>>8 != n.Rune>>8,
			i == len(names)-1 || names[i+1].Alias || names[i+1].Rune>>8 != n.Rune>>8:
			sample = append(sample, n.Name)
		}
	}
	for _, set := range []struct {
		what string
		ns   []string
	}{{"stored names at the edges of each 256-code-point block", sample}, {"name aliases", aliases}} {
		for g, i := 0, 0; i < len(set.ns); g, i = g+1, i+group {
			sp := spellings[g%len(spellings)]
			var ns []string
			for k, n := range set.ns[i:min(i+group, len(set.ns))] {
				ns = append(ns, sp.f(k, n))
			}
			check(fmt.Sprintf("%s, %s (%s .. %s)", set.what, sp.note, ns[0], ns[len(ns)-1]), escapes(ns))
		}
	}

	// Computed names: CJK unified ideographs (the edges of each Unicode 14
	// extension, 4 or 5 upper-case hex digits) and Hangul syllables.
	cjk := func(r rune) string { return fmt.Sprintf("CJK UNIFIED IDEOGRAPH-%04X", r) }
	for _, e := range [][2]rune{{0x3400, 0x4dbf}, {0x4e00, 0x9fff}, {0x20000, 0x2a6df}, {0x2a700, 0x2b738},
		{0x2b740, 0x2b81d}, {0x2b820, 0x2cea1}, {0x2ceb0, 0x2ebe0}, {0x30000, 0x3134a}} {
		check(fmt.Sprintf("CJK ideographs at the edges of U+%04X..U+%04X", e[0], e[1]),
			escapes([]string{cjk(e[0]), cjk(e[0] + 1), cjk(e[1] - 1), cjk(e[1])}))
		check(fmt.Sprintf("CJK ideograph U+%04X just before the range (unknown)", e[0]-1), escapes([]string{cjk(e[0] - 1)}))
		check(fmt.Sprintf("CJK ideograph U+%04X just after the range (unknown)", e[1]+1), escapes([]string{cjk(e[1] + 1)}))
	}
	hangul := []string{"GA", "GAG", "GGAG", "A", "YEOLB", "SSYEOSS", "HIH", "NWEOLH", "BBYU", "JJYAENG"}
	for i := range hangul {
		hangul[i] = "HANGUL SYLLABLE " + hangul[i]
	}
	check("Hangul syllable names", escapes(hangul))
	for _, n := range []string{
		"CJK UNIFIED IDEOGRAPH-04E00", "CJK UNIFIED IDEOGRAPH-004E00", "CJK UNIFIED IDEOGRAPH-4E0",
		"CJK UNIFIED IDEOGRAPH-4e00", "cjk unified ideograph-4E00", "Cjk Unified Ideograph-4E00",
		"CJK UNIFIED IDEOGRAPH-F900", "CJK UNIFIED IDEOGRAPH-", "CJK UNIFIED IDEOGRAPH-110000",
		"HANGUL SYLLABLE ga", "hangul syllable GA", "Hangul Syllable Ga", "HANGUL SYLLABLE ",
		"HANGUL SYLLABLE G", "HANGUL SYLLABLE GAX", "HANGUL SYLLABLE GGGA", "HANGUL SYLLABLE  GA",
		// stored names ending in a code point: any case
		"CJK COMPATIBILITY IDEOGRAPH-F900", "cjk compatibility ideograph-2fa1d", "KHITAN SMALL SCRIPT CHARACTER-18B00",
		"khitan small script character-18cd5", "NUSHU CHARACTER-1B170", "nushu character-1b2fb",
		"TANGUT COMPONENT-001", "tangut component-768",
		// unnamed in Python 3.11
		"TANGUT IDEOGRAPH-17000", "TANGUT IDEOGRAPH-187F7", "KHITAN SMALL SCRIPT CHARACTER-18CD6",
		"CJK UNIFIED IDEOGRAPH-2B739", "PRIVATE USE AREA", "<control>",
		// named sequences are not names for \N
		"LATIN CAPITAL LETTER A WITH MACRON AND GRAVE", "KEYCAP NUMBER SIGN", "TAMIL CONSONANT K",
		"latin small letter a with macron and grave",
		// spacing, spelling, characters names never contain
		"BULLET", " BULLET", "BULLET ", "BULLET  POINT", "EM_DASH", "EM-DASH", "EM DASH", "em dash",
		"TIBETAN MARK BKA- SHOG GI MGO RGYAN", "TIBETAN MARK BKA-SHOG GI MGO RGYAN",
		"HANGUL JUNGSEONG O-E", "HANGUL JUNGSEONG OE", "LATIN SMALL LETTER \u00e9", "BULLET\u00a0",
		"U+2022", "2022", "SPACE", "space", "Space", "NO-BREAK SPACE", "NBSP", "nbsp",
	} {
		check(fmt.Sprintf("the name %q", n), escapes([]string{n}))
	}

	// Malformed escapes and the literal forms that do not resolve names.
	for _, k := range []struct{ kind, note string }{
		{`'\N{}'`, "empty name: malformed escape"},
		{`'\N'`, "\\N without braces: malformed escape"},
		{`'\Nx'`, "\\N not followed by {: malformed escape"},
		{`'\N{BULLET'`, "unclosed name: malformed escape"},
		{`'\N{BULLET\}'`, "a backslash is part of the name"},
		{`'a\N{BULLET}b'`, "an escape between other characters"},
		{`'\N{BULLET}\N{nope}'`, "a known name then an unknown one"},
		{`'\\N{BULLET}'`, "escaped backslash: no escape"},
		{`u'\N{bullet}'`, "u prefix resolves names"},
		{`"\N{bullet}"`, "double quotes resolve names"},
		{`'''\N{bullet}'''`, "triple quotes resolve names"},
		{`'\N{bullet}' '\N{EM DASH}'`, "implicit concatenation"},
		{`r'\N{BULLET}'`, "raw string: no escape"},
		{`b'\N{BULLET}'`, "bytes: \\N is kept verbatim"},
		{`rb'\N{BULLET}'`, "raw bytes: no escape"},
		{`f'\N{BULLET}'`, "f-string: not a literal (creds path)"},
		{`f'\N{nope}'`, "f-string with an unknown name: SyntaxError first"},
		{`['\N{BULLET}', '\N{LF}']`, "names inside a list"},
		{`('\N{BULLET}',)`, "names inside a tuple"},
	} {
		check(k.note+" "+q(k.kind), k.kind)
	}
	// The reproducer, as a string rule; and a wrong character.
	a.add("issue 9 E: '\\N{BULLET}' in a string rule", one(`'\N{BULLET}':`+"\u2022", nil, nil))
	a.add("issue 9 E: '\\N{BULLET}' is not U+2023", one(`'\N{BULLET}':`+"\u2023", nil, nil))
	a.add("issue 9 E: '\\N{bullet}' against a formatted target", one(`'\N{bullet}':%(t)s`, M{"t": "\u2022"}, nil))
	a.add("issue 9 E: a missing target key gives False before the KIND with an unknown name is evaluated",
		one(`'\N{nope}':%(missing)s`, nil, nil))
	return a
}
