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
// ways the request-line corpus tests (misspelt fields, text after the
// object, missing or non-string rule and default_rule, NaN and ±Infinity,
// lone surrogates), for the oracle differential.
func RandomLine(r *rand.Rand) oracle.LineCase {
	c := Random(r)
	refused := ""
	val := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return inject(r, string(b), &refused)
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
	switch n := r.IntN(100); {
	case n < 75:
		fields["rule"] = val(c.Rule)
	case n < 80: // absent
	default:
		fields["rule"] = pickS(r, []string{"null", "5", "true", "1.5", "NaN", "Infinity", `["a"]`, "{}", `"\ud800"`, `""`})
		if fields["rule"] == `"\ud800"` {
			refused = RefusedAny
		}
	}
	if c.DefaultRule != nil {
		b, _ := json.Marshal(c.DefaultRule)
		fields["default_rule"] = string(b)
	} else if chance(r, 0.15) {
		fields["default_rule"] = pickS(r, []string{"5", "true", "{}", "[]", `["a"]`, `{"a":1}`, "NaN", `""`})
		if fields["default_rule"] == `["a"]` {
			refused = RefusedAny
		}
	}
	names := []string{"rule", "rules", "target", "creds", "default_rule"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var ms []string
	for _, n := range names {
		v, ok := fields[n]
		if !ok {
			continue
		}
		key := n
		if chance(r, 0.04) {
			key = misspell(r, n)
			refused = RefusedAny
		}
		ms = append(ms, `"`+key+`":`+v)
	}
	line := obj(ms...)
	if chance(r, 0.04) {
		line += pickS(r, []string{" x", "{}", "]", " 1", ","})
	}
	if chance(r, 0.05) {
		line = pickS(r, []string{" ", "\t", "\u00a0", "\x1c"}) + line
	}
	return oracle.LineCase{Note: "random line (differential)", Line: line, Refused: refused}
}

// inject sometimes replaces a JSON value inside the compact JSON text js by
// NaN, ±Infinity or a string with a lone surrogate (or a pair).
func inject(r *rand.Rand, js string, refused *string) string {
	if !chance(r, 0.2) {
		return js
	}
	repl := pickS(r, []string{"Infinity", "-Infinity", "NaN", `"\ud800"`, `"\udfff"`, `"\ud83d\ude00"`, "1e400", "-1e400"})
	if repl == "NaN" || strings.Contains(repl, `\ud800"`) || strings.Contains(repl, `\udfff"`) {
		*refused = RefusedAny
	}
	// Replace the value of one "key": member, or add one.
	if i := strings.Index(js, `":`); i > 0 && chance(r, 0.7) {
		j := i + 2
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
