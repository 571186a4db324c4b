package casegen

import "github.com/oslorego/oslorego/policy_test/oracle"

// tableArea: reference §10, one group per row of the failure-mode table.
func tableArea() *area {
	a := newArea("table")
	t := func(row string, c oracle.Case) { a.add("§10 "+row, c) }
	pm := R("broken", "role:a and", "ok", "role:a", "notbroken", "not rule:broken", "uses", "rule:ok or rule:broken")
	t("parse failure: that rule is ! (roles=[a])", en(pm, "broken", nil, roles("a")))
	t("parse failure: other rules unaffected", en(pm, "ok", nil, roles("a")))
	t("parse failure: not rule:broken is allow", en(pm, "notbroken", nil, roles()))
	t("parse failure: rule:ok or rule:broken", en(pm, "uses", nil, roles("a")))
	t("check token without a colon: local ! (a or !)", one("role:a or foobar", nil, roles("a")))
	t("check token without a colon: local ! (not !)", one("not foobar", nil, roles()))
	for _, s := range []string{"'x'", "\"x\"", "not", "(", ")", "and", "or"} {
		c := one(s, nil, nil)
		c.HeadDiffers = true
		t("single non-check token rule "+q(s)+" -> AttributeError (HEAD: !)", c)
	}
	t("%(key)s missing in target -> False", one("x:%(k)s", M{}, M{"x": "v"}))
	t("%(key)s missing in target, under not -> True", one("not x:%(k)s", M{}, M{"x": "v"}))
	t("%(key)s missing in a role check -> False", one("role:%(k)s", M{}, roles("v")))
	t("creds key missing along a path -> False", one("a.b.c:v", nil, M{"a": M{"x": N("1")}}))
	t("creds path through a str raises", one("a.b:v", nil, M{"a": "s"}))
	t("creds path through None raises", one("a.b:v", nil, M{"a": nil}))
	t("creds path through an int raises", one("a.b:v", nil, M{"a": N("1")}))
	t("kind is a keyword -> SyntaxError", one("class:v", nil, M{"class": "v"}))
	t("kind has a digit-leading segment -> SyntaxError", one("roles.0:v", nil, M{}))
	t("kind has an empty segment -> SyntaxError", one("a..b:v", nil, M{}))
	for _, d := range []*oracle.NullableString{nil, oracle.Null()} {
		c := en(R("r", "rule:x", "default", "@"), "r", nil, nil)
		c.DefaultRule = d
		t("rule:x with x undefined -> default if defined else False (default_rule "+d.String()+")", c)
		c2 := en(R("r", "@", "default", "@"), "zzz", nil, nil)
		c2.DefaultRule = d
		t("unknown rule name -> default if defined else False (default_rule "+d.String()+")", c2)
	}
	t("unknown rule name with an empty map -> False", en(oracle.Rules{}, "zzz", nil, nil))
	t("cyclic rule: reference that is reached raises", en(R("a", "rule:b", "b", "rule:a"), "a", nil, nil))
	t("cyclic rule: reference not reached", en(R("a", "@ or rule:b", "b", "rule:a"), "a", nil, nil))
	for _, v := range []string{`true`, `1`, `[1]`, `2.5`} {
		t("rule value "+v+" -> the whole map fails to load", en(R("bad", raw(v), "good", "@"), "good", nil, nil))
	}
	for _, v := range []string{`false`, `null`, `0`, `{}`, `[]`, `""`} {
		t("rule value "+v+" -> allow", en(R("r", raw(v)), "r", nil, nil))
	}
	t("rule value [[]] -> deny", en(R("r", raw(`[[]]`)), "r", nil, nil))
	return a
}
