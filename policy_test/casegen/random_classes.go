package casegen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

// A fragment is what one class adds to a random case: a check (or
// expression) that the enforced rule is combined with, the target and
// credential values it reads, and any rules it refers to.
type fragment struct {
	atom   string
	list   bool // atom holds white space: use the legacy list form [[atom]]
	target M
	creds  M
	roles  []string // appended to the credentials' roles
	rules  oracle.Rules
}

// caseClasses are the classes a Case can carry; the others live in the
// request line only.
var caseClasses = []struct {
	class Class
	rate  float64
	gen   func(*rand.Rand) fragment
}{
	{ClassA, 0.08, fragA},
	{ClassB, 0.08, fragB},
	{ClassC, 0.08, fragC},
	{ClassD, 0.06, fragD},
	{ClassE, 0.08, fragE},
	{ClassI, 0.05, fragI},
	{ClassK, 0.04, fragK},
}

// od is a JSON object that keeps its members in order, repeats included
// (json.loads keeps a repeated key's last value at its first position).
type od []odMember

type odMember struct {
	k string
	v any
}

// MarshalJSON writes the members in order.
func (o od) MarshalJSON() ([]byte, error) {
	rs := make(oracle.Rules, len(o))
	for i, m := range o {
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, err
		}
		rs[i] = oracle.RuleEntry{Name: m.k, Value: v}
	}
	return json.Marshal(rs)
}

// pyRepr is Python's repr() of the value json.loads makes of v; with
// sorted, dicts come in sorted key order instead of insertion order (what
// an engine that forgets the order would print).
func pyRepr(v any, sorted bool) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return python.StrRepr(x)
	case json.Number:
		return pyNum(string(x))
	case L:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e, sorted)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case M:
		var o od
		for k, e := range x {
			o = append(o, odMember{k, e})
		}
		sort.Slice(o, func(i, j int) bool { return o[i].k < o[j].k })
		return pyRepr(o, sorted)
	case od:
		var keys []string
		vals := map[string]any{}
		for _, m := range x {
			if _, seen := vals[m.k]; !seen {
				keys = append(keys, m.k)
			}
			vals[m.k] = m.v
		}
		if sorted {
			sort.Strings(keys)
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = python.StrRepr(k) + ": " + pyRepr(vals[k], sorted)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic(fmt.Sprintf("pyRepr: %T", v))
}

// pyStr is Python's str(): repr() except for a top-level string.
func pyStr(v any, sorted bool) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v, sorted)
}

// pyNum is str() of the number json.loads reads from the JSON text t.
func pyNum(t string) string {
	if !strings.ContainsAny(t, ".eE") {
		n, ok := new(big.Int).SetString(t, 10)
		if !ok {
			panic("pyNum: " + t)
		}
		return n.String()
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !math.IsInf(f, 0) {
		panic("pyNum: " + t)
	}
	return python.FloatRepr(f)
}

// pickOne returns one of xs.
func pickOne[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// --- A: dict key order --------------------------------------------------

var aKeys = []string{"b", "a", "c", "z", "id", "x", "A", "é", "10", "a b", "_", "Z"}

// rOrdered is a dict in a random key order, sometimes nested, sometimes
// with a repeated key.
func rOrdered(r *rand.Rand, depth int) od {
	var o od
	keys := append([]string(nil), aKeys...)
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys[:2+r.IntN(3)] {
		o = append(o, odMember{k, rOrderedValue(r, depth)})
	}
	if chance(r, 0.1) {
		o = append(o, odMember{o[0].k, rOrderedValue(r, depth)})
	}
	return o
}

func rOrderedValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case n < 4:
		return pickOne(r, "p1", "x", "", "it's", "é", `a"b`)
	case n < 6:
		return N(pickOne(r, "1", "-2", "1.5", "10.0", "1e20", "12345678901234567890"))
	case n < 7:
		return pickOne[any](r, true, false, nil)
	case n < 8 && depth < 2:
		return L{rOrderedValue(r, depth+1), rOrdered(r, depth+1)}
	case depth < 2:
		return rOrdered(r, depth+1)
	}
	return "v"
}

