package casegen

import "fmt"

// tokenizerArea: reference §1 (tokenizer).
func tokenizerArea() *area {
	a := newArea("tokenizer")

	// §1.1 whitespace: Python's str regex \s is Unicode-aware.
	seps := []struct{ name, s string }{
		{"space", " "}, {"tab", "\t"}, {"newline", "\n"}, {"CR", "\r"},
		{"form feed", "\f"}, {"vertical tab", "\v"}, {"CRLF", "\r\n"},
		{"two spaces", "  "}, {"tab+space", "\t "},
		{"NBSP U+00A0", "\u00a0"}, {"EM SPACE U+2003", "\u2003"},
		{"U+001C file separator", "\u001c"}, {"U+001D group separator", "\u001d"},
		{"U+001E record separator", "\u001e"}, {"U+001F unit separator", "\u001f"},
		{"NEL U+0085", "\u0085"}, {"OGHAM SPACE U+1680", "\u1680"},
		{"EN QUAD U+2000", "\u2000"}, {"HAIR SPACE U+200A", "\u200a"},
		{"LINE SEPARATOR U+2028", "\u2028"}, {"PARAGRAPH SEPARATOR U+2029", "\u2029"},
		{"NARROW NBSP U+202F", "\u202f"}, {"MEDIUM MATH SPACE U+205F", "\u205f"},
		{"IDEOGRAPHIC SPACE U+3000", "\u3000"},
		// Not whitespace for Python:
		{"ZERO WIDTH SPACE U+200B (not \\s)", "\u200b"}, {"BOM U+FEFF (not \\s)", "\ufeff"},
		{"MONGOLIAN VOWEL SEPARATOR U+180E (not \\s)", "\u180e"}, {"WORD JOINER U+2060 (not \\s)", "\u2060"},
	}
	for _, sep := range seps {
		rule := "role:a" + sep.s + "or" + sep.s + "role:b"
		joined := "a" + sep.s + "or" + sep.s + "role:b"
		note := fmt.Sprintf("§1.1 %s separates tokens iff Python \\s matches it", sep.name)
		a.add(note+"; roles=[b]", one(rule, nil, roles("b")))
		a.add(note+"; roles=[<whole text as one role>]", one(rule, nil, roles(joined)))
	}
	// Whitespace around and only-whitespace rules.
	for _, ws := range []string{" ", "\t", "\n", "\u00a0", "\u2003", "\u001c", "\u3000"} {
		a.add(fmt.Sprintf("§1.1/§2 leading+trailing whitespace %q ignored", ws), one(ws+"role:a"+ws, nil, roles("a")))
		a.add(fmt.Sprintf("§2 whitespace-only rule %q fails to parse -> deny", ws), one(ws+ws, nil, roles("a")))
	}
	a.add("§1.1 zero-width space only: one colon-less token -> local ! (deny, no raise)", one("\u200b", nil, roles("a")))
	a.add("§1.1 NBSP inside a check token splits it: role:a<NBSP>x is two checks -> parse failure", one("role:a\u00a0x", nil, roles("a", "a\u00a0x")))
	a.add("§1.1 ZWSP inside a check stays part of the role name", one("role:a\u200bx", nil, roles("a\u200bx")))

	// §1.2/1.3 parentheses.
	parens := []struct {
		rule  string
		creds []M
		note  string
	}{
		{"(role:a)", []M{roles("a"), roles()}, "leading/trailing paren stripped"},
		{"((role:a))", []M{roles("a"), roles()}, "double parens"},
		{"(((((role:a)))))", []M{roles("a"), roles()}, "deep parens"},
		{"( role:a )", []M{roles("a"), roles()}, "spaced parens"},
		{"(role:a)and(role:b)", []M{roles("a", "b"), roles("a)and(role:b"), roles("a")}, "embedded parens stay in the check: ONE RoleCheck 'a)and(role:b'"},
		{"role:a and(role:b)", []M{roles("a", "b"), roles("a", "and(role:b")}, "'and(role:b' check plus stray ')' -> whole rule fails"},
		{"not(role:a)", []M{roles(), roles("a")}, "'not(role:a' is a check, stray ')' -> fails (deny even without role a)"},
		{"not (role:a)", []M{roles(), roles("a")}, "'not (role:a)' with a space parses"},
		{"role:a)", []M{roles("a")}, "unbalanced trailing paren -> !"},
		{"(role:a", []M{roles("a")}, "unbalanced leading paren -> !"},
		{"(role:a))", []M{roles("a")}, "one paren too many -> !"},
		{"((role:a)", []M{roles("a")}, "one paren too few -> !"},
		{"role:(a)", []M{roles("a"), roles("(a"), roles("(a)")}, "'role:(a' plus stray ')' -> !"},
		{"role:a()", []M{roles("a("), roles("a()")}, "'role:a(' plus stray ')' -> !"},
		{"role:a(b)c", []M{roles("a(b)c")}, "embedded parens inside a token are kept"},
		{"(role:a(b)c)", []M{roles("a(b)c")}, "outer parens stripped, inner kept"},
		{")(", []M{roles()}, "')(' has no leading '(' and no trailing ')' -> colon-less check -> local !"},
		{"()", []M{roles()}, "'()' -> '(' ')' -> parse failure"},
		{"( )", []M{roles()}, "'( )' parse failure"},
		{"(", []M{roles()}, "lone '(' is a single non-check token -> AttributeError (4.0.0)"},
		{")", []M{roles()}, "lone ')' is a single non-check token -> AttributeError (4.0.0)"},
		{"((", []M{roles()}, "'((' two tokens -> parse failure"},
		{"(@)", []M{roles()}, "(@)"},
		{"(!)", []M{roles()}, "(!)"},
	}
	for _, p := range parens {
		for _, c := range p.creds {
			cs := one(p.rule, nil, c)
			if p.rule == "(" || p.rule == ")" {
				cs.HeadDiffers = true
			}
			a.add(fmt.Sprintf("§1.2-1.3 %s: %s; %v", q(p.rule), p.note, c["roles"]), cs)
		}
	}
	// project_id:%(project_id) loses its ')' to the tokenizer.
	pt := M{"project_id": "p1"}
	pc := M{"project_id": "p1"}
	a.add("§1.3 'project_id:%(project_id)' loses its final ')' -> unbalanced -> whole rule !", one("project_id:%(project_id)", pt, pc))
	a.add("§1.3 'project_id:%(project_id)s' is the correct form", one("project_id:%(project_id)s", pt, pc))
	a.add("§1.3 '(project_id:%(project_id)s)' parens around a format", one("(project_id:%(project_id)s)", pt, pc))
	a.add("§1.3 'project_id:%(project_id)s)' stray trailing paren", one("project_id:%(project_id)s)", pt, pc))
	a.add("§1.3 '(project_id:%(project_id))': BOTH trailing ')' are stripped -> one '(' two ')' -> whole rule !", one("(project_id:%(project_id))", pt, pc))
	a.add("§1.3 '(project_id:%(project_id)': balanced after stripping; match '%(project_id' -> ValueError (incomplete format key)", one("(project_id:%(project_id)", pt, pc))
	a.add("§1.3 '(role:a or project_id:%(project_id)': role:a short-circuits the broken format", one("(role:a or project_id:%(project_id)", pt, M{"roles": L{"a"}, "project_id": "p1"}))
	a.add("§1.3 '(role:a or project_id:%(project_id)' without role a: the broken format is evaluated -> ValueError", one("(role:a or project_id:%(project_id)", pt, M{"roles": L{}, "project_id": "p1"}))
	a.add("§1.3 '(role:a or project_id:%(project_id))' two trailing ')' stripped -> unbalanced -> !", one("(role:a or project_id:%(project_id))", pt, M{"roles": L{"a"}, "project_id": "p1"}))

	// §1.4 operators are case-insensitive; operator-looking checks are not operators.
	for _, op := range []string{"or", "OR", "Or", "oR"} {
		a.add("§1.4 case-insensitive "+q(op)+"; roles=[b]", one("role:a "+op+" role:b", nil, roles("b")))
	}
	for _, op := range []string{"and", "AND", "And", "aNd"} {
		a.add("§1.4 case-insensitive "+q(op)+"; roles=[a,b]", one("role:a "+op+" role:b", nil, roles("a", "b")))
		a.add("§1.4 case-insensitive "+q(op)+"; roles=[a]", one("role:a "+op+" role:b", nil, roles("a")))
	}
	for _, op := range []string{"not", "NOT", "Not", "nOt"} {
		a.add("§1.4 case-insensitive "+q(op)+"; roles=[]", one(op+" role:a", nil, roles()))
		a.add("§1.4 case-insensitive "+q(op)+"; roles=[a]", one(op+" role:a", nil, roles("a")))
	}
	a.add("§1.4 fullwidth ＡＮＤ is not an operator: colon-less check -> parse failure", one("role:a \uff21\uff2e\uff24 role:b", nil, roles("a", "b")))
	a.add("§1.4 role:and is a role named 'and'", one("role:and", nil, roles("and")))
	a.add("§1.4 role:or is a role named 'or'", one("role:or", nil, roles("OR")))
	a.add("§1.4 role:not is a role named 'not'", one("role:not", nil, roles("not")))
	a.add("§1.4 or:x is a check of kind 'or' (keyword -> SyntaxError)", one("or:x", nil, M{"or": "x"}))
	a.add("§1.4 (and) -> single operator token in parens -> parse failure", one("(and)", nil, roles()))
	for _, op := range []string{"not", "and", "or", "NOT", "Or"} {
		cs := one(op, nil, roles())
		cs.HeadDiffers = true
		a.add("§1.5 a lone operator "+q(op)+" is a single non-check token -> AttributeError (4.0.0; HEAD: deny)", cs)
	}
	a.add("§1.4 'not not' -> two tokens, no check -> parse failure", one("not not", nil, roles()))

	// §1.5 quoted strings.
	strs := []struct {
		rule, note string
		head       bool
	}{
		{"'admin'", "single-quoted string alone -> bare str result -> AttributeError", true},
		{"\"admin\"", "double-quoted string alone -> AttributeError", true},
		{"''", "empty quoted string (2 chars) is a string token -> AttributeError", true},
		{"\"\"", "empty double-quoted string -> AttributeError", true},
		{"'", "a single quote char is a colon-less check -> local !", false},
		{"'a\"", "mismatched quotes -> colon-less check -> local !", false},
		{"'a:b'", "quoted string containing a colon is still a string -> AttributeError", true},
		{"'spam':'spam'", "starts and ends with ' -> string token \"spam':'spam\" -> AttributeError", true},
		{"\"role:admin\"", "a quoted check is a string, not a check -> AttributeError", true},
		{"('admin')", "test sees \"'admin')\" -> not a string; check 'admin' has no colon -> local ! (deny, no raise)", false},
		{"( 'admin' )", "string token between parens: no grammar rule consumes it -> parse failure", false},
		{"role:admin or 'admin'", "string mixed with checks -> parse failure", false},
		{"'admin' or role:admin", "string first then checks -> parse failure", false},
		{"not 'admin'", "not + string -> parse failure", false},
		{"'spam':%(x)s", "ends in s: not a string token -> literal-kind generic check", false},
		{"'admin':admin", "ends in n: literal kind 'admin' == 'admin'", false},
		{"'x' 'y'", "two strings -> parse failure", false},
	}
	for _, s := range strs {
		for _, c := range []M{{"roles": L{"admin"}}} {
			cs := one(s.rule, M{"x": "spam"}, c)
			cs.HeadDiffers = s.head
			a.add("§1.5 "+q(s.rule)+": "+s.note, cs)
		}
	}
	a.add("§1.5 lone string in a multi-rule map: only enforcing it raises; the other rule works", en(R("s", "'x'", "ok", "@"), "ok", nil, nil))
	cs := en(R("s", "'x'", "ok", "@"), "s", nil, nil)
	cs.HeadDiffers = true
	a.add("§1.5 lone string rule reached directly -> AttributeError", cs)
	cs = en(R("s", "'x'", "ok", "rule:s"), "ok", nil, nil)
	cs.HeadDiffers = true
	a.add("§1.5 lone string rule reached via rule: -> AttributeError", cs)
	a.add("§1.5 lone string rule behind a short-circuit is never called", en(R("s", "'x'", "ok", "@ or rule:s"), "ok", nil, nil))
	cs = en(R("s", "'x'", "ok", "not rule:s"), "ok", nil, nil)
	cs.HeadDiffers = true
	a.add("§1.5 not rule:<string rule> -> AttributeError", cs)
	cs = en(R("s", "'x'", "default", "@"), "s", nil, nil)
	cs.HeadDiffers = true
	a.add("§1.5 string rule wins over the default rule (it exists)", cs)
	return a
}
