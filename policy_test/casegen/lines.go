package casegen

import (
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"strconv"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// LineArea is a named group of request lines; it becomes
// testdata/lines/<Name>.jsonl.
type LineArea struct {
	Name  string
	Cases []oracle.LineCase
}

// Refusal markers: substrings of oslorego's error where it refuses a line
// or fails closed on purpose (README: check --batch, known limits).
const (
	RefusedField     = "unknown field"
	RefusedNaN       = "NaN at line" // no longer given: NaN is exact (issue 9 I)
	RefusedSurrogate = "holds a lone surrogate"
	RefusedDefault   = `"default_rule" must be a string or null`
)

type lineArea struct {
	name  string
	cases []oracle.LineCase
}

func (a *lineArea) add(note, line, refused string) {
	a.cases = append(a.cases, oracle.LineCase{
		ID: fmt.Sprintf("%s-%03d", a.name, len(a.cases)+1), Note: note, Line: line, Refused: refused,
	})
}

// obj joins raw JSON members into an object.
func obj(members ...string) string { return "{" + strings.Join(members, ",") + "}" }

// Lines returns the request-line corpus: how `check --batch` reads a line
// (issue 9, classes A, D, F, G, H, I, J), each line answered by the oracle, which
// reads it with json.loads as the batch protocol does.
func Lines() []LineArea {
	var out []LineArea
	for _, b := range []func() *lineArea{fieldLines, extraLines, ruleLines, floatLines, surrogateLines, bigFloatLines, orderLines, nanLines} {
		a := b()
		out = append(out, LineArea{Name: a.name, Cases: a.cases})
	}
	return out
}

// fieldLines (G): names are exact. Each misspelling carries a value that
// would change the answer if it were taken for the real field.
func fieldLines() *lineArea {
	a := &lineArea{name: "lines-fields"}
	base := map[string]string{
		"rule":         `"rule":"a"`,
		"rules":        `"rules":{"a":"role:admin","b":"@","default":"!"}`,
		"target":       `"target":{}`,
		"creds":        `"creds":{}`,
		"default_rule": `"default_rule":"default"`,
	}
	wrong := map[string]string{
		"rule":         `"b"`,
		"rules":        `{"a":"@"}`,
		"target":       `{"x":"y"}`,
		"creds":        `{"roles":["admin"]}`,
		"default_rule": `"b"`,
	}
	order := []string{"rule", "rules", "target", "creds", "default_rule"}
	spell := func(f string) []string {
		out := []string{strings.ToUpper(f), strings.ToUpper(f[:1]) + f[1:], f + " ", " " + f}
		if strings.Contains(f, "_") {
			out = append(out, strings.ReplaceAll(f, "_", "-"), strings.ReplaceAll(f, "_", ""))
		}
		if strings.Contains(f, "s") {
			out = append(out, strings.ReplaceAll(f, "s", "\u017f")) // ſ folds to s in Go
		}
		if strings.Contains(f, "k") {
			out = append(out, strings.ReplaceAll(f, "k", "\u212a")) // Kelvin sign folds to k
		}
		return out
	}
	for _, f := range order {
		for _, bad := range spell(f) {
			for _, first := range []bool{false, true} {
				var ms []string
				if first {
					ms = append(ms, fmt.Sprintf("%q:%s", bad, wrong[f]))
				}
				for _, g := range order {
					ms = append(ms, base[g])
				}
				if !first {
					ms = append(ms, fmt.Sprintf("%q:%s", bad, wrong[f]))
				}
				a.add(fmt.Sprintf("G: %q is not the field %q (first=%v)", bad, f, first), obj(ms...), RefusedField)
			}
		}
	}
	for _, extra := range []string{`"credentials":{"roles":["admin"]}`, `"mode":"direct"`, `"check":"@"`, `"do_raise":true`, `"conf":{}`, `"scope_types":{}`, `"":1`, `"x":null`} {
		a.add("G: an unknown field is refused: "+extra, obj(base["rule"], base["rules"], base["target"], base["creds"], extra), RefusedField)
	}
	// Repeated exact fields: json.loads keeps the last value.
	a.add("G: repeated creds, the last wins (deny)", obj(base["rule"], base["rules"], `"creds":{"roles":["admin"]}`, `"creds":{}`), "")
	a.add("G: repeated creds, the last wins (allow)", obj(base["rule"], base["rules"], `"creds":{}`, `"creds":{"roles":["admin"]}`), "")
	a.add("G: repeated rule, the last wins", obj(`"rule":"a"`, base["rules"], `"rule":"b"`), "")
	a.add("G: repeated rules, the last wins", obj(base["rule"], `"rules":{"a":"@"}`, base["rules"]), "")
	a.add("G: exact names decide", obj(base["rule"], base["rules"], `"creds":{"roles":["ADMIN"]}`), "")
	return a
}

// extraLines (J): a line is one JSON value; str.strip() white space around
// it is fine.
func extraLines() *lineArea {
	a := &lineArea{name: "lines-extra"}
	req := obj(`"rule":"a"`, `"rules":{"a":"@"}`, `"target":{}`, `"creds":{}`)
	for _, tail := range []string{" trailing", "{}", "]", "}", ",", " 1", "null", "//", "#x", ` {"rule":"a"}`, "\"", "\u00a0x", "\x00"} {
		a.add(fmt.Sprintf("J: text %q after the object is refused", tail), req+tail, "")
	}
	for _, ws := range []string{" ", "\t", "\u00a0", "\u3000", "\u2028", "\x1c", "\x1f", "\x0b", "\x0c", "\u0085", "\u2003 \t"} {
		a.add(fmt.Sprintf("J: white space %q around the object is stripped", ws), ws+req+ws, "")
	}
	a.add("J: U+00A0 between tokens is not JSON white space", `{"rule":"a",`+"\u00a0"+`"rules":{"a":"@"}}`, "")
	a.add("J: a BOM is not white space", "\ufeff"+req, "")
	return a
}

// ruleLines (H): a missing or non-string rule, a non-string default_rule.
func ruleLines() *lineArea {
	a := &lineArea{name: "lines-rule"}
	rules := []string{
		`{"default":"@","d":"!"}`,
		`{"default":"!","d":"@"}`,
		`{"d":"@"}`,
		`{}`,
	}
	ruleVals := []string{"", `null`, `5`, `0`, `-1`, `1.5`, `true`, `false`, `NaN`, `Infinity`, `""`, `"default"`, `"d"`, `"x"`, `["d"]`, `[]`, `{}`, `{"d":1}`}
	defaults := []string{"", `null`, `""`, `"d"`, `"default"`, `"x"`, `5`, `0`, `true`, `false`, `1.5`, `NaN`, `{}`, `{"d":1}`, `[]`, `["d"]`}
	for _, rs := range rules {
		for _, rv := range ruleVals {
			for _, dv := range defaults {
				ms := []string{}
				if rv != "" {
					ms = append(ms, `"rule":`+rv)
				}
				ms = append(ms, `"rules":`+rs, `"target":{}`, `"creds":{}`)
				if dv != "" {
					ms = append(ms, `"default_rule":`+dv)
				}
				refused := ""
				if dv == `["d"]` {
					refused = RefusedDefault
				}
				a.add(fmt.Sprintf("H: rule %s, default_rule %s, rules %s", orAbsent(rv), orAbsent(dv), rs), obj(ms...), refused)
			}
		}
	}
	for _, rs := range []string{`null`, `[]`, `["a"]`, `"a"`, `""`, `0`, `1`, `true`, `false`} {
		a.add("H: rules that are not an object: "+rs, obj(`"rule":"a"`, `"rules":`+rs), "")
	}
	return a
}

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

// floatLines (I): NaN and ±Infinity, wherever a value is formatted or
// compared.
func floatLines() *lineArea {
	a := &lineArea{name: "lines-floats"}
	vals := []string{"Infinity", "-Infinity", "1e400", "-1e400", "[Infinity]", `{"a":-Infinity}`, "[1, Infinity, NaN]", "NaN"}
	convs := []string{"%(t)s", "%(t)r", "%(t)d", "%(t)i", "%(t)u", "%(t)f", "%(t).2f", "%(t)e", "%(t)g", "%(t)G", "%(t)x", "%(t)o", "%(t)c", "%(t)5s", "%(t)-6s|", "%(t)a", "%(t)+d", "%(t)E"}
	expect := []string{"inf", "-inf", "nan", "INF", "NAN", "Infinity", "[inf]", "{'a': -inf}", "[1, inf, nan]", "  inf", "inf   |", " inf", "1e400"}
	for _, v := range vals {
		for _, c := range convs {
			for _, x := range expect {
				a.add(fmt.Sprintf("I: x:%s of %s against %q", c, v, x),
					obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":"x:%s"}`, c), fmt.Sprintf(`"target":{"t":%s}`, v), fmt.Sprintf(`"creds":{"x":%q}`, x)), "")
			}
		}
		// In the credentials: a path compare, a role, a literal.
		for _, r := range []string{"x:inf", "x:-inf", "x:nan", "role:inf", "inf:%(t)s", "True:%(t)s", "x.a:inf", "x:%(t)s"} {
			a.add(fmt.Sprintf("I: %s with x = %s in the credentials", r, v),
				obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":%q}`, r), `"target":{"t":"inf"}`, fmt.Sprintf(`"creds":{"x":%s,"roles":%s}`, v, listOf(v))), "")
		}
	}
	a.add("I: -NaN is not JSON", obj(`"rule":"a"`, `"rules":{"a":"@"}`, `"target":{"u":-NaN}`, `"creds":{}`), "")
	a.add("I: NaN in an unused target field", obj(`"rule":"a"`, `"rules":{"a":"@"}`, `"target":{"u":NaN}`, `"creds":{}`), "")
	return a
}

// listOf makes v a JSON list (roles must iterate).
func listOf(v string) string {
	if strings.HasPrefix(v, "[") {
		return v
	}
	return "[" + v + "]"
}

// surrogateLines (F): lone surrogates are distinct values in Python; OPA
// cannot hold them, so oslorego fails closed. Pairs are one character.
func surrogateLines() *lineArea {
	a := &lineArea{name: "lines-surrogates"}
	strs := []string{`\ud800`, `\udfff`, `\udc00`, `\udbff`, `x\ud800`, `\ud800\ud800`, `\udc00\ud800`, `\ud83d\ude00`, `\ud800\udc00`, `\ufffd`, `😀`, `𐀀`}
	lone := func(s string) bool {
		switch s {
		case `\ud83d\ude00`, `\ud800\udc00`, `\ufffd`, `😀`, `𐀀`:
			return false
		}
		return true
	}
	for _, t := range strs {
		for _, c := range strs {
			refused := ""
			if lone(t) || lone(c) {
				refused = RefusedSurrogate
			}
			a.add(fmt.Sprintf("F: role:%%(t)s with t=%s, roles [%s]", t, c),
				obj(`"rule":"a"`, `"rules":{"a":"role:%(t)s"}`, fmt.Sprintf(`"target":{"t":"%s"}`, t), fmt.Sprintf(`"creds":{"roles":["%s"]}`, c)), refused)
		}
		refused := ""
		if lone(t) {
			refused = RefusedSurrogate
		}
		a.add("F: x:%(t)r with t="+t, obj(`"rule":"a"`, `"rules":{"a":"x:%(t)r"}`, fmt.Sprintf(`"target":{"t":"%s"}`, t), fmt.Sprintf(`"creds":{"x":"'%s'"}`, t)), refused)
		a.add("F: a key "+t, obj(`"rule":"a"`, `"rules":{"a":"@"}`, `"target":{}`, fmt.Sprintf(`"creds":{"%s":1}`, t)), refused)
		a.add("F: the rule name "+t, obj(fmt.Sprintf(`"rule":"%s"`, t), `"rules":{"default":"@"}`, `"target":{}`, `"creds":{}`), refused)
	}
	return a
}

// bigFloatLines (D): %d %i %u of a float are int(float), the exact integer
// value of the double, not its shortest decimal text. Each value is checked
// against the exact integer and against the shortest digits' integer, so
// one of the two allows.
func bigFloatLines() *lineArea {
	a := &lineArea{name: "lines-bigfloats"}
	var vals []string
	for e := 15; e <= 308; e++ {
		vals = append(vals, fmt.Sprintf("1e%d", e), fmt.Sprintf("-1e%d", e))
	}
	for e := 50; e <= 1023; e += 7 {
		vals = append(vals, strconv.FormatFloat(math.Ldexp(1, e), 'g', -1, 64))
	}
	r := rand.New(rand.NewSource(9))
	for len(vals) < 700 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) < 1 {
			continue
		}
		vals = append(vals, strconv.FormatFloat(f, 'g', -1, 64))
	}
	// Texts that are not a double's shortest digits, and fractions.
	vals = append(vals, "2.9999999999999999999", "-2.9999999999999999999", "0.99999999999999999", "-0.5", "-0.0", "12345.6789",
		"9007199254740993.0", "123456789012345678901234567890.5", "1.7976931348623157e308", "-1.7976931348623157e308", "4.5e15", "99999999999999999e7")
	convs := []string{"%(t)d", "%(t)i", "%(t)u", "%(t)+d", "%(t)30d", "%(t).30d"}
	for i, v := range vals {
		exact, shortInt := floatInts(v)
		c := convs[i%len(convs)]
		for _, n := range []*big.Int{exact, shortInt} {
			x := pyIntFormat(n, c)
			a.add(fmt.Sprintf("D: x:%s of %s against %s", c, v, x),
				obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":"x:%s"}`, c), fmt.Sprintf(`"target":{"t":%s}`, v), fmt.Sprintf(`"creds":{"x":%q}`, x)), "")
		}
	}
	return a
}

// floatInts returns int(float(v)), the exact integer value of the double
// the JSON number v reads as, and the integer part of v's own digits.
func floatInts(v string) (exact, short *big.Int) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		panic(err)
	}
	exact, _ = new(big.Float).SetFloat64(f).Int(nil)
	digits, _, err := big.ParseFloat(v, 10, 2000, big.ToZero)
	if err != nil {
		panic(err)
	}
	short, _ = digits.Int(nil)
	return exact, short
}

// pyIntFormat renders n as Python's conv (one of bigFloatLines' convs) does.
func pyIntFormat(n *big.Int, conv string) string {
	sign, digits := "", new(big.Int).Abs(n).String()
	if n.Sign() < 0 {
		sign = "-"
	}
	switch conv {
	case "%(t)+d":
		if sign == "" {
			sign = "+"
		}
	case "%(t)30d":
		return fmt.Sprintf("%30s", sign+digits)
	case "%(t).30d":
		if len(digits) < 30 {
			digits = strings.Repeat("0", 30-len(digits)) + digits
		}
	}
	return sign + digits
}