// pyDictLiteral writes o as a Python dict literal with no white space, for
// the left of a generic check.
func pyDictLiteral(o od) (string, bool) {
	var parts []string
	for _, m := range o {
		var v string
		switch x := m.v.(type) {
		case string:
			v = python.StrRepr(x)
		case json.Number:
			v = string(x)
		case bool, nil:
			v = pyRepr(x, false)
		default:
			return "", false
		}
		k := python.StrRepr(m.k)
		if strings.ContainsAny(k+v, " \t") {
			return "", false
		}
		parts = append(parts, k+":"+v)
	}
	return "{" + strings.Join(parts, ",") + "}", true
}

func fragA(r *rand.Rand) fragment {
	d := rOrdered(r, 0)
	want := func(v any) string {
		switch n := r.IntN(10); {
		case n < 6:
			return pyStr(v, false)
		case n < 9:
			return pyStr(v, true)
		}
		return pyStr(v, false) + " "
	}
	switch r.IntN(7) {
	case 0:
		return fragment{atom: "xa:%(ca)s", target: M{"ca": d}, creds: M{"xa": want(d)}}
	case 1:
		return fragment{atom: "xa:%(ca)r", target: M{"ca": d}, creds: M{"xa": want(d)}}
	case 2:
		v := L{d, "s"}
		return fragment{atom: "xa:%(ca)s", target: M{"ca": v}, creds: M{"xa": want(v)}}
	case 3: // the credentials' dict, str() by the generic check
		return fragment{atom: "xa:%(ca)s", target: M{"ca": want(d)}, creds: M{"xa": d}}
	case 4:
		return fragment{atom: "xa.k:%(ca)s", target: M{"ca": want(d)}, creds: M{"xa": od{{"k", d}, {"j", "1"}}}}
	case 5:
		w := want(d)
		return fragment{atom: "role:%(ca)s", target: M{"ca": d}, roles: []string{python.Lower(w)}}
	}
	// A dict literal on the left keeps its written order.
	if lit, ok := pyDictLiteral(d); ok {
		return fragment{atom: lit + ":%(ca)s", target: M{"ca": want(d)}}
	}
	return fragment{atom: "xa:%(ca)s", target: M{"ca": d}, creds: M{"xa": want(d)}}
}

// --- B: repr() of non-printable code points -----------------------------

// newerPrintable lists the code points Python 3.11 (Unicode 14) finds
// non-printable but Go's Unicode prints: what an engine on Go's tables
// would leave unescaped.
var newerPrintable = sync.OnceValue(func() []rune {
	var out []rune
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if !python.IsPrintable(c) && unicode.IsPrint(c) {
			out = append(out, c)
		}
	}
	return out
})

// rNonPrintableish is one character of a repr() probe.
func rNonPrintableish(r *rand.Rand) rune {
	switch n := r.IntN(20); {
	case n < 7:
		np := newerPrintable()
		return np[r.IntN(len(np))]
	case n < 10:
		for {
			c := rune(r.IntN(unicode.MaxRune + 1))
			if (c < 0xd800 || c >= 0xe000) && !python.IsPrintable(c) {
				return c
			}
		}
	case n < 14:
		return pickOne(r, '\x00', '\x1f', '\x7f', '\u0085', '\u00a0', '\u00ad', '\u0378', '\u061c', '\u200b', '\u200e',
			'\u2028', '\u2029', '\u3000', '\ufeff', '\ufff9', '\ufffe', '\uffff', '\ue000', '\U000e0001', '\U000f0000', '\U0010ffff')
	case n < 17:
		return pickOne(r, 'é', '中', '😀', 'ª', 'Σ', '\u0377', '\u037a', '\U0001f600', '\U0003134a', '\U000e0100')
	}
	return pickOne(r, 'a', ' ', '\'', '"', '\\', '\n', '\t')
}

