package python

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// exprGen produces random Python expressions, mostly well formed, so that
// the differential test exercises literal_eval and not only syntax errors.
type exprGen struct{ r *rand.Rand }

func (g exprGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g exprGen) sp() string {
	switch g.r.IntN(12) {
	case 0:
		return " "
	case 1:
		return "  "
	}
	return ""
}

func (g exprGen) intLit() string {
	switch g.r.IntN(9) {
	case 0:
		return fmt.Sprintf("%#x", g.r.Uint64()>>g.r.IntN(64))
	case 1:
		return fmt.Sprintf("0o%o", g.r.IntN(1000))
	case 2:
		return fmt.Sprintf("0b%b", g.r.IntN(64))
	case 3:
		return fmt.Sprintf("%d", g.r.Uint64())
	case 4:
		return g.pick("1_000", "0_0", "00", "2305843009213693951", "2305843009213693952", "4611686018427387904",
			"9223372036854775807", "18446744073709551616", "1"+strings.Repeat("0", 30))
	}
	return fmt.Sprintf("%d", g.r.IntN(40))
}

func (g exprGen) floatLit() string {
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf("%de%d", g.r.IntN(100), g.r.IntN(60)-30)
	case 1:
		return fmt.Sprintf("%d.", g.r.IntN(100))
	case 2:
		return fmt.Sprintf(".%d", g.r.IntN(100))
	case 3:
		return g.pick("1e999", "1e-999", "0.1", "2.5", "1e16", "1e-5", "0.0001", "1_0.5e1_0", "5e-324", "0.0")
	}
	return fmt.Sprintf("%d.%d", g.r.IntN(100), g.r.IntN(1000))
}

func (g exprGen) strLit() string {
	prefix := g.pick("", "", "", "r", "b", "u", "rb", "Br", "R", "f", "rf", "U", "F")
	quote := g.pick("'", "\"", "'''", `"""`)
	var b strings.Builder
	for n := g.r.IntN(5); n > 0; n-- {
		b.WriteString(g.pick("a", "Z", " ", "é", "名", "\\n", "\\t", "\\\\", "\\x41", "\\x4", "\\u00e9", "\\U0001F600",
			"\\0", "\\777", "\\q", "\\'", "\\\"", "{x}", "{{", "}}", "{1!r}", "{a=}", "\\N{DASH}", "\\N{EM DASH}", "\\N{em dash}", "\\N{ZWSP}",
			"\\N{HANGUL SYLLABLE HIH}", "\\N{CJK UNIFIED IDEOGRAPH-2A6DF}", "\\N{cjk unified ideograph-4E00}", "\\N{", "'", "\"", "\\ud83d", "\\\n"))
	}
	body := b.String()
	if strings.HasPrefix(quote, "'") {
		body = strings.ReplaceAll(body, "'", "\\'")
	} else {
		body = strings.ReplaceAll(body, "\"", "\\\"")
	}
	if len(quote) == 1 {
		body = strings.ReplaceAll(body, "\\\n", "")
	}
	return prefix + quote + body + quote
}

func (g exprGen) atom(depth int) string {
	switch g.r.IntN(10) {
	case 0, 1:
		return g.intLit()
	case 2:
		return g.floatLit()
	case 3:
		return g.pick(g.intLit(), g.floatLit()) + g.pick("j", "J")
	case 4, 5:
		return g.strLit()
	case 6:
		return g.pick("True", "False", "None", "...", "set()", "{}")
	case 7:
		return g.pick("a", "x", "set", "ſet", "foo", "match", "_", "é", "Σ")
	}
	return g.expr(depth + 1)
}

func (g exprGen) list(depth, max int) string {
	var parts []string
	for n := g.r.IntN(max + 1); n > 0; n-- {
		e := g.expr(depth + 1)
		if g.r.IntN(15) == 0 {
			e = "*" + e
		}
		parts = append(parts, e)
	}
	s := strings.Join(parts, ","+g.sp())
	if len(parts) > 0 && g.r.IntN(4) == 0 {
		s += ","
	}
	return s
}

