package casegen

// httpArea: reference §5.5 (remote http:/https: checks). Every case is
// marked network=true, and none of them reaches the network: the check is
// either short-circuited or its URL formatting fails first.
func httpArea() *area {
	a := newArea("http")
	const u = "//127.0.0.1:9/check"
	const bad = "//127.0.0.1:9/%(missing)s"
	add := func(note string, c caseT) {
		c.Network = true
		a.add("§5.5 "+note, c)
	}
	for _, kind := range []string{"http", "https"} {
		add(kind+": short-circuited by '@ or' -> allow, never called", one("@ or "+kind+":"+u, nil, nil))
		add(kind+": short-circuited by '! and' -> deny, never called", one("! and "+kind+":"+u, nil, nil))
		add(kind+": short-circuited by a failing role guard", one("role:a and "+kind+":"+u, nil, roles()))
		add(kind+": URL format KeyError raises when evaluated directly", one(kind+":"+bad, nil, nil))
		add(kind+": URL format KeyError under not still raises", one("not "+kind+":"+bad, nil, nil))
		h := R("h", kind+":"+bad, "r", "rule:h")
		add(kind+": KeyError reached via rule: is caught by RuleCheck -> False", en(h, "r", nil, nil))
		h2 := R("h", kind+":"+bad, "r", "not rule:h")
		add(kind+": not rule:<KeyError> -> True", en(h2, "r", nil, nil))
		h3 := R("h", kind+":"+bad, "r", "rule:h or @")
		add(kind+": rule:<KeyError> or @ -> allow", en(h3, "r", nil, nil))
		h4 := R("h", kind+":"+bad, "mid", "rule:h", "r", "rule:mid and @")
		add(kind+": KeyError two rule: hops down -> False", en(h4, "r", nil, nil))
		h5 := R("default", kind+":"+bad)
		add(kind+": unknown name -> default rule is evaluated directly by enforce() -> KeyError escapes", en(h5, "unknown", nil, nil))
		h6 := R("default", kind+":"+bad, "r", "rule:undefined")
		add(kind+": rule:undefined -> default rule (the http check) inside RuleCheck: KeyError caught -> False", en(h6, "r", nil, nil))
		add(kind+": lone % in the URL -> ValueError (not caught by rule:)", en(R("h", kind+"://127.0.0.1:9/%", "r", "rule:h"), "r", nil, nil))
		add(kind+": null target -> TypeError while formatting the URL", one(kind+":"+u, null, nil))
		add(kind+": list-rule http check with a KeyError -> raises", one(L{L{kind + ":" + bad}}, nil, nil))
		add(kind+": bare %s of a dict target... missing key variant via rule -> False", en(R("h", kind+"://127.0.0.1:9/%(a)s/%(missing)s", "r", "rule:h"), "r", M{"a": "x"}, nil))
	}
	add("http: in a rule that is never enforced is harmless", en(R("h", "http:"+u, "r", "role:a"), "r", nil, roles("a")))
	add("http: in a list rule behind an allowed branch", one(L{"@", "http:" + u}, nil, nil))
	return a
}
