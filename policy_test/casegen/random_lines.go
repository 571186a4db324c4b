package casegen

import (
	"encoding/json"
	"math/rand/v2"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// RefusedAny marks a random line that oslorego may refuse on purpose: its
// answer may then be a deny whose error holds any Refused* marker.
const RefusedAny = "*"

// RefusalMarkers are the errors of oslorego's deliberate refusals.
var RefusalMarkers = []string{RefusedField, RefusedNaN, RefusedSurrogate, RefusedDefault}

// RandomLine is Random as one `check --batch` request line, mutated the
// ways the request-line corpus tests (misspelt and unknown fields, text
// after the object, missing or non-string rule and default_rule, NaN and
// ±Infinity, lone surrogates), for the oracle differential.
func RandomLine(r *rand.Rand) oracle.LineCase {
	l, _ := NewGen(mustDrawnClasses()).Line(r)
	return l
}

// Line returns a random request line and the classes it carries. As in
// Case, a mutation of a class the Gen does not apply is drawn but left
// out.
func (g *Gen) Line(r *rand.Rand) (oracle.LineCase, ClassSet) {
	c, drawn := g.Case(r)
	refused := ""
	// use reports whether mutations of all of classes apply, and records
	// them; refusal says oslorego may refuse the line on purpose.
	use := func(refusal bool, classes ...Class) bool {
		for _, cl := range classes {
			if !g.classes.Has(cl) {
				return false
			}
		}
		for _, cl := range classes {
			drawn = drawn.With(cl)
		}
		if refusal {
			refused = RefusedAny
		}
		return true
	}
	val := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return inject(r, string(b), use)
	}
	rulesJSON, err := json.Marshal(c.Rules)
	if err != nil {
		panic(err)
	}
	fields := map[string]string{
		"rules":  string(rulesJSON),
		"target": val(c.Target),
		"creds":  val(c.Creds),
	}
	ruleText := val(c.Rule)
	switch n := r.IntN(100); {
	case n < 75:
		fields["rule"] = ruleText
	case n < 80: // absent
		if !use(false, ClassH) {
			fields["rule"] = ruleText
		}
	default:
		v := pickS(r, []string{"null", "5", "true", "1.5", "NaN", "Infinity", `["a"]`, "{}", `"\ud800"`, `""`})
		var ok bool
		switch v {
		case "NaN":
			ok = use(false, ClassH, ClassNaN)
		case "Infinity":
			ok = use(false, ClassH, ClassI)
		case `"\ud800"`:
			ok = use(true, ClassF)
		default:
			ok = use(false, ClassH)
		}
		fields["rule"] = ruleText
		if ok {
			fields["rule"] = v
		}
	}
	if c.DefaultRule != nil {
		b, _ := json.Marshal(c.DefaultRule)
		fields["default_rule"] = string(b)
	} else if chance(r, 0.15) {
		v := pickS(r, []string{"5", "true", "{}", "[]", `["a"]`, `{"a":1}`, "NaN", `""`})
		var ok bool
		switch v {
		case "NaN":
			ok = use(false, ClassH, ClassNaN)
		case `["a"]`: // refused on purpose (README)
			ok = use(true, ClassH)
		default:
			ok = use(false, ClassH)
		}
		if ok {
			fields["default_rule"] = v
		}
	}
	names := []string{"rule", "rules", "target", "creds", "default_rule"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var ms []string
	for _, n := range names {
		// Draw for absent fields too, so that the stream does not depend
		// on which fields a left-out class would have set.
		key, bad := n, chance(r, 0.04)
		if bad {
			key = misspell(r, n)
		}
		v, ok := fields[n]
		if !ok {
			continue
		}
		if !bad || !use(true, ClassG) {
			key = n
		}
		ms = append(ms, `"`+key+`":`+v)
	}
	if chance(r, 0.05) {
		extra := pickS(r, []string{`"credentials":{"roles":["admin"]}`, `"mode":"direct"`, `"":1`, `"check":"@"`, `"Rule":"a"`, `"x":null`})
		if i := r.IntN(len(ms) + 1); use(true, ClassG) {
			ms = append(ms[:i], append([]string{extra}, ms[i:]...)...)
		}
	}
	line := obj(ms...)
	if chance(r, 0.04) {
		if tail := pickS(r, []string{" x", "{}", "]", " 1", ",", " {}", "\u0000"}); use(false, ClassJ) {
			line += tail
		}
	}
	if chance(r, 0.05) {
		if ws := pickS(r, []string{" ", "\t", "\u00a0", "\x1c", "\u3000"}); use(false, ClassJ) {
			line = ws + line
		}
	}
	return oracle.LineCase{Note: "random line (differential), classes " + drawn.String(), Line: line, Refused: refused}, drawn
}

// inject sometimes replaces a JSON value inside the compact JSON text js by
// NaN, ±Infinity, 1e400 or a string with a lone surrogate (or a pair),
// when use allows the class.
func inject(r *rand.Rand, js string, use func(bool, ...Class) bool) string {
	if !chance(r, 0.2) {
		return js
	}
	repl := pickS(r, []string{"Infinity", "-Infinity", "NaN", `"\ud800"`, `"\udfff"`, `"\ud83d\ude00"`, "1e400", "-1e400"})
	at := strings.Index(js, `":`)
	if inMember := chance(r, 0.7); !inMember || at <= 0 {
		at = -1
	}
	if at < 0 && !strings.HasPrefix(js, "{") {
		return js
	}
	var ok bool
	switch {
	case repl == "NaN":
		ok = use(false, ClassNaN)
	case strings.HasPrefix(repl, `"`):
		ok = use(repl != `"\ud83d\ude00"`, ClassF)
	default:
		ok = use(false, ClassI)
	}
	if !ok {
		return js
	}
	// Replace the value of one "key": member, or add one.
	if at > 0 {
		j := at + 2
		depth, inStr := 0, false
		k := j
	scan:
		for ; k < len(js); k++ {
			switch ch := js[k]; {
			case inStr:
				if ch == '\\' {
					k++
				} else if ch == '"' {
					inStr = false
				}
			case ch == '"':
				inStr = true
			case ch == '[' || ch == '{':
				depth++
			case ch == ']' || ch == '}':
				if depth == 0 {
					break scan
				}
				depth--
			case ch == ',' && depth == 0:
				break scan
			}
		}
		return js[:j] + repl + js[k:]
	}
	if strings.HasPrefix(js, "{") {
		sep := ","
		if js == "{}" {
			sep = ""
		}
		return `{"k":` + repl + sep + js[1:]
	}
	return js
}

func misspell(r *rand.Rand, f string) string {
	switch r.IntN(3) {
	case 0:
		return strings.ToUpper(f)
	case 1:
		return strings.ToUpper(f[:1]) + f[1:]
	}
	if strings.Contains(f, "s") {
		return strings.Replace(f, "s", "\u017f", 1)
	}
	return f + "_"
}
