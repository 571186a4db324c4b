package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// chainRules builds a0 -> a1 -> ... -> a<n> = last.
func chainRules(n int, last string) oracle.Rules {
	var kv []any
	for i := 0; i < n; i++ {
		kv = append(kv, fmt.Sprintf("a%d", i), fmt.Sprintf("rule:a%d", i+1))
	}
	kv = append(kv, fmt.Sprintf("a%d", n), last)
	return R(kv...)
}

// ruleCheckArea: reference §5.1 (boolean checks, short-circuit) and §5.2
// (rule:NAME, default-rule fallback, cycles).
func ruleCheckArea() *area {
	a := newArea("rulecheck")
	base := R("yes", "@", "no", "!", "ra", "role:a", "r", "rule:ra")
	a.add("§5.2 rule: evaluates the named rule (roles=[a])", en(base, "r", nil, roles("a")))
	a.add("§5.2 rule: evaluates the named rule (roles=[])", en(base, "r", nil, roles()))
	a.add("§5.2 rule:yes", en(R("yes", "@", "r", "rule:yes"), "r", nil, nil))
	a.add("§5.2 rule:no", en(R("no", "!", "r", "rule:no"), "r", nil, nil))
	a.add("§5.2 rule names are case-sensitive: rule:A with only 'a' defined -> default (none) -> False", en(R("a", "@", "r", "rule:A"), "r", nil, nil))
	a.add("§5.2 rule:NAME is not %-formatted: looks up the literal name '%(x)s'", en(R("%(x)s", "@", "r", "rule:%(x)s"), "r", M{"x": "nope"}, nil))
	a.add("§5.2 rule:%(x)s does not use the target value as a name", en(R("yes", "@", "r", "rule:%(x)s"), "r", M{"x": "yes"}, nil))
	a.add("§5.2 rule: (empty name) refers to the rule named ''", en(R("", "@", "r", "rule:"), "r", nil, nil))
	a.add("§5.2 rule: (empty name) with no '' rule and no default -> False", en(R("r", "rule:"), "r", nil, nil))
	a.add("§5.2 rule names may contain spaces only via the map; rule:a b is two tokens -> parse failure", en(R("a b", "@", "r", "rule:a b"), "r", nil, nil))

	// Default-rule fallback.
	type dr struct {
		def  *oracle.NullableString
		desc string
	}
	defaults := []dr{{nil, "default_rule absent (oslo default 'default')"}, {oracle.Null(), "default_rule null"}, {oracle.Name("fallback"), "default_rule 'fallback'"}, {oracle.Name("absent_rule"), "default_rule names a missing rule"}, {oracle.Name(""), "default_rule ''"}}
	maps := []struct {
		rules oracle.Rules
		desc  string
	}{
		{R("default", "@", "fallback", "!", "r", "rule:undefined"), "default=@ fallback=!"},
		{R("default", "!", "fallback", "@", "r", "rule:undefined"), "default=! fallback=@"},
		{R("default", "role:a", "fallback", "role:b", "r", "rule:undefined"), "default=role:a fallback=role:b"},
		{R("r", "rule:undefined", "other", "@"), "no default/fallback rule in the map"},
	}
	for _, m := range maps {
		for _, d := range defaults {
			for _, rs := range [][]string{{"a"}, {"b"}} {
				c := en(m.rules, "r", nil, roles(rs...))
				c.DefaultRule = d.def
				a.add(fmt.Sprintf("§5.2 rule:undefined falls back to the default rule; %s; %s; %s", m.desc, d.desc, rolesNote(rs)), c)
				c2 := en(m.rules, "not_in_map", nil, roles(rs...))
				c2.DefaultRule = d.def
				a.add(fmt.Sprintf("§6.5 unknown rule name falls back to the default rule; %s; %s; %s", m.desc, d.desc, rolesNote(rs)), c2)
			}
		}
	}
	a.add("§5.2 not rule:undefined with no default -> not False = True", en(R("r", "not rule:undefined"), "r", nil, nil))
	a.add("§5.2 not rule:undefined with default=@ -> False", en(R("default", "@", "r", "not rule:undefined"), "r", nil, nil))
	a.add("§5.2 default rule referencing the enforced rule (no cycle unless reached)", en(R("default", "rule:r", "r", "role:a"), "unknown", nil, roles("a")))
	a.add("§5.2 the default rule itself enforced by name", en(R("default", "role:a"), "default", nil, roles("a")))

	// Cycles.
	cyc := []struct {
		rules oracle.Rules
		rule  string
		creds M
		note  string
	}{
		{R("a", "rule:a"), "a", nil, "self cycle reached -> raises"},
		{R("a", "rule:b", "b", "rule:a"), "a", nil, "mutual cycle reached -> raises"},
		{R("a", "rule:b", "b", "rule:c", "c", "rule:a"), "b", nil, "3-cycle entered mid-way -> raises"},
		{R("a", "@ or rule:a"), "a", nil, "@ or rule:a short-circuits -> allow"},
		{R("a", "rule:a or @"), "a", nil, "rule:a or @ -> raises (left first)"},
		{R("a", "! and rule:a"), "a", nil, "! and rule:a short-circuits -> deny"},
		{R("a", "rule:a and !"), "a", nil, "rule:a and ! -> raises"},
		{R("a", "role:x and rule:a"), "a", roles(), "cycle guarded by a failing role -> deny"},
		{R("a", "role:x and rule:a"), "a", roles("x"), "guard passes -> cycle reached -> raises"},
		{R("a", "role:x or rule:a"), "a", roles("x"), "or-guard true -> allow"},
		{R("a", "role:x or rule:a"), "a", roles(), "or-guard false -> cycle reached -> raises"},
		{R("a", "not rule:a"), "a", nil, "not rule:a -> raises"},
		{R("a", "not @ or rule:a"), "a", nil, "not @ is False -> cycle reached"},
		{R("a", "rule:b", "b", "rule:a", "c", "@"), "c", nil, "cycle elsewhere in the map is harmless"},
		{R("a", "rule:a"), "unknown", nil, "unknown name, no default -> False (cycle never reached)"},
		{R("default", "rule:default"), "unknown", nil, "default rule is a self cycle -> unknown name raises"},
		{R("default", "rule:missing"), "unknown", nil, "default references a missing rule -> missing -> default -> ... raises"},
		{R("default", "rule:missing", "r", "@"), "r", nil, "default: rule:missing is harmless when not reached"},
		{R("default", "rule:missing", "r", "rule:other"), "r", nil, "rule:other missing -> default -> rule:missing -> default ... raises"},
		{R("default", "@ or rule:missing", "r", "rule:other"), "r", nil, "default short-circuits before its missing reference -> allow"},
		{R("default", "role:a and rule:missing", "r", "rule:other"), "r", roles(), "default guarded by role -> deny"},
		{R("a", "rule:b", "b", "rule:c", "c", "!"), "a", nil, "acyclic chain to ! -> deny"},
		{R("a", "rule:b or rule:c", "b", "!", "c", "rule:a"), "a", nil, "cycle through the second branch -> raises"},
		{R("a", "rule:b or rule:c", "b", "@", "c", "rule:a"), "a", nil, "first branch true -> cycle not reached"},
		{R("a", "rule:b and rule:c", "b", "!", "c", "rule:a"), "a", nil, "first branch false under and -> not reached"},
	}
	for _, c := range cyc {
		a.add("§5.1/§5.2 "+c.note, en(c.rules, c.rule, nil, c.creds))
	}
	cd := en(R("d", "rule:zz", "r", "rule:zz"), "r", nil, nil)
	cd.DefaultRule = oracle.Name("d")
	a.add("§5.2 custom default rule referencing a missing rule -> recursion -> raises", cd)
	cd2 := en(R("d", "rule:zz", "r", "rule:zz"), "r", nil, nil)
	cd2.DefaultRule = oracle.Null()
	a.add("§5.2 same map with default_rule null -> rule:zz missing -> False", cd2)

	// Chains of rule: hops.
	a.add("§5.2 acyclic chain of 50 rule: hops to @", en(chainRules(50, "@"), "a0", nil, nil))
	a.add("§5.2 acyclic chain of 50 rule: hops to role:a (roles=[])", en(chainRules(50, "role:a"), "a0", nil, roles()))
	a.add("§5.2 acyclic chain of 50 rule: hops entered in the middle", en(chainRules(50, "role:a"), "a25", nil, roles("a")))
	a.add("§5.2 chain of 20 ending in rule:missing -> default @", en(append(chainRules(20, "rule:missing"), oracle.RuleEntry{Name: "default", Value: oracle.MustJSON("@")}), "a0", nil, nil))
	a.add("§5.2 chain of 20 ending in a cycle back to a0 -> raises", en(chainRules(20, "rule:a0"), "a0", nil, nil))

	// Diamond references evaluate shared rules more than once.
	dia := R("top", "rule:l and rule:r", "l", "rule:shared", "r", "rule:shared", "shared", "role:a")
	a.add("§5.2 diamond of rule: references (roles=[a])", en(dia, "top", nil, roles("a")))
	a.add("§5.2 diamond of rule: references (roles=[])", en(dia, "top", nil, roles()))

	// §5.1 short-circuit hides runtime errors of every kind.
	sc := []struct{ rule, note string }{
		{"@ or x:%(k)d", "or short-circuit hides a %d TypeError"},
		{"x:%(k)d or @", "TypeError raised before the or"},
		{"! and class:x", "and short-circuit hides a SyntaxError"},
		{"class:x and !", "SyntaxError raised first"},
		{"@ or s.x:y", "or hides a path-through-str TypeError"},
		{"s.x:y or @", "path through a str raises"},
		{"role:a or role:%", "role a true hides the lone-% ValueError"},
		{"role:%(missing)s or @", "missing key in role -> False, then @"},
		{"not ( @ or class:x )", "not of a short-circuited or"},
		{"( ! and class:x ) or @", "nested short-circuit"},
	}
	for _, s := range sc {
		a.add("§5.1 "+s.note+": "+q(s.rule), one(s.rule, M{"k": "str"}, M{"s": "str", "roles": L{"a"}}))
	}
	return a
}
