package casegen

// parseCheckArea: reference §3 (_parse_check).
func parseCheckArea() *area {
	a := newArea("parsecheck")
	a.add("§3.1 '@' is TrueCheck", one("@", nil, nil))
	a.add("§3.1 '!' is FalseCheck", one("!", nil, nil))
	a.add("§3.1 'not @'", one("not @", nil, nil))
	a.add("§3.1 'not !'", one("not !", nil, nil))
	a.add("§3.1 '@ and !'", one("@ and !", nil, nil))
	a.add("§3.1 '! or @'", one("! or @", nil, nil))
	a.add("§3.2 '!!' is not '!': colon-less -> local ! (deny)", one("!!", nil, nil))
	a.add("§3.2 'not !!' = True", one("not !!", nil, nil))
	a.add("§3.2 '@!' colon-less -> local !", one("@!", nil, nil))
	a.add("§3.2 '!:x' is a generic check of kind '!' (SyntaxError)", one("!:x", nil, nil))
	a.add("§3.2 '@:x' is a generic check of kind '@' (SyntaxError)", one("@:x", nil, nil))

	// First-colon split.
	a.add("§3.2 role:admin:x is the role 'admin:x'", one("role:admin:x", nil, roles("admin:x")))
	a.add("§3.2 role:admin:x does not match role 'admin'", one("role:admin:x", nil, roles("admin")))
	a.add("§3.2 role:admin:x does not match role 'x'", one("role:admin:x", nil, roles("x")))
	cc := R("compute:create", "role:a", "r", "rule:compute:create")
	a.add("§3.4 rule:compute:create refers to 'compute:create' (roles=[a])", en(cc, "r", nil, roles("a")))
	a.add("§3.4 rule:compute:create refers to 'compute:create' (roles=[])", en(cc, "r", nil, roles()))
	a.add("§3.4 generic x:a:b has kind x and match 'a:b'", one("x:a:b", nil, M{"x": "a:b"}))
	a.add("§3.4 generic x:a:b does not match creds x='a'", one("x:a:b", nil, M{"x": "a"}))
	a.add("§3.4 field:networks:shared=True is a plain generic check (creds path 'field')", one("field:networks:shared=True", nil, M{"field": "networks:shared=True"}))
	a.add("§3.4 field:networks:shared=True without creds 'field' -> False", one("field:networks:shared=True", nil, roles("admin")))
	a.add("§3.4 x::: -> kind x, match '::'", one("x:::", nil, M{"x": "::"}))
	a.add("§3.2 role: with empty match is the empty role", one("role:", nil, roles("")))
	a.add("§3.2 role: with empty match vs roles [a]", one("role:", nil, roles("a")))
	a.add("§3.2 'x:' empty match equals str('') creds", one("x:", nil, M{"x": ""}))
	a.add("§3.2 ':x' empty kind -> SyntaxError", one(":x", nil, M{"": "x"}))
	a.add("§3.2 ':' empty kind and match -> SyntaxError", one(":", nil, nil))

	// Case-sensitive kinds.
	caseKinds := []struct {
		rule  string
		creds M
		note  string
	}{
		{"Role:admin", roles("admin"), "Role: is a generic creds path 'Role', roles ignored"},
		{"Role:admin", M{"Role": "admin"}, "Role: reads creds['Role']"},
		{"ROLE:admin", M{"ROLE": "admin", "roles": L{"admin"}}, "ROLE: reads creds['ROLE']"},
		{"ROLE:admin", M{"ROLE": "ADMIN"}, "generic comparison is case-sensitive"},
		{"RULE:x", M{"RULE": "x"}, "RULE: is generic, reads creds['RULE']"},
		{"Rule:x", M{"Rule": "y"}, "Rule: is generic"},
		{"rule:x", M{"rule": "x"}, "lowercase rule: is a RuleCheck: rule x undefined -> False (no default)"},
		{"roles:admin", roles("admin"), "roles: is generic: list fan-out over creds['roles']"},
		{"roles:ADMIN", roles("admin"), "generic roles: is case-sensitive"},
		{"HTTP://example.invalid/x", M{"HTTP": "//example.invalid/x"}, "HTTP: is generic (kinds are case-sensitive; not a network check)"},
		{"Http://example.invalid/x", M{"Http": "//example.invalid/y"}, "Http: is generic"},
		{"HTTPS://example.invalid/x", M{}, "HTTPS: generic, creds key missing -> False"},
		{"field:x", M{"field": "x"}, "neutron's field kind is generic in plain oslo"},
		{"tenant_id:%(tenant_id)s", M{"tenant_id": "t1"}, "neutron's tenant_id kind is generic in plain oslo"},
	}
	for _, k := range caseKinds {
		a.add("§3.3 "+q(k.rule)+": "+k.note, one(k.rule, M{"tenant_id": "t1"}, k.creds))
	}
	return a
}
