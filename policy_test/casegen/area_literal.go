package casegen

import (
	"fmt"
	"strings"
)

// literalArea: reference §5.4 step 2a (literal kinds: ast.literal_eval) and
// 2a' (SyntaxError escapes; ValueError falls through to a creds path).
func literalArea() *area {
	a := newArea("literal")
	// Literal kinds: KIND:MATCH is MATCH == str(literal). The creds carry a
	// key equal to the kind to show that creds are not consulted.
	type lit struct {
		kind, match, note string
	}
	lits := []lit{
		{"'public'", "public", "quoted string"},
		{"\"public\"", "public", "double-quoted string"},
		{"'public'", "'public'", "quotes are not part of str()"},
		{"'Public'", "public", "case-sensitive"},
		{"''", "", "empty string literal vs empty match"},
		{"'a:b'", "x", "string literal containing ':' is split at the first colon: kind \"'a\" -> SyntaxError"},
		{"'\\x41'", "A", "escape sequences are evaluated"},
		{"'\\u00e9'", "é", "unicode escape"},
		{"r'\\n'", "\\n", "raw string literal"},
		{"u'x'", "x", "u-prefixed string"},
		{"b'x'", "b'x'", "bytes literal renders as b'x'"},
		{"b'x'", "x", "bytes literal is not 'x'"},
		{"True", "True", "True"},
		{"True", "true", "str(True) is 'True'"},
		{"False", "False", "False"},
		{"None", "None", "None"},
		{"None", "", "None is not ''"},
		{"1", "1", "int"},
		{"-1", "-1", "negative int (UnaryOp USub)"},
		{"+1", "1", "unary plus"},
		{"--1", "1", "double minus is not a literal -> creds path '--1'"},
		{"0", "0", "zero"},
		{"00", "0", "00 is a valid int literal"},
		{"0x10", "16", "hex -> 16"},
		{"0X1f", "31", "upper-case hex prefix"},
		{"0o17", "15", "octal"},
		{"0b11", "3", "binary"},
		{"1_000", "1000", "underscores"},
		{"0x_1f", "31", "underscore after base prefix"},
		{"1e3", "1000.0", "float exponent"},
		{"1E3", "1000.0", "float exponent upper-case"},
		{"1.5", "1.5", "float"},
		{".5", "0.5", "leading-dot float"},
		{"5.", "5.0", "trailing-dot float"},
		{"1e20", "1e+20", "float repr with exponent"},
		{"1e16", "1e+16", "exponent from 1e16"},
		{"1e15", "1000000000000000.0", "positional below 1e16"},
		{"1e-5", "1e-05", "small exponent"},
		{"0.0001", "0.0001", "positional above 1e-4"},
		{"-0.0", "-0.0", "negative zero"},
		{"1e400", "inf", "overflow to inf"},
		{"-1e400", "-inf", "overflow to -inf"},
		{"123456789012345678901234567890", "123456789012345678901234567890", "big int"},
		{"0.1", "0.1", "shortest repr"},
		{"1j", "1j", "imaginary"},
		{"1+2j", "(1+2j)", "complex BinOp is a literal"},
		{"1+2", "3", "int BinOp is not a literal -> creds path '1+2'"},
		{"[1,2]", "[1, 2]", "list literal"},
		{"[]", "[]", "empty list literal"},
		{"['a','b']", "['a', 'b']", "list of strings"},
		{"[None,True]", "[None, True]", "list of constants"},
		{"{}", "{}", "empty dict literal"},
		{"{1,2}", "{1, 2}", "set literal"},
		{"(1,2", "x", "unbalanced paren -> SyntaxError"},
		{"[1", "x", "unbalanced bracket -> SyntaxError"},
		{"'abc", "x", "unbalanced quote -> SyntaxError"},
		{"...", "Ellipsis", "Ellipsis"},
		{"1#comment", "1", "comment after a literal"},
	}
	for _, l := range lits {
		rule := checkRule(l.kind + ":" + l.match)
		a.add(fmt.Sprintf("§5.4.2a literal kind %s vs match %s: %s", q(l.kind), q(l.match), l.note), one(rule, nil, M{l.kind: l.match, "roles": L{"admin"}}))
	}
	// Literal kinds with formatted matches (real-world forms).
	fm := []struct {
		rule   string
		target any
		note   string
	}{
		{"'public':%(visibility)s", M{"visibility": "public"}, "glance visibility"},
		{"'public':%(visibility)s", M{"visibility": "private"}, "glance visibility mismatch"},
		{"'public':%(visibility)s", M{}, "missing visibility -> False"},
		{"True:%(enabled)s", M{"enabled": true}, "True vs True"},
		{"True:%(enabled)s", M{"enabled": "True"}, "True vs 'True'"},
		{"True:%(enabled)s", M{"enabled": "true"}, "True vs 'true'"},
		{"True:%(enabled)s", M{"enabled": N("1")}, "True vs 1"},
		{"None:%(target.role.domain_id)s", M{"target.role.domain_id": nil}, "keystone None vs null"},
		{"None:%(target.role.domain_id)s", M{"target.role.domain_id": "d1"}, "keystone None vs d1"},
		{"None:%(target.role.domain_id)s", M{"target.role.domain_id": "None"}, "None vs the string 'None'"},
		{"None:%(target.role.domain_id)s", M{}, "missing key -> False"},
		{"1:%(n)s", M{"n": N("1")}, "1 vs 1"},
		{"1:%(n)s", M{"n": N("1.0")}, "1 vs 1.0"},
		{"1:%(n)s", M{"n": true}, "1 vs True"},
		{"1.0:%(n)s", M{"n": N("1.0")}, "1.0 vs 1.0"},
		{"1e3:%(n)s", M{"n": N("1000.0")}, "1e3 vs 1000.0"},
		{"1e3:%(n)s", M{"n": N("1e3")}, "1e3 vs JSON 1e3 (also 1000.0)"},
		{"0:%(n)s", M{"n": false}, "0 vs False"},
		{"'Member':%(role.name)s", M{"role.name": "Member"}, "keystone docstring form"},
		{"'manager':%(target.role.name)s", M{"target.role.name": "manager"}, "keystone domain_managed_target_role"},
		{"'x':%s", M{}, "literal vs the whole target"},
	}
	for _, f := range fm {
		a.add("§5.4.2a "+q(f.rule)+": "+f.note, one(f.rule, f.target, M{"visibility": "public", "roles": L{"admin"}}))
	}

	// 2a': SyntaxError escapes.
	syn := []string{
		"class", "or", "and", "not", "in", "is", "if", "else", "for", "while", "lambda", "def",
		"return", "yield", "await", "async", "import", "from", "as", "pass", "break", "continue",
		"global", "nonlocal", "del", "try", "except", "finally", "raise", "with", "assert", "elif",
		"roles.0", "a.0", "a..b", ".a", "a.", "01", "007", "'abc", "[1", "{", "$x", "x$", "a?b",
		"#x", "a\\b", "!x", "x!", "@x", "%x", "a.b.", "1.x", "x.1", "`x`", "is_admin.0",
	}
	for _, k := range syn {
		a.add("§5.4.2a' kind "+q(k)+" -> SyntaxError escapes enforce()", one(k+":x", nil, M{k: "x"}))
	}
	a.add("§5.4.2a' SyntaxError hidden by an or short-circuit", one("@ or class:x", nil, nil))
	a.add("§5.4.2a' formatting runs first: a missing match key gives False before the SyntaxError", one("class:%(missing)s", nil, nil))
	a.add("§5.4.2a' SyntaxError under not", one("not class:x", nil, nil))

	// ValueError -> creds path (names, BinOps, calls, attributes ...).
	val := []struct{ kind, note string }{
		{"tenant", "plain name"}, {"print", "builtin name"}, {"true", "lower-case true is a name"},
		{"none", "lower-case none"}, {"TRUE", "upper-case TRUE"}, {"match", "soft keyword"},
		{"case", "soft keyword"}, {"_", "underscore"}, {"type", "soft keyword (3.12) / name"},
		{"project-id", "BinOp Sub"}, {"a/b", "BinOp Div"}, {"user@dom", "BinOp MatMult"},
		{"a+b", "BinOp Add"}, {"a*b", "BinOp Mult"}, {"a%b", "BinOp Mod"}, {"a**b", "BinOp Pow"},
		{"-a", "UnaryOp on a name"}, {"~a", "UnaryOp Invert"}, {"a[0]", "Subscript"},
		{"a[b]", "Subscript"}, {"f'x'", "JoinedStr"}, {"a#b", "name then comment"},
		{"é", "non-ASCII identifier"}, {"ключ", "Cyrillic identifier"}, {"a_b", "underscore name"},
		{"None.x", "attribute of None -> path ['None','x']"}, {"True.real", "attribute of True"},
		{"a.b", "attribute -> path ['a','b']"}, {"x-y.z", "BinOp with dot -> path ['x-y','z']"},
		{"a==b", "Compare"}, {"a<b", "Compare"}, {"{a}", "set of a name"},
		{"[a]", "list of a name"}, {"1 if 1 else 2", "IfExp (list rule only: spaces)"},
	}
	for _, v := range val {
		rule := checkRule(v.kind + ":x")
		a.add("§5.4.2b kind "+q(v.kind)+" ("+v.note+") is not a literal -> creds path; creds has the path", one(rule, nil, nestPath(v.kind, "x")))
		a.add("§5.4.2b kind "+q(v.kind)+" ("+v.note+") -> creds path; key missing -> False", one(rule, nil, M{"other": "x"}))
	}
	// a#b splits on '.' of the raw kind; None.x path
	a.add("§5.4.2b kind 'None.x' walks creds['None']['x']", one("None.x:v", nil, M{"None": M{"x": "v"}}))
	a.add("§5.4.2b kind 'a#b.c' walks creds['a#b']['c']", one("a#b.c:v", nil, M{"a#b": M{"c": "v"}}))
	return a
}

// checkRule returns a single check as a text rule, or as the list rule
// [[check]] when the tokenizer would split or strip it (whitespace inside,
// leading '(' or trailing ')').
func checkRule(check string) any {
	if strings.ContainsAny(check, " \t\n") || strings.HasPrefix(check, "(") || strings.HasSuffix(check, ")") {
		return L{L{check}}
	}
	return check
}

// nestPath builds creds in which the dot-path kind leads to value.
func nestPath(kind string, value any) M {
	segs := strings.Split(kind, ".")
	var v any = value
	for i := len(segs) - 1; i >= 1; i-- {
		v = M{segs[i]: v}
	}
	return M{segs[0]: v}
}
