package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// jv decodes JSON text into a case value (numbers keep their text).
func jv(s string) any {
	v, err := oracle.DecodeValue([]byte(s))
	if err != nil {
		panic(fmt.Sprintf("casegen: bad JSON %q: %v", s, err))
	}
	if v == nil {
		return null
	}
	return v
}

// formatArea: reference §5.4 step 1 (target substitution with Python %).
// Each row checks `x:<format>` against creds x = the expected Python
// rendering, so an allow pins the rendering exactly.
func formatArea() *area {
	a := newArea("format")
	type fr struct {
		format string // the match part (after "x:")
		value  string // JSON text of target["k"]
		want   string // expected Python rendering
		note   string
	}
	rows := []fr{
		// %(k)s — str() of every JSON type
		{"%(k)s", `"abc"`, "abc", "str"},
		{"%(k)s", `""`, "", "empty str"},
		{"%(k)s", `"it's"`, "it's", "str with quote is raw"},
		{"%(k)s", `"é"`, "é", "non-ASCII str"},
		{"%(k)s", `"100%"`, "100%", "value containing % is not re-formatted"},
		{"%(k)s", `"%(k)s"`, "%(k)s", "value containing a format is not re-formatted"},
		{"%(k)s", `10`, "10", "int"},
		{"%(k)s", `-7`, "-7", "negative int"},
		{"%(k)s", `-0`, "0", "-0 parses as int 0"},
		{"%(k)s", `10.0`, "10.0", "float 10.0 keeps .0"},
		{"%(k)s", `10.50`, "10.5", "float shortest repr"},
		{"%(k)s", `-0.0`, "-0.0", "negative zero float"},
		{"%(k)s", `0.1`, "0.1", "float 0.1"},
		{"%(k)s", `1e20`, "1e+20", "1e20 -> 1e+20"},
		{"%(k)s", `1E20`, "1e+20", "1E20 -> 1e+20"},
		{"%(k)s", `1e16`, "1e+16", "repr switches to exponent at 1e16"},
		{"%(k)s", `1e15`, "1000000000000000.0", "1e15 stays positional"},
		{"%(k)s", `123456789012345.6`, "123456789012345.6", "large float positional"},
		{"%(k)s", `0.0001`, "0.0001", "1e-4 positional"},
		{"%(k)s", `0.00001`, "1e-05", "1e-5 -> exponent with 2-digit minimum"},
		{"%(k)s", `1.5e-7`, "1.5e-07", "small float"},
		{"%(k)s", `1.5e300`, "1.5e+300", "huge float"},
		{"%(k)s", `1e400`, "inf", "overflowing float literal -> inf"},
		{"%(k)s", `2e0`, "2.0", "exponent form of an integral float"},
		{"%(k)s", `9007199254740993.0`, "9007199254740992.0", "float rounding of 2^53+1"},
		{"%(k)s", `9007199254740993`, "9007199254740993", "int 2^53+1 stays exact"},
		{"%(k)s", `123456789012345678901234567890`, "123456789012345678901234567890", "big int exact"},
		{"%(k)s", `0.30000000000000004`, "0.30000000000000004", "float repr round trip"},
		{"%(k)s", `true`, "True", "True"},
		{"%(k)s", `false`, "False", "False"},
		{"%(k)s", `null`, "None", "None"},
		{"%(k)s", `["a", "b"]`, "['a', 'b']", "list repr"},
		{"%(k)s", `[1, "a", null, true, 1.0]`, "[1, 'a', None, True, 1.0]", "mixed list repr"},
		{"%(k)s", `[]`, "[]", "empty list"},
		{"%(k)s", `{}`, "{}", "empty dict"},
		{"%(k)s", `{"a": 1, "b": "x"}`, "{'a': 1, 'b': 'x'}", "dict repr (sorted keys)"},
		{"%(k)s", `{"a": {"b": [1, {"c": null}]}}`, "{'a': {'b': [1, {'c': None}]}}", "nested repr"},
		{"%(k)s", `["it's"]`, `["it's"]`, "repr of a str containing ' uses double quotes"},
		{"%(k)s", `["a\"b"]`, `['a"b']`, "repr of a str containing \""},
		{"%(k)s", `["it's \"x\""]`, `['it\'s "x"']`, "repr of a str with both quotes"},
		{"%(k)s", `["a\nb"]`, `['a\nb']`, "repr escapes newline"},
		{"%(k)s", `["é"]`, `['é']`, "repr keeps printable non-ASCII"},
		{"%(k)s", `["\u0001"]`, `['\x01']`, "repr escapes control chars as \\x"},
		{"%(k)s", `["\u00a0"]`, `['\xa0']`, "repr escapes NBSP (not printable)"},
		{"%(k)s", `["\\"]`, `['\\']`, "repr escapes backslash"},
		{"%(k)s", `[1e20, 10.0]`, "[1e+20, 10.0]", "floats in a list repr"},
		// %r / %a
		{"%(k)r", `"abc"`, "'abc'", "%r adds quotes"},
		{"%(k)r", `"it's"`, `"it's"`, "%r uses double quotes around '"},
		{"%(k)r", `10`, "10", "%r of int"},
		{"%(k)r", `10.0`, "10.0", "%r of float"},
		{"%(k)r", `null`, "None", "%r of None"},
		{"%(k)r", `["a"]`, "['a']", "%r of list"},
		{"%(k)a", `"é"`, `'\xe9'`, "%a is ascii()"},
		// %d / %i / %u
		{"%(k)d", `42`, "42", "%d on int"},
		{"%(k)d", `42.9`, "42", "%d truncates a float"},
		{"%(k)d", `-42.9`, "-42", "%d truncates toward zero"},
		{"%(k)d", `true`, "1", "%d on True"},
		{"%(k)d", `false`, "0", "%d on False"},
		{"%(k)d", `1e20`, "100000000000000000000", "%d on 1e20"},
		{"%(k)d", `123456789012345678901234567890`, "123456789012345678901234567890", "%d on big int"},
		{"%(k)d", `"42"`, "42", "%d on str -> TypeError"},
		{"%(k)d", `null`, "None", "%d on None -> TypeError"},
		{"%(k)d", `[1]`, "[1]", "%d on list -> TypeError"},
		{"%(k)d", `1e400`, "inf", "%d on inf -> OverflowError"},
		{"%(k)i", `42`, "42", "%i"},
		{"%(k)u", `42`, "42", "%u"},
		{"%(k)05d", `42`, "00042", "zero padding"},
		{"%(k)+d", `42`, "+42", "sign flag"},
		{"%(k) d", `42`, " 42", "space flag (only reachable in list rules; here the token splits) "},
		{"%(k)x", `255`, "ff", "%x"},
		{"%(k)X", `255`, "FF", "%X"},
		{"%(k)#x", `255`, "0xff", "%#x"},
		{"%(k)o", `8`, "10", "%o"},
		{"%(k)x", `"ff"`, "ff", "%x on str -> TypeError"},
		{"%(k)e", `42`, "4.200000e+01", "%e"},
		{"%(k)f", `42`, "42.000000", "%f"},
		{"%(k).1f", `0.25`, "0.2", "%.1f rounds half to even (binary)"},
		{"%(k)g", `0.00001`, "1e-05", "%g"},
		{"%(k)c", `65`, "A", "%c on int"},
		{"%(k)c", `"A"`, "A", "%c on 1-char str"},
		{"%(k)c", `"AB"`, "AB", "%c on 2-char str -> TypeError"},
		// precision / width on %s
		{"%(k).2s", `"abcdef"`, "ab", "precision truncates"},
		{"%(k).2s", `12345`, "12", "precision on str(int)"},
		{"%(k).0s", `"abc"`, "", "zero precision"},
		{"%(k)5s", `"ab"`, "   ab", "width pads left"},
		{"%(k)-5s", `"ab"`, "ab   ", "- flag pads right"},
		{"%(k)1s", `"abc"`, "abc", "width smaller than value"},
		{"%(k)5.1s", `"abc"`, "    a", "width and precision"},
		{"%(k)*d", `42`, "42", "* width with a mapping -> TypeError"},
		// %% / lone % / bad conversions
		{"100%%", `"x"`, "100%", "%% -> %"},
		{"%%(k)s", `"x"`, "%(k)s", "%% before (k)s escapes it"},
		{"%%%(k)s", `"x"`, "%x", "%% then %(k)s"},
		{"100%", `"x"`, "100%", "lone % at end -> ValueError"},
		{"%", `"x"`, "%", "lone % -> ValueError"},
		{"%(k)z", `"x"`, "x", "unsupported conversion -> ValueError"},
		{"%(k", `"x"`, "x", "unterminated key -> ValueError"},
		{"%(k)s%(k)s", `"x"`, "xx", "key used twice"},
		{"%(k)s-%(j)s", `"x"`, "x-y", "two keys (target j='y')"},
		{"%(k)s%s", `"x"`, "x", "mixing %(k)s and %s -> TypeError"},
		{"%()s", `"x"`, "empty", "empty key (target ''='empty')"},
		{"%(a(b))s", `"x"`, "nested", "nested parens in key (target 'a(b)'='nested')"},
		{"%(target.project.id)s", `"x"`, "flat", "dotted key is literal (target has 'target.project.id'='flat')"},
		{"%(network:project_id)s", `"x"`, "colon", "key with a colon (target 'network:project_id'='colon')"},
		{"%(ключ)s", `"x"`, "юникод", "non-ASCII key"},
		{"%(K)s", `"x"`, "x", "keys are case-sensitive: 'K' missing -> False"},
		{"%(missing)s", `"x"`, "x", "missing key -> False"},
		{"pre-%(k)s-post", `"x"`, "pre-x-post", "text around a key"},
	}
	extra := M{"j": "y", "": "empty", "a(b)": "nested", "target.project.id": "flat", "network:project_id": "colon", "ключ": "юникод", "target": M{"project": M{"id": "nested-not-used"}}}
	for _, r := range rows {
		t := M{"k": jv(r.value)}
		for k, v := range extra {
			t[k] = v
		}
		a.add(fmt.Sprintf("§5.4.1 x:%s with k=%s vs creds x=%s (%s)", r.format, r.value, q(r.want), r.note), one("x:"+r.format, t, M{"x": r.want}))
	}
	a.add("§5.4.1 dotted key is not traversed: nested target only -> False", one("x:%(target.project.id)s", M{"target": M{"project": M{"id": "p"}}}, M{"x": "p"}))
	a.add("§5.4.1 'not' of a missing key -> True", one("not x:%(missing)s", M{}, M{"x": "p"}))
	a.add("§5.4.1 'not' of a present, unequal key -> True", one("not x:%(k)s", M{"k": "q"}, M{"x": "p"}))
	a.add("§5.4.1 'not' of a present, equal key -> False", one("not x:%(k)s", M{"k": "p"}, M{"x": "p"}))
	a.add("§5.4.1 list rule: space flag '% d' reachable only in lists", one(raw(`[["x:%(k) d"]]`), M{"k": N("42")}, M{"x": " 42"}))

	// Bare %s: the WHOLE target (and non-dict targets).
	bare := []struct {
		format string
		target any
		want   string
		note   string
	}{
		{"%s", M{"a": N("1")}, "{'a': 1}", "whole dict target"},
		{"%s", M{"a": N("1"), "b": "x", "c": L{true, nil}}, "{'a': 1, 'b': 'x', 'c': [True, None]}", "whole dict target, sorted keys"},
		{"%s", M{}, "{}", "empty dict target"},
		{"%s", null, "None", "null target: '%s' % None = 'None'"},
		{"%s", "abc", "abc", "string target formats as itself"},
		{"%s", N("5"), "5", "number target"},
		{"%s", L{N("1"), N("2")}, "[1, 2]", "list target (not a tuple) is one argument"},
		{"%s", L{}, "[]", "empty list target"},
		{"%s", true, "True", "bool target"},
		{"%s %s", M{"a": N("1")}, "x", "two %s: the token splits -> parse failure"},
		{"%s%s", M{"a": N("1")}, "x", "two %s with one mapping argument -> TypeError"},
		{"%r", "abc", "'abc'", "%r of a string target"},
		{"%d", N("5"), "5", "%d of a number target"},
		{"%d", M{}, "{}", "%d of a dict target -> TypeError"},
		{"%-4s", M{}, "{}  ", "width on the whole target"},
		{"abc", null, "abc", "no format + null target -> TypeError"},
		{"abc", "s", "abc", "no format + string target -> TypeError"},
		{"abc", L{}, "abc", "no format + list target works"},
		{"abc", L{N("1")}, "abc", "no format + non-empty list target works (mapping check)"},
		{"abc", N("5"), "abc", "no format + number target -> TypeError"},
		{"abc", true, "abc", "no format + bool target -> TypeError"},
		{"%(k)s", L{"k"}, "k", "%(k)s on a list target -> TypeError"},
		{"%(k)s", "k", "k", "%(k)s on a string target -> TypeError"},
		{"%(k)s", null, "k", "%(k)s on a null target -> TypeError"},
		{"%%", null, "%", "%% with a null target -> TypeError (not all arguments converted)"},
		{"%%", M{}, "%", "%% with a dict target"},
	}
	for _, b := range bare {
		a.add(fmt.Sprintf("§5.4.1 x:%s with target %s vs creds x=%s (%s)", b.format, string(oracle.MustJSON(b.target)), q(b.want), b.note), one("x:"+b.format, b.target, M{"x": b.want}))
	}
	return a
}