func fragB(r *rand.Rand) fragment {
	var b strings.Builder
	for i := 1 + r.IntN(4); i > 0; i-- {
		b.WriteRune(rNonPrintableish(r))
	}
	s := b.String()
	// Against Python's repr, or the raw text an engine that prints
	// everything would produce.
	want := func(repr string) string {
		switch r.IntN(10) {
		case 0, 1:
			return "'" + s + "'"
		case 2:
			return python.ASCIIReprWTF8(s)
		}
		return repr
	}
	switch r.IntN(5) {
	case 0, 1:
		return fragment{atom: "xb:%(cb)r", target: M{"cb": s}, creds: M{"xb": want(python.StrRepr(s))}}
	case 2:
		return fragment{atom: "xb:%(cb)s", target: M{"cb": L{s}}, creds: M{"xb": "[" + want(python.StrRepr(s)) + "]"}}
	case 3:
		return fragment{atom: "xb:%(cb)a", target: M{"cb": s}, creds: M{"xb": want(python.ASCIIReprWTF8(s))}}
	}
	return fragment{atom: "role:%(cb)r", target: M{"cb": s}, roles: []string{python.Lower(want(python.StrRepr(s)))}}
}

// --- C: str.lower() of cased letters beyond Lu/Ll/Lt ---------------------

var (
	cOtherCased = []string{"ª", "º", "Ⅰ", "ⅰ", "Ⓐ", "ⓐ", "🄰", "🅐", "🅰", "ͅ", "ʰ", "ᴬ", "ₐ", "ꝰ", "\U00010780"}
	cIgnorable  = []string{"'", ".", ":", "^", "`", "¨", "\u00ad", "¯", "´", "·", "¸", "\u0300", "\u0301", "‘", "’", "․", "‧",
		"\u200b", "\u200d", "\ufe0f", "\U000e0001", "\U000e0100", "\U0001f3fb", "ʹ", "ˆ"}
	cLetters = []string{"A", "a", "Σ", "Σ", "Σ", "σ", "ς", "İ", "I", "i", "ß", "Ω", "ǅ", "Ꭰ", "ꭰ", "\U00010400"}
	cOther   = []string{"0", "1", " ", "-", "_", "中", "\u00a0"}
)

func rCaseString(r *rand.Rand) string {
	var parts []string
	for i := 2 + r.IntN(5); i > 0; i-- {
		switch n := r.IntN(10); {
		case n < 3:
			parts = append(parts, pickOne(r, cOtherCased...))
		case n < 6:
			parts = append(parts, pickOne(r, cIgnorable...))
		case n < 9:
			parts = append(parts, pickOne(r, cLetters...))
		default:
			parts = append(parts, pickOne(r, cOther...))
		}
	}
	i := r.IntN(len(parts) + 1)
	parts = append(parts[:i], append([]string{"Σ"}, parts[i:]...)...)
	return strings.Join(parts, "")
}

// naiveLower lower-cases without Python's Final_Sigma context.
func naiveLower(s string) string { return strings.ToLower(s) }

func fragC(r *rand.Rand) fragment {
	s := rCaseString(r)
	lowered := func(x string) string {
		switch r.IntN(10) {
		case 0, 1, 2:
			return naiveLower(x)
		case 3:
			return strings.ReplaceAll(python.Lower(x), "ς", "σ")
		}
		return python.Lower(x)
	}
	constant := s != "" && !strings.ContainsFunc(s, python.IsSpace) && !strings.ContainsAny(s, "()%") && s[0] != '\'' && s[0] != '"'
	switch n := r.IntN(4); {
	case n == 0 && constant: // rule text lowered when translating
		return fragment{atom: "role:" + s, roles: []string{pickOne(r, s, lowered(s), strings.ToUpper(s))}}
	case n == 1:
		return fragment{atom: "role:%(cc)s", target: M{"cc": s}, roles: []string{lowered(s)}}
	}
	return fragment{atom: "role:%(cc)s", target: M{"cc": lowered(s)}, roles: []string{s}}
}

// --- D: %d of big floats ------------------------------------------------

