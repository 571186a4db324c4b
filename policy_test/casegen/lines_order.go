package casegen

import (
	"fmt"
	"strings"
)

// member is one "key": value of a JSON object, both as JSON text.
type member struct{ k, v string }

func dict(ms []member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.k + ":" + m.v
	}
	return obj(parts...)
}

// permutations are every order of ms, the given one first.
func permutations(ms []member) [][]member {
	if len(ms) <= 1 {
		return [][]member{ms}
	}
	var out [][]member
	for i := range ms {
		rest := append(append([]member{}, ms[:i]...), ms[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]member{ms[i]}, p...))
		}
	}
	return out
}

// orderLines (A): Python prints a dict's keys in insertion order, the
// request's JSON order. Most lines compare two renderings oslo makes itself:
// str() of a target value (through %-formatting) against str() of a
// credentials value (a generic check), the same dict in another key order,
// so oslo allows exactly when the orders agree, and sorted keys would
// allow them all.
func orderLines() *lineArea {
	a := &lineArea{name: "lines-order"}
	bases := []struct {
		note string
		ms   []member
	}{
		{"two keys", []member{{`"b"`, `1`}, {`"a"`, `2`}}},
		{"three keys", []member{{`"x"`, `"1"`}, {`"a"`, `null`}, {`"m"`, `true`}}},
		{"four keys, mixed values", []member{{`"d"`, `1.50`}, {`"c"`, `[1,"x"]`}, {`"b"`, `{}`}, {`"a"`, `-0`}}},
		{"unicode keys", []member{{`"\u00e9"`, `1`}, {`"e"`, `2`}, {`"\ud83d\ude00"`, `3`}, {`"\uffff"`, `4`}}},
		{"case and digits", []member{{`"B"`, `1`}, {`"a"`, `2`}, {`"10"`, `3`}, {`"9"`, `4`}}},
		{"empty and quoting keys", []member{{`""`, `1`}, {`"it's"`, `2`}, {`"\""`, `3`}}},
		{"nested dicts", []member{{`"z"`, `{"b":1,"a":2}`}, {`"a"`, `{"d":{"f":1,"e":2},"c":[]}`}}},
		{"dicts in a list", []member{{`"l"`, `[{"b":1,"a":2},{"d":3,"c":4}]`}, {`"k"`, `[]`}}},
	}
	for _, b := range bases {
		orig := dict(b.ms)
		for i, p := range permutations(b.ms) {
			other := dict(p)
			a.add(fmt.Sprintf("A: x:%%(t)s, %s, order %d of the credentials' dict", b.note, i),
				obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":`+orig+`}`, `"creds":{"x":`+other+`}`), "")
		}
		// The whole target, and the other conversions.
		for _, conv := range []string{"%s", "%r", "%a", "%(t)r", "%(t)a", "%(t).7s", "%(t)40s"} {
			target := obj(`"t":` + orig)
			if conv == "%s" || conv == "%r" || conv == "%a" {
				target = orig
			}
			for _, p := range permutations(b.ms)[:2] {
				a.add(fmt.Sprintf("A: x:%s, %s, against the credentials' dict", conv, b.note),
					obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":"x:%s"}`, conv), `"target":`+target, `"creds":{"x":`+dict(p)+`}`), "")
			}
		}
		// The dict deeper in the credentials: a path, a list that fans out,
		// a list in a list (one value), system copied from system_scope.
		for _, c := range []struct{ rule, creds string }{
			{"x.y:%(t)s", `{"x":{"y":%s}}`},
			{"x.y:%(t)s", `{"x":[{"y":{"q":0}},{"y":%s}]}`},
			{"x:%(t)s", `{"x":[0,%s]}`},
			{"x:%(t)s", `{"x":[[%s]]}`},
			{"system:%(t)s", `{"system_scope":%s}`},
			{"system.y:%(t)s", `{"system_scope":{"y":%s}}`},
		} {
			for _, p := range permutations(b.ms)[:2] {
				a.add(fmt.Sprintf("A: %s with %s in the credentials, %s", c.rule, c.creds, b.note),
					obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":%q}`, c.rule), `"target":{"t":`+orig+`}`, `"creds":`+fmt.Sprintf(c.creds, dict(p))), "")
			}
		}
	}
	// Lists in the credentials fan out; a list target value is one string.
	a.add("A: [dict] formats as a list", obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":[{"b":1,"a":2}]}`, `"creds":{"x":[[{"b":1,"a":2}]]}`), "")
	a.add("A: [dict] formats as a list, other order", obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":[{"b":1,"a":2}]}`, `"creds":{"x":[[{"a":2,"b":1}]]}`), "")
	// A repeated key keeps its first position and its last value.
	for _, t := range []string{`{"b":1,"a":2,"b":3}`, `{"a":2,"b":1,"a":0}`, `{"b":1,"b":2}`, `{"a":1,"b":2,"a":3,"b":4}`} {
		for _, x := range []string{`{"b":3,"a":2}`, `{"a":2,"b":3}`, `{"a":0,"b":1}`, `{"b":1,"a":0}`, `{"b":2}`, `{"a":3,"b":4}`, `{"b":4,"a":3}`} {
			a.add(fmt.Sprintf("A: repeated keys %s against %s", t, x),
				obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":`+t+`}`, `"creds":{"x":`+x+`}`), "")
		}
	}
	// Against Python's text, written out: role:, literal-free checks.
	texts := []struct{ target, text string }{
		{`{"b":"1","a":"2"}`, `{'b': '1', 'a': '2'}`},
		{`{"b":"1","a":"2"}`, `{'a': '2', 'b': '1'}`},
		{`{"b":{},"a":[{"d":null,"c":true}]}`, `{'b': {}, 'a': [{'d': None, 'c': True}]}`},
		{`{"b":{},"a":[{"d":null,"c":true}]}`, `{'a': [{'c': True, 'd': None}], 'b': {}}`},
		{`{}`, `{}`},
		{`{"\u00e9":"\u00e8","a":1}`, `{'\u00e9': '\u00e8', 'a': 1}`},
		{`{"\u00e9":"\u00e8","a":1}`, `{'a': 1, '\u00e9': '\u00e8'}`},
		{`{"\u00e9":"\u00e8","a":1}`, `{'\\xe9': '\\xe8', 'a': 1}`},
	}
	for _, tx := range texts {
		roles := fmt.Sprintf(`{"roles":[%q]}`, tx.text)
		x := fmt.Sprintf(`{"x":%q}`, tx.text)
		a.add("A: role:%s of the whole target "+tx.target, obj(`"rule":"a"`, `"rules":{"a":"role:%s"}`, `"target":`+tx.target, `"creds":`+roles), "")
		a.add("A: x:%a of the whole target "+tx.target, obj(`"rule":"a"`, `"rules":{"a":"x:%a"}`, `"target":`+tx.target, `"creds":`+x), "")
		a.add("A: role:%(t)s of "+tx.target, obj(`"rule":"a"`, `"rules":{"a":"role:%(t)s"}`, `"target":{"t":`+tx.target+`}`, `"creds":`+roles), "")
		a.add("A: x:%(t)r of "+tx.target, obj(`"rule":"a"`, `"rules":{"a":"x:%(t)r"}`, `"target":{"t":`+tx.target+`}`, `"creds":`+x), "")
		// A dict in the credentials against the text in the target.
		a.add("A: x:%(t)s, the credentials' dict "+tx.target, obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, fmt.Sprintf(`"target":{"t":%q}`, tx.text), `"creds":{"x":`+tx.target+`}`), "")
	}
	return a
}

// nanLines (I): NaN is the float nan: "nan" in str() and repr(), in
// containers, in every float conversion (upper case for %F %E %G) with
// Python's sign and zero padding, ValueError for %d %i %u, TypeError for
// %x %o %c; it is truthy. ±inf pad the same way.
func nanLines() *lineArea {
	a := &lineArea{name: "lines-nan"}
	vals := []string{"NaN", "Infinity", "-Infinity"}
	convs := []string{"s", "r", "a", "f", "e", "g", "F", "E", "G", "d", "i", "u", "x", "X", "o", "c"}
	flags := []string{"", "0", "+", "-", "#", "+0", "-0", "0-", "+-", "#0"}
	widths := []string{"", "1", "5", "8"}
	precs := []string{"", ".0", ".2", ".10"}
	for _, v := range vals {
		for _, c := range convs {
			for i, f := range flags {
				w := widths[i%len(widths)]
				p := precs[(i/2)%len(precs)]
				spec := "%(t)" + f + w + p + c
				want := pyNonFinite(v, f, w, p, c)
				for _, x := range uniq(want, strings.ReplaceAll(want, "0", " "), strings.ToUpper(want), strings.ToLower(want), strings.TrimSpace(want)) {
					a.add(fmt.Sprintf("I: x:%s| of %s against %q", spec, v, x),
						obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":"x:%s|"}`, spec), `"target":{"t":`+v+`}`, fmt.Sprintf(`"creds":{"x":%q}`, x+"|")), "")
				}
			}
		}
	}
	// NaN inside containers, as the whole target, in the credentials.
	for _, t := range []string{`[NaN]`, `{"a":NaN}`, `[NaN,Infinity,-Infinity,1.0]`, `{"b":[NaN],"a":{"n":NaN}}`} {
		for _, x := range []string{"[nan]", "{'a': nan}", "[nan, inf, -inf, 1.0]", "{'b': [nan], 'a': {'n': nan}}", "{'a': {'n': nan}, 'b': [nan]}"} {
			a.add(fmt.Sprintf("I: x:%%(t)s of %s against %q", t, x), obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":`+t+`}`, fmt.Sprintf(`"creds":{"x":%q}`, x)), "")
		}
		a.add("I: x:%(t)s, the same value in the credentials "+t, obj(`"rule":"a"`, `"rules":{"a":"x:%(t)s"}`, `"target":{"t":`+t+`}`, `"creds":{"x":`+t+`}`), "")
	}
	whole := []struct{ target, x string }{
		{`NaN`, "nan"}, {`NaN`, "{}"}, {`{"t":NaN,"a":1}`, "{'t': nan, 'a': 1}"}, {`[NaN]`, "[nan]"}, {`[NaN]`, "nan"},
	}
	for _, w := range whole {
		for _, rule := range []string{"x:%s", "x:%r", "x:%(t)s", "x:%5s"} {
			a.add(fmt.Sprintf("I: %s of the whole target %s against %q", rule, w.target, w.x),
				obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":%q}`, rule), `"target":`+w.target, fmt.Sprintf(`"creds":{"x":%q}`, w.x)), "")
		}
	}
	for _, c := range []struct{ rule, creds string }{
		{"x:nan", `{"x":NaN}`}, {"x:inf", `{"x":NaN}`}, {"x:nan", `{"x":[1,NaN]}`}, {"x.y:nan", `{"x":{"y":NaN}}`},
		{"x.y:nan", `{"x":[{"y":NaN}]}`}, {"x.y:nan", `{"x":NaN}`}, {"system:nan", `{"system_scope":NaN}`},
		{"system:nan", `{"system":"x","system_scope":NaN}`}, {"role:nan", `{"roles":[NaN]}`}, {"role:nan", `{"roles":NaN}`},
		{"role:nan", `{"roles":["nan",NaN]}`}, {"role:nan", `{"roles":{"NaN":NaN}}`}, {"@", `NaN`}, {"x:nan", `NaN`},
		{"True:%(t)s", `{}`}, {"nan:%(t)s", `{}`}, {"x:%(t)s", `{"x":"nan"}`}, {"@", `{"x":NaN}`},
	} {
		a.add(fmt.Sprintf("I: %s with the credentials %s", c.rule, c.creds),
			obj(`"rule":"a"`, fmt.Sprintf(`"rules":{"a":%q}`, c.rule), `"target":{"t":NaN}`, `"creds":`+c.creds), "")
	}
	return a
}

// pyNonFinite is Python's '%'+flags+width+prec+conv % float(v) for v NaN
// or ±Infinity, or its error; the line's check is false either way unless
// oslorego renders what Python renders.
func pyNonFinite(v, flags, width, prec, conv string) string {
	switch conv {
	case "d", "i", "u", "x", "X", "o", "c":
		return "error"
	}
	text := map[string]string{"NaN": "nan", "Infinity": "inf", "-Infinity": "inf"}[v]
	sign := ""
	switch {
	case v == "-Infinity":
		sign = "-"
	case strings.ContainsAny(conv, "feFEgG") && strings.Contains(flags, "+"):
		sign = "+"
	}
	if v == "-Infinity" && strings.ContainsAny(conv, "sra") {
		text = "-inf"
		sign = ""
	}
	if strings.ContainsAny(conv, "FEG") {
		text = strings.ToUpper(text)
	}
	if strings.ContainsAny(conv, "sra") && prec != "" {
		n := 0
		fmt.Sscanf(prec[1:], "%d", &n)
		if n < len(text) {
			text = text[:n]
		}
	}
	n := 0
	if width != "" {
		fmt.Sscanf(width, "%d", &n)
	}
	pad := n - len(sign) - len(text)
	switch {
	case pad <= 0:
		return sign + text
	case strings.Contains(flags, "-"):
		return sign + text + strings.Repeat(" ", pad)
	case strings.Contains(flags, "0") && !strings.ContainsAny(conv, "sra"):
		return sign + strings.Repeat("0", pad) + text
	}
	return strings.Repeat(" ", pad) + sign + text
}

func uniq(ss ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
