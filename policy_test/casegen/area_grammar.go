package casegen

import (
	"fmt"
	"strings"
)

// parserTests are the expressions of oslo.policy's tests/test_parser.py
// (ParseTextRuleTestCase, 4.0.0), with the canonical str() the tests assert.
var parserTests = []struct{ want, expr string }{
	{"(@ or ! or @)", "@ or ! or @"},
	{"(@ or (! and @))", "@ or ! and @"},
	{"((@ and !) or @)", "@ and ! or @"},
	{"(@ and ! and @)", "@ and ! and @"},
	{"(@ or ! or @ or !)", "@ or ! or @ or !"},
	{"(@ or ! or (@ and !))", "@ or ! or @ and !"},
	{"(@ or (! and @) or !)", "@ or ! and @ or !"},
	{"(@ or (! and @ and !))", "@ or ! and @ and !"},
	{"((@ and !) or @ or !)", "@ and ! or @ or !"},
	{"((@ and !) or (@ and !))", "@ and ! or @ and !"},
	{"((@ and ! and @) or !)", "@ and ! and @ or !"},
	{"(@ and ! and @ and !)", "@ and ! and @ and !"},
	{"((not @ and !) or @)", "not @ and ! or @"},
	{"((@ and not !) or @)", "@ and not ! or @"},
	{"((@ and !) or not @)", "@ and ! or not @"},
	{"((@ and !) or @)", "( @ ) and ! or @"},
	{"((@ and !) or @)", "@ and ( ! ) or @"},
	{"((@ and !) or @)", "@ and ! or ( @ )"},
	{"((@ and !) or @)", "( @ ) and ! or ( @ )"},
	{"((@ and !) or @)", "@ and ( ! ) or ( @ )"},
	{"((@ and !) or @)", "( @ ) and ( ! ) or ( @ )"},
	{"((@ and !) or @)", "( @ and ! ) or @"},
	{"((@ and !) or @)", "( ( @ ) and ! ) or @"},
	{"((@ and !) or @)", "( @ and ( ! ) ) or @"},
	{"((@ and !) or @)", "( ( @ and ! ) ) or @"},
	{"((@ and !) or @)", "( @ and ! or @ )"},
	{"(@ and (! or @))", "@ and ( ! or @ )"},
	{"((not @ and !) or @)", "not ( @ ) and ! or @"},
	{"((not @ and !) or @)", "not @ and ( ! ) or @"},
	{"((not @ and !) or @)", "not @ and ! or ( @ )"},
	{"((not @ and !) or @)", "( not @ ) and ! or @"},
	{"((not @ and !) or @)", "( not @ and ! ) or @"},
	{"((not @ and !) or @)", "( not @ and ! or @ )"},
	{"(not @ and (! or @))", "not @ and ( ! or @ )"},
	{"not ((@ and !) or @)", "not ( @ and ! or @ )"},
	{"((@ and not !) or @)", "( @ ) and not ! or @"},
	{"((@ and not !) or @)", "@ and ( not ! ) or @"},
	{"((@ and not !) or @)", "@ and not ( ! ) or @"},
	{"((@ and not !) or @)", "@ and not ! or ( @ )"},
	{"((@ and not !) or @)", "( @ and not ! ) or @"},
	{"((@ and not !) or @)", "( @ and not ! or @ )"},
	{"(@ and (not ! or @))", "@ and ( not ! or @ )"},
	{"(@ and not (! or @))", "@ and not ( ! or @ )"},
	{"((@ and !) or not @)", "( @ ) and ! or not @"},
	{"((@ and !) or not @)", "@ and ( ! ) or not @"},
	{"((@ and !) or not @)", "@ and ! or not ( @ )"},
	{"((@ and !) or not @)", "@ and ! or ( not @ )"},
	{"((@ and !) or not @)", "( @ and ! ) or not @"},
	{"((@ and !) or not @)", "( @ and ! or not @ )"},
	{"(@ and (! or not @))", "@ and ( ! or not @ )"},
}

var atomRoles = []string{"a", "b", "c", "d", "e"}

// atomize replaces each @ / ! token of a parser-test expression with the
// next role check role:a, role:b, ...; it returns the expression and the
// roles used.
func atomize(expr string) (string, []string) {
	toks := strings.Fields(expr)
	var used []string
	for i, t := range toks {
		if t == "@" || t == "!" {
			r := atomRoles[len(used)]
			used = append(used, r)
			toks[i] = "role:" + r
		}
	}
	return strings.Join(toks, " "), used
}

// truthTable adds one case per subset of the atoms' roles.
func (a *area) truthTable(note, rule string, atoms []string) {
	for _, s := range subsets(atoms) {
		a.add(fmt.Sprintf("%s; %s", note, rolesNote(s)), one(rule, nil, roles(s...)))
	}
}