func rBigFloat(r *rand.Rand) string {
	var v string
	switch r.IntN(5) {
	case 0:
		v = fmt.Sprintf("1e%d", 16+r.IntN(293))
	case 1:
		v = strconv.FormatFloat(math.Ldexp(1, 54+r.IntN(970)), 'g', -1, 64)
	case 2:
		v = pickOne(r, "9007199254740993.0", "1.7976931348623157e308", "99999999999999999e7", "12345678901234567.5",
			"1e16", "1.5e16", "4.5e15", "123456789012345678901234567890.5", "1e23", "2e22")
	default:
		for {
			f := math.Float64frombits(r.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) >= 1e16 {
				v = strconv.FormatFloat(f, 'g', -1, 64)
				break
			}
		}
	}
	if v[0] != '-' && chance(r, 0.3) {
		v = "-" + v
	}
	return v
}

func fragD(r *rand.Rand) fragment {
	v := rBigFloat(r)
	exact, shortInt := floatInts(v)
	conv := pickOne(r, "%(t)d", "%(t)i", "%(t)u", "%(t)+d", "%(t)30d", "%(t).30d")
	n := exact
	switch r.IntN(10) {
	case 0, 1, 2:
		n = shortInt
	case 3:
		n = new(big.Int).Add(exact, big.NewInt(1))
	}
	return fragment{atom: "xd:" + strings.Replace(conv, "(t)", "(cd)", 1), target: M{"cd": N(v)}, creds: M{"xd": pyIntFormat(n, conv)}}
}

// --- E: \N{NAME} literals -----------------------------------------------

// eNames are names for \N{...} with the text Python 3.11 gives them
// ("" where it raises SyntaxError): names, aliases of every kind,
// algorithmic names, names Python's Unicode 14 does not have yet, and
// misspellings.
var eNames = []struct{ name, text string }{
	{"BULLET", "•"}, {"bullet", "•"}, {"Bullet", "•"}, {"SNOWMAN", "☃"}, {"LATIN SMALL LETTER A", "a"},
	{"Latin Small Letter A", "a"}, {"GREEK CAPITAL LETTER SIGMA", "Σ"}, {"EM DASH", "—"}, {"NO-BREAK SPACE", "\u00a0"},
	{"CJK UNIFIED IDEOGRAPH-4E00", "一"}, {"CJK UNIFIED IDEOGRAPH-04E00", "一"}, {"CJK UNIFIED IDEOGRAPH-20000", "\U00020000"},
	{"CJK UNIFIED IDEOGRAPH-3134A", "\U0003134a"}, {"HANGUL SYLLABLE GA", "가"}, {"HANGUL SYLLABLE GAG", "각"},
	{"HANGUL SYLLABLE HIH", "\ud7a3"}, {"CJK COMPATIBILITY IDEOGRAPH-F900", "\uf900"}, {"KHITAN SMALL SCRIPT CHARACTER-18B00", "\U00018b00"},
	{"NUSHU CHARACTER-1B170", "\U0001b170"}, {"LATIN CAPITAL LETTER GHA", "Ƣ"}, {"BYTE ORDER MARK", "\ufeff"},
	{"ZERO WIDTH NO-BREAK SPACE", "\ufeff"}, {"NBSP", "\u00a0"}, {"LF", "\n"}, {"LINE FEED", "\n"}, {"EOL", "\n"}, {"ZWJ", "\u200d"},
	{"ZWSP", "\u200b"}, {"NULL", "\x00"}, {"NUL", "\x00"}, {"SHY", "\u00ad"}, {"VS1", "\ufe00"}, {"VS17", "\U000e0100"},
	{"VARIATION SELECTOR-256", "\U000e01ef"}, {"FVS1", "\u180b"}, {"BEL", "\x07"}, {"ESC", "\x1b"}, {"DEL", "\x7f"},
	{"NEL", "\u0085"}, {"PAD", "\u0080"}, {"SS2", "\u008e"}, {"LINE SEPARATOR", "\u2028"}, {"CGJ", "\u034f"}, {"LRM", "\u200e"},
	{"TAG LATIN SMALL LETTER A", "\U000e0061"}, {"ARABIC SMALL FARSI YEH", "\u08c9"}, {"VIETNAMESE ALTERNATE READING MARK CA", "\U00016ff0"},
	{"EMOJI MODIFIER FITZPATRICK TYPE-1-2", "\U0001f3fb"}, {"PILE OF POO", "💩"}, {"SPACE", " "}, {"TAB", "\t"},
	{"latin small letter sharp s", "ß"},
	// SyntaxError in Python 3.11:
	{"LATIN CAPITAL LETTER A WITH MACRON AND GRAVE", ""}, // a named sequence
	{"KAWI SIGN CANDRABINDU", ""},                        // Unicode 15
	{"CJK UNIFIED IDEOGRAPH-31350", ""},                  // Unicode 15
	{"CJK UNIFIED IDEOGRAPH-3134B", ""}, {"CJK UNIFIED IDEOGRAPH-4e00", ""}, {"hangul syllable ga", ""},
	{"TANGUT IDEOGRAPH-17000", ""}, {"HANGUL SYLLABLE KIYEOK", ""}, {"NOT A REAL NAME", ""}, {"BULLETS", ""},
	{"LATIN  SMALL LETTER A", ""}, {"LATIN SMALL LETTER A ", ""}, {" BULLET", ""}, {"WAVY HAMZA BELOW", ""},
}