func (g exprGen) expr(depth int) string {
	if depth > 4 {
		return g.atom(99)
	}
	switch g.r.IntN(22) {
	case 0, 1, 2, 3:
		return g.atom(depth)
	case 4:
		return "(" + g.list(depth, 4) + ")"
	case 5:
		return "[" + g.list(depth, 4) + "]"
	case 6, 7:
		return "{" + g.list(depth, 7) + "}"
	case 8:
		return g.pick("-", "+", "~", "not ", "- ", "--") + g.atom(depth)
	case 9:
		return g.atom(depth) + g.sp() + g.pick("+", "-", "*", "/", "**", "%", "@", "|", "&", "<<", "==", "<", " in ", " is not ", " or ", " and ") + g.sp() + g.atom(depth)
	case 10:
		return g.pick("", "-", "+") + g.pick(g.intLit(), g.floatLit()) + g.sp() + g.pick("+", "-") + g.sp() + g.pick(g.intLit(), g.floatLit()) + "j"
	case 11:
		return g.atom(depth) + " if " + g.atom(depth) + " else " + g.atom(depth)
	case 12:
		return g.pick("f", "set", "a.b", "(set)", "ｓｅｔ") + "(" + g.pick("", g.list(depth, 2), "x for x in y", "*a", "**a", "k=1", "a, k=1") + ")"
	case 13:
		return g.atom(depth) + "." + g.pick("a", "real", "0", "")
	case 14:
		return g.atom(depth) + "[" + g.list(depth, 2) + "]"
	case 15:
		return g.pick("[", "{", "(") + g.atom(depth) + " for " + g.pick("x", "x, y", "*x", "a.b", "a[0]", "()", "1", "(a)") + " in " + g.atom(depth) + g.pick("", " if c") + g.pick("]", "}", ")")
	case 16:
		return "f'{" + g.pick("x", "1", "a b", "*a", "*a,", "yield", "x!r", "x=", "x==y", "", " ", "'s'", "(", "f\"{y}\"") + "}'"
	case 17:
		return g.strLit() + g.sp() + g.strLit()
	case 18:
		return g.pick("(yield)", "(yield x)", "await x", "lambda", "{**a}", "{**a, **b}", "x := 1")
	case 19:
		return "{" + g.setOfNumbers() + "}"
	}
	return g.list(depth, 3)
}

// setOfNumbers builds set displays whose iteration order CPython fixes by
// hash: ints (small, negative, huge), floats, complex, bools and tuples.
func (g exprGen) setOfNumbers() string {
	var parts []string
	for n := 1 + g.r.IntN(12); n > 0; n-- {
		var e string
		switch g.r.IntN(8) {
		case 0:
			e = fmt.Sprintf("%d", g.r.IntN(2000)-1000)
		case 1:
			e = fmt.Sprintf("%d", g.r.Int64())
		case 2:
			e = fmt.Sprintf("%d", g.r.Uint64()) + fmt.Sprintf("%d", g.r.Uint64())
		case 3:
			e = g.floatLit()
		case 4:
			e = g.pick("", "-") + g.floatLit() + "j"
		case 5:
			e = "(" + fmt.Sprintf("%d, %d", g.r.IntN(10), g.r.IntN(10)) + g.pick("", ", 1.5", ",") + ")"
		case 6:
			e = g.pick("True", "False", "0", "1", "1.0", "-1", "-2", "2**61", "2305843009213693951", "-2305843009213693951")
		default:
			e = fmt.Sprintf("%d", g.r.IntN(64))
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

// mutate applies a few character-level edits.
func (g exprGen) mutate(s string) string {
	rs := []rune(s)
	alphabet := []rune(kindAlphabet)
	for n := 1 + g.r.IntN(2); n > 0; n-- {
		i := 0
		if len(rs) > 0 {
			i = g.r.IntN(len(rs) + 1)
		}
		switch g.r.IntN(3) {
		case 0:
			if i < len(rs) {
				rs = append(rs[:i], rs[i+1:]...)
			}
		case 1:
			rs = append(rs[:i], append([]rune{alphabet[g.r.IntN(len(alphabet))]}, rs[i:]...)...)
		default:
			if i < len(rs) {
				j := i + g.r.IntN(len(rs)-i)
				rs = append(rs[:j], append(append([]rune{}, rs[i:j]...), rs[j:]...)...)
			}
		}
	}
	return string(rs)
}

func (g exprGen) kind() string {
	var s string
	switch g.r.IntN(10) {
	case 0, 1:
		s = randomKind(g.r)
	case 2:
		s = "{" + g.setOfNumbers() + "}"
	default:
		s = g.expr(0)
	}
	if g.r.IntN(4) == 0 {
		s = g.mutate(s)
	}
	return strings.ReplaceAll(s, ":", "")
}