// grammarArea: reference §2 (grammar, precedence, parse failures).
func grammarArea() *area {
	a := newArea("grammar")
	for i, t := range parserTests {
		a.add(fmt.Sprintf("§2 test_parser.py #%d %s parses to %s (constants)", i+1, q(t.expr), t.want), one(t.expr, nil, nil))
		rule, atoms := atomize(t.expr)
		a.truthTable(fmt.Sprintf("§2 test_parser.py #%d %s shaped as %s; truth table", i+1, q(t.expr), t.want), rule, atoms)
	}

	// Precedence and chains beyond the unit tests.
	extra := []struct{ rule, note string }{
		{"not role:a and role:b", "not binds tighter than and: (not a) and b"},
		{"not role:a or role:b", "(not a) or b"},
		{"role:a or not role:b", "a or (not b)"},
		{"not not role:a", "double negation"},
		{"not not not role:a", "triple negation"},
		{"not ( not role:a )", "negated group of a negation"},
		{"not ( role:a or role:b )", "negated or-group"},
		{"not ( role:a and role:b )", "negated and-group"},
		{"not role:a and not role:b", "two negations under and"},
		{"role:a and not role:b or role:c", "(a and (not b)) or c"},
		{"role:a or role:b and role:c or role:d", "a or (b and c) or d"},
		{"role:a and role:b or role:c and role:d", "(a and b) or (c and d)"},
		{"( role:a or role:b ) and ( role:c or role:d )", "groups under and"},
		{"role:a or ( role:b and role:c ) and role:d", "reduction extends the parenthesised And in place: (a or (b and c and d))"},
		{"role:a and ( role:b or role:c ) or role:d", "((a and (b or c)) or d)"},
		{"( ( ( role:a ) ) ) and role:b", "redundant groups"},
		{"(role:a or role:b) and not (role:c and role:d)", "compact parens with not"},
		{"role:a and role:b and role:c and role:d or role:e", "long and-chain then or"},
		{"role:a or role:b or role:c or role:d and role:e", "long or-chain then and"},
		{"not role:a and not role:b or not role:c", "negations everywhere"},
	}
	for _, e := range extra {
		var atoms []string
		for _, r := range atomRoles {
			if strings.Contains(e.rule, "role:"+r) {
				atoms = append(atoms, r)
			}
		}
		a.truthTable("§2 "+q(e.rule)+": "+e.note, e.rule, atoms)
	}

	// Parse failures: the WHOLE rule becomes ! (roles make it true otherwise).
	fails := []string{
		"role:a and", "or role:a", "and role:a", "role:a or or role:b", "role:a and and role:b",
		"role:a role:b", "role:a not role:b", "role:a or not", "not role:a and", "not",
		"()", "( )", "(role:a", "role:a)", "(role:a or role:b", "role:a or role:b)",
		"(role:a) (role:b)", "role:a ( role:b )", "( role:a ) role:b", "role:a and or role:b",
		"role:a or and role:b", "not and role:a", "role:a not", "( not )", "( and )",
		"role:a or ( )", "( ) or role:a",
	}
	for _, f := range fails {
		for _, rs := range [][]string{{"a", "b"}, {}} {
			cs := one(f, nil, roles(rs...))
			if f == "not" {
				cs.HeadDiffers = true
			}
			a.add("§2 parse failure "+q(f)+" -> whole rule is ! ("+rolesNote(rs)+")", cs)
		}
	}
	a.add("§2 empty string rule is TrueCheck", one("", nil, nil))
	a.add("§2 whitespace-only rule fails -> !", one("   ", nil, nil))
	a.add("§2 tab-only rule fails -> !", one("\t", nil, nil))

	// Failures are per rule: other rules stand.
	rs := R(
		"broken", "role:a or",
		"ok", "role:a",
		"uses_broken", "rule:ok or rule:broken",
		"and_broken", "rule:ok and rule:broken",
		"not_broken", "not rule:broken",
		"not_broken_and_ok", "not rule:broken and rule:ok",
		"colonless", "role:a or foobar",
		"not_colonless", "not foobar",
	)
	for _, name := range rs.Names() {
		for _, r := range [][]string{{"a"}, {}} {
			a.add(fmt.Sprintf("§2/§10 parse failure is local to its rule: enforce %s (%s)", q(name), rolesNote(r)), en(rs, name, nil, roles(r...)))
		}
	}

	// Colon-less tokens are LOCAL !.
	local := []struct{ rule, note string }{
		{"role:a or foobar", "a or !"},
		{"foobar or role:a", "! or a"},
		{"role:a and foobar", "a and !"},
		{"not foobar", "not ! = True"},
		{"not admin", "not ! = True"},
		{"not True", "'True' has no colon: not ! = True"},
		{"not @@", "'@@' is not '@': not ! = True"},
		{"not !!", "not ! = True"},
		{"@@", "local ! alone"},
		{"foobar", "local ! alone"},
		{"( foobar )", "grouped local !"},
		{"not ( foobar or role:a )", "not (! or a)"},
	}
	for _, l := range local {
		for _, r := range [][]string{{"a"}, {}} {
			a.add("§2/§3 colon-less token is a local !: "+q(l.rule)+" = "+l.note+" ("+rolesNote(r)+")", one(l.rule, nil, roles(r...)))
		}
	}
	a.add("§2 many nots: 'not not not not not not @'", one("not not not not not not @", nil, nil))
	a.add("§2 deep nesting of groups (20 levels)", one(strings.Repeat("( ", 20)+"role:a"+strings.Repeat(" )", 20), nil, roles("a")))
	a.add("§2 a long or-chain of 40 checks", one(longChain("or", 40), nil, roles("r39")))
	a.add("§2 a long and-chain of 40 checks", one(longChain("and", 40), nil, roles(rolesN(40)...)))
	a.add("§2 a long and-chain of 40 checks missing one role", one(longChain("and", 40), nil, roles(rolesN(39)...)))
	return a
}

func rolesN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("r%d", i)
	}
	return out
}

func longChain(op string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("role:r%d", i)
	}
	return strings.Join(parts, " "+op+" ")
}