func fragE(r *rand.Rand) fragment {
	e := eNames[r.IntN(len(eNames))]
	esc := `\N{` + e.name + `}`
	lit, val := "'"+esc+"'", e.text
	switch r.IntN(12) {
	case 0:
		lit = `"` + esc + `"`
	case 1:
		lit, val = "'x"+esc+"y'", "x"+e.text+"y"
	case 2:
		lit = "u'" + esc + "'"
	case 3: // no escapes in a raw string or after an escaped backslash
		lit, val = "r'"+esc+"'", esc
	case 4:
		lit, val = `'\`+esc+"'", esc
	case 5: // nor in bytes
		lit, val = "b'"+esc+"'", python.BytesRepr([]byte(esc))
	case 6:
		e2 := eNames[r.IntN(len(eNames))]
		lit, val = "'"+esc+`\N{`+e2.name+"}'", e.text+e2.text
		if e.text == "" || e2.text == "" {
			val = ""
		}
	case 7:
		lit, val = pickOne(r, `'\N{BULLET'`, `'\N'`, `'\N{}'`, `'\N{{BULLET}}'`), ""
	}
	want := val
	if val == "" || chance(r, 0.25) {
		want = pickOne(r, "•", "N{BULLET}", `\N{BULLET}`, e.name, "x", "")
	}
	atom := lit + ":%(ce)s"
	return fragment{atom: atom, list: strings.ContainsAny(atom, " \t"), target: M{"ce": want}}
}

// --- I: ±Infinity (1e400 in a Case; the literals in request lines) -------

func fragI(r *rand.Rand) fragment {
	v := pickOne(r, "1e400", "-1e400", "1e309", "-2e308", "1E999")
	inf := "inf"
	if v[0] == '-' {
		inf = "-inf"
	}
	want := func(s string) string {
		if chance(r, 0.2) {
			return pickOne(r, "Infinity", "1e400", "INF", "inf ")
		}
		return s
	}
	switch r.IntN(7) {
	case 0:
		return fragment{atom: "xi:%(ci)s", target: M{"ci": N(v)}, creds: M{"xi": want(inf)}}
	case 1:
		return fragment{atom: pickOne(r, "xi:%(ci)r", "xi:%(ci).2f", "xi:%(ci)e", "xi:%(ci)G", "xi:%(ci)6s"), target: M{"ci": N(v)},
			creds: M{"xi": want(pickOne(r, inf, "  "+inf, strings.ToUpper(inf)))}}
	case 2:
		return fragment{atom: pickOne(r, "xi:%(ci)d", "xi:%(ci)x", "xi:%(ci)c"), target: M{"ci": N(v)}, creds: M{"xi": want(inf)}}
	case 3:
		return fragment{atom: "xi:%(ci)s", target: M{"ci": L{N(v), N("1")}}, creds: M{"xi": want("[" + inf + ", 1]")}}
	case 4: // in the credentials
		return fragment{atom: "xi:%(ci)s", target: M{"ci": want(inf)}, creds: M{"xi": N(v)}}
	case 5: // a literal on the left
		return fragment{atom: v + ":%(ci)s", target: M{"ci": want(inf)}}
	}
	return fragment{atom: "role:%(ci)s", target: M{"ci": N(v)}, roles: []string{want(inf)}}
}

// --- K: deep rule: chains and not stacks ---------------------------------

// kBudget keeps chains below Python's recursion limit, which oslo hits at
// about 328 rule: or not levels, or 165 "(@ and rule:...)" ones (issue 9 K:
// oslorego evaluates deeper chains on purpose, so the differential stays
// below the limit).
const kBudget = 240

// kNotDepth bounds not stacks over a check that is not a constant:
// translating one takes time exponential in its depth (about 1 s at 12,
// 30 s at 18), so deeper ones would stall the differential.
const kNotDepth = 9

func fragK(r *rand.Rand) fragment {
	if chance(r, 0.3) {
		n, leaf := 1+r.IntN(kBudget/2), pickOne(r, "@", "!")
		if chance(r, 0.5) {
			n, leaf = 1+r.IntN(kNotDepth), pickOne(r, "role:admin", "rule:a", "user_id:%(user_id)s")
		}
		return fragment{atom: strings.Repeat("not ", n) + leaf}
	}
	var rules oracle.Rules
	used, depth := 0, 20+r.IntN(kBudget-20)
	i := 0
	for ; used < depth; i++ {
		next := fmt.Sprintf("rule:k%d", i+1)
		var link string
		switch r.IntN(6) {
		case 0:
			link, used = "(@ and "+next+")", used+2
		case 1:
			link, used = "("+next+" or !)", used+2
		case 2:
			link, used = "not not "+next, used+3
		default:
			link, used = next, used+1
		}
		rules = append(rules, oracle.RuleEntry{Name: fmt.Sprintf("k%d", i), Value: oracle.MustJSON(link)})
	}
	last := pickOne(r, "@", "!", "role:admin", "user_id:%(user_id)s", "rule:k0")
	if last == "rule:k0" { // a cycle: oslo recurses until it raises
		last = "@"
	}
	rules = append(rules, oracle.RuleEntry{Name: fmt.Sprintf("k%d", i), Value: oracle.MustJSON(last)})
	return fragment{atom: "rule:k0", rules: rules}
}

// apply adds f to c: its values to the target and credentials (when they
// are objects), its rules, and its check to the enforced rule (or, when
// that rule is not in the map, to another one).
func (f fragment) apply(r *rand.Rand, c *oracle.Case) {
	if t, ok := c.Target.(M); ok {
		for k, v := range f.target {
			t[k] = v
		}
	}
	if cr, ok := c.Creds.(M); ok {
		for k, v := range f.creds {
			cr[k] = v
		}
		if len(f.roles) > 0 {
			rs, _ := cr["roles"].(L)
			for _, x := range f.roles {
				rs = append(rs, x)
			}
			r.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			cr["roles"] = rs
		}
	}
	c.Rules = append(c.Rules, f.rules...)
	at := -1
	for i, e := range c.Rules {
		if e.Name == c.Rule {
			at = i
		}
	}
	if at < 0 {
		at = r.IntN(len(c.Rules))
	}
	e := &c.Rules[at]
	var old string
	if f.list || json.Unmarshal(e.Value, &old) != nil || chance(r, 0.5) {
		if f.list {
			e.Value = oracle.MustJSON(L{L{f.atom}})
		} else {
			e.Value = oracle.MustJSON(f.atom)
		}
		return
	}
	if chance(r, 0.5) {
		e.Value = oracle.MustJSON(f.atom + " or " + old)
	} else {
		e.Value = oracle.MustJSON(old + " and " + f.atom)
	}
}
