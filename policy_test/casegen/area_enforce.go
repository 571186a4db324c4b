package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// enforceArea: reference §6 (Enforcer.enforce()).
func enforceArea() *area {
	a := newArea("enforce")
	// Empty rule map -> False, even with a default rule configured.
	for _, d := range []*oracle.NullableString{nil, oracle.Null(), oracle.Name("default"), oracle.Name("x")} {
		for _, name := range []string{"default", "anything", "x"} {
			c := en(oracle.Rules{}, name, nil, roles("admin"))
			c.DefaultRule = d
			a.add(fmt.Sprintf("§6.5 empty rule map -> False (rule %s, default_rule %s)", q(name), d), c)
		}
	}
	a.add("§6.5 rules absent entirely -> empty map -> False", oracle.Case{Rule: "x", Target: M{}, Creds: M{}})

	// Unknown rule names.
	for _, d := range []*oracle.NullableString{nil, oracle.Null(), oracle.Name("other")} {
		for _, rs := range []oracle.Rules{R("default", "@", "other", "!"), R("default", "!", "other", "@"), R("x", "@")} {
			c := en(rs, "unknown", nil, nil)
			c.DefaultRule = d
			a.add(fmt.Sprintf("§6.5 unknown rule name with default_rule %s and rules %s", d, string(oracle.MustJSON(rs))), c)
		}
	}
	a.add("§6.5 rule name lookup is exact (case-sensitive)", en(R("Rule", "@"), "rule", nil, nil))
	a.add("§6.5 rule name lookup is exact (whitespace)", en(R("rule", "@"), "rule ", nil, nil))
	a.add("§6.5 rule name '' is a valid key", en(R("", "@"), "", nil, nil))
	a.add("§6.5 rule names with colons", en(R("os_compute_api:servers:create", "@"), "os_compute_api:servers:create", nil, nil))

	// creds must be a MutableMapping.
	for _, cr := range []any{L{}, L{"admin"}, null, "admin", N("5"), true} {
		a.add(fmt.Sprintf("§6.2 creds %s is not a dict -> InvalidContextObject", string(oracle.MustJSON(cr))), en(R("r", "@"), "r", nil, cr))
	}
	a.add("§6.2 creds check happens before the empty-rules short-circuit", en(oracle.Rules{}, "r", nil, L{}))
	a.add("§6.2 empty dict creds are fine", en(R("r", "@"), "r", nil, M{}))

	// system_scope -> system mapping.
	sys := []struct {
		rule  string
		creds M
		note  string
	}{
		{"system:all", M{"system_scope": "all"}, "system_scope copied into creds['system']"},
		{"system:all", M{"system_scope": "all", "system": "x"}, "copy overwrites an existing 'system'"},
		{"system:all", M{"system": "all"}, "creds['system'] given directly"},
		{"system:all", M{"system_scope": ""}, "empty system_scope is falsy: not copied"},
		{"system:all", M{"system_scope": nil}, "null system_scope: not copied"},
		{"system:all", M{"system_scope": false}, "false system_scope: not copied"},
		{"system:True", M{"system_scope": true}, "truthy non-str system_scope copied as-is"},
		{"system:['all']", M{"system_scope": L{"all"}}, "list system_scope copied; generic fans out over the list"},
		{"system:all", M{"system_scope": L{"all"}}, "list system_scope copied; fan-out matches 'all'"},
		{"system:0", M{"system_scope": N("0")}, "0 is falsy: not copied"},
		{"system_scope:all", M{"system_scope": "all"}, "system_scope itself still present"},
	}
	for _, s := range sys {
		a.add("§6.3 "+q(s.rule)+": "+s.note, en(R("r", s.rule), "r", nil, s.creds))
	}

	// Check objects enforced directly (oracle "check" key).
	chk := []struct {
		check any
		rules oracle.Rules
		creds any
		note  string
	}{
		{"@", oracle.Rules{}, M{}, "Check object with an empty rule map: no empty-rules short-circuit -> allow"},
		{"role:a", oracle.Rules{}, roles("a"), "role check as a Check object"},
		{"rule:x", oracle.Rules{}, M{}, "rule:x with an empty map -> KeyError -> False"},
		{"rule:x", R("x", "@"), M{}, "rule:x resolves in the map"},
		{"rule:missing", R("default", "@"), M{}, "rule:missing -> default"},
		{"'x'", R("x", "@"), M{}, "a lone quoted string parses to a bare str, which enforce() then treats as a rule NAME (rule 'x' = @) (HEAD: !)"},
		{L{L{"role:a"}, L{"role:b"}}, oracle.Rules{}, roles("b"), "list rule as a Check object"},
		{"@", oracle.Rules{}, L{}, "Check object with list creds -> InvalidContextObject"},
		{"system:all", oracle.Rules{}, M{"system_scope": "all"}, "system_scope mapping also applies to Check objects"},
	}
	for _, c := range chk {
		cs := oracle.Case{Rules: c.rules, Check: oracle.MustJSON(c.check), Rule: "ignored", Target: M{}, Creds: c.creds}
		if c.check == "'x'" {
			cs.HeadDiffers = true
		}
		a.add("§6.4 "+c.note, cs)
	}

	// do_raise: the exception class is reported.
	a.add("§6.6 do_raise on deny -> PolicyNotAuthorized", withRaise(en(R("r", "!"), "r", nil, nil)))
	a.add("§6.6 do_raise on allow -> no exception", withRaise(en(R("r", "@"), "r", nil, nil)))
	a.add("§6.6 do_raise with an empty rule map -> PolicyNotAuthorized", withRaise(en(oracle.Rules{}, "r", nil, nil)))
	a.add("§6.6 do_raise with a runtime error -> the error, not PolicyNotAuthorized", withRaise(en(R("r", "class:x"), "r", nil, nil)))

	// Return value truthiness (§6.7): the raw check result is returned.
	a.add("§6.7 enforce returns the raw result (True)", en(R("r", "role:a"), "r", nil, roles("a")))
	// Mutation of creds by system_scope does not leak between cases.
	a.add("§6.3 creds mutation is per call (system absent here)", en(R("r", "system:all"), "r", nil, M{"system_scope": nil}))
	return a
}

func withRaise(c oracle.Case) oracle.Case {
	c.DoRaise = true
	return c
}
