package casegen

import (
	"strings"
	"unicode"

	"github.com/oslorego/oslorego/internal/python"
)

// unicodeArea: issue 9 classes B and C, the Unicode 14 tables the Rego
// library consults at run time. Each case packs a group of code points
// taken at the edges of Python's classes, where a different Unicode
// version or a narrower class disagrees; the expected strings come from
// this module's interpreter-checked tables, and the oracle decides.
func unicodeArea() *area {
	a := newArea("unicode")
	const group = 48
	// B: repr() of %(t)r escapes exactly what str.isprintable() rejects.
	pts := edgePoints(func(r rune) bool { return python.IsPrintable(r) })
	for i := 0; i < len(pts); i += group {
		s := string(pts[i:min(i+group, len(pts))])
		a.add("repr() escapes non-printable and unassigned code points (Unicode 14 isprintable)",
			one("x:%(t)r", M{"t": s}, M{"x": python.StrRepr(s)}))
	}
	a.add("repr() of an unassigned code point is escaped, not printed raw",
		one("x:%(t)r", M{"t": "\u0378"}, M{"x": "'\u0378'"}))
	// C: each code point before a Σ (cased?) and between A and Σ
	// (case-ignorable?), in space-separated words, so that the Final_Sigma
	// rule of each Σ depends on that code point only.
	cased := func(r rune) bool { return strings.HasSuffix(python.Lower(string(r)+"Σ"), "ς") }
	ignorable := func(r rune) bool { return !cased(r) && strings.HasSuffix(python.Lower("A"+string(r)+"Σ"), "ς") }
	pts = append(edgePoints(cased), edgePoints(ignorable)...)
	pts = append(pts, 'ª', 'º', 'Ⅰ', 'ⅰ', 'Ⓐ', 'ⓐ', '🄰', '\u0345', '\u00ad', '\'', '.')
	for i := 0; i < len(pts); i += group {
		var words []string
		for _, r := range pts[i:min(i+group, len(pts))] {
			words = append(words, string(r)+"Σ", "A"+string(r)+"Σ")
		}
		s := strings.Join(words, " ")
		a.add("str.lower() Final_Sigma with Unicode 14 Cased and Case_Ignorable (credential role)",
			one("role:%(t)s", M{"t": python.Lower(s)}, roles(s)))
		a.add("str.lower() Final_Sigma with Unicode 14 Cased and Case_Ignorable (formatted role)",
			one("role:%(t)s", M{"t": s}, roles(python.Lower(s))))
	}
	a.add("ª is cased: ªΣ lowers to ªς, not ªσ",
		one("role:\u00aa\u03c3", nil, roles("\u00aa\u03a3")))
	return a
}

// edgePoints lists the code points (no surrogates) at which pred changes
// value, with their neighbours on both sides.
func edgePoints(pred func(rune) bool) []rune {
	var out []rune
	seen := map[rune]bool{}
	addPt := func(r rune) {
		if r < 0 || r > unicode.MaxRune || (r >= 0xd800 && r < 0xe000) || seen[r] {
			return
		}
		seen[r] = true
		out = append(out, r)
	}
	prev := pred(0)
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		if p := pred(r); p != prev {
			addPt(r - 1)
			addPt(r)
			prev = p
		}
	}
	return out
}
