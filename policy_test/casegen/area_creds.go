package casegen

import "fmt"

// credsArea: reference §5.4 step 2b (creds dot-paths, str() comparison).
func credsArea() *area {
	a := newArea("creds")
	type cc struct {
		rule   string
		target any
		creds  any
		note   string
	}
	pt := M{"project_id": "p1", "user_id": "u1"}
	cases := []cc{
		{"user_id:%(user_id)s", pt, M{"user_id": "u1"}, "equal"},
		{"user_id:%(user_id)s", pt, M{"user_id": "u2"}, "different"},
		{"user_id:%(user_id)s", pt, M{}, "creds key missing -> False"},
		{"user_id:%(user_id)s", M{}, M{"user_id": "u1"}, "target key missing -> False"},
		{"user_id:U1", pt, M{"user_id": "u1"}, "case-sensitive"},
		{"user_id:u1", pt, M{"user_id": "u1"}, "constant match"},
		{"user_id:'u1'", pt, M{"user_id": "u1"}, "quotes in the match are not removed"},
		{"user_id:'u1'", pt, M{"user_id": "'u1'"}, "quoted match equals a quoted creds value"},
		// dot paths
		{"a.b.c:v", nil, M{"a": M{"b": M{"c": "v"}}}, "nested dicts"},
		{"a.b.c:v", nil, M{"a": M{"b": M{"c": "w"}}}, "nested dicts, different value"},
		{"a.b.c:v", nil, M{"a": M{"b": M{}}}, "missing leaf -> False"},
		{"a.b.c:v", nil, M{"a": M{}}, "missing intermediate -> False"},
		{"a.b.c:v", nil, M{}, "missing root -> False"},
		{"a.b:v", nil, M{"a": "str"}, "path through a str -> TypeError"},
		{"a.b:v", nil, M{"a": nil}, "path through None -> TypeError"},
		{"a.b:v", nil, M{"a": N("5")}, "path through an int -> TypeError"},
		{"a.b:v", nil, M{"a": N("5.5")}, "path through a float -> TypeError"},
		{"a.b:v", nil, M{"a": true}, "path through a bool -> TypeError"},
		{"a.b:v", nil, M{"a": ""}, "path through an empty str -> TypeError"},
		{"a.b:v", nil, M{"a.b": "v"}, "a key literally named 'a.b' is unreachable"},
		{"a.b:v", nil, M{"a": M{"b": "v"}, "a.b": "w"}, "dotted key ignored, nested used"},
		// list fan-out
		{"a:w", nil, M{"a": L{"v", "w"}}, "list at the leaf: any element"},
		{"a:x", nil, M{"a": L{"v", "w"}}, "list at the leaf: no element"},
		{"a:v", nil, M{"a": L{}}, "empty list -> False"},
		{"a:[]", nil, M{"a": L{}}, "empty list is not compared as a whole"},
		{"a.b:w", nil, M{"a": L{M{"b": "v"}, M{"b": "w"}}}, "list of dicts fan-out"},
		{"a.b:x", nil, M{"a": L{M{"b": "v"}, M{"b": "w"}}}, "list of dicts, no match"},
		{"a.b:v", nil, M{"a": L{M{"c": "v"}, M{"b": "v"}}}, "KeyError in one element is False for that element only"},
		{"a.b:v", nil, M{"a": L{M{"b": "v"}, "s"}}, "match before a str element short-circuits"},
		{"a.b:v", nil, M{"a": L{"s", M{"b": "v"}}}, "str element before the match -> TypeError"},
		{"a.b:v", nil, M{"a": L{nil, M{"b": "v"}}}, "None element before the match -> TypeError"},
		{"a.b.c:v", nil, M{"a": L{M{"b": L{M{"c": "x"}, M{"c": "v"}}}}}, "nested fan-out"},
		{"a:v", nil, M{"a": L{L{"v"}}}, "lists of lists are not flattened"},
		{"a:['v']", nil, M{"a": L{L{"v"}}}, "inner list compared by repr"},
		{"a.b:v", nil, M{"a": L{L{M{"b": "v"}}}}, "path into an inner list -> TypeError"},
		{"a:1", nil, M{"a": L{N("1"), N("2")}}, "list of ints, str() compare"},
		{"a:True", nil, M{"a": L{true}}, "list of bools"},
		{"a:None", nil, M{"a": L{nil}}, "list containing null"},
		{"a:{'b': 1}", nil, M{"a": M{"b": N("1")}}, "dict at the leaf compared by repr (parse: token has a space -> failure)"},
		{"a:{'b':1}", nil, M{"a": M{"b": N("1")}}, "dict repr has a space after ':' -> no match"},
		{"roles:admin", nil, M{"roles": L{"member", "admin"}}, "generic roles: fan-out"},
		{"roles:Admin", nil, M{"roles": L{"admin"}}, "generic roles: case-sensitive"},
		// str() comparisons
		{"is_admin:True", nil, M{"is_admin": true}, "True matches True"},
		{"is_admin:True", nil, M{"is_admin": "True"}, "True matches 'True'"},
		{"is_admin:True", nil, M{"is_admin": "true"}, "True does not match 'true'"},
		{"is_admin:True", nil, M{"is_admin": N("1")}, "True does not match 1"},
		{"is_admin:True", nil, M{"is_admin": false}, "True vs False"},
		{"is_admin:True", nil, M{"is_admin": nil}, "True vs None"},
		{"is_admin:True", nil, M{}, "missing is_admin"},
		{"is_admin:1", nil, M{"is_admin": true}, "1 does not match True"},
		{"is_admin:1", nil, M{"is_admin": N("1")}, "1 matches 1"},
		{"is_admin:1", nil, M{"is_admin": "1"}, "1 matches '1'"},
		{"is_admin:1", nil, M{"is_admin": N("1.0")}, "1 does not match 1.0"},
		{"is_admin:False", nil, M{"is_admin": false}, "False matches False"},
		{"is_admin:False", nil, M{"is_admin": N("0")}, "False does not match 0"},
		{"is_admin:None", nil, M{"is_admin": nil}, "None matches null"},
		{"domain_id:20", nil, M{"domain_id": N("20")}, "20 matches 20"},
		{"domain_id:20", nil, M{"domain_id": "20"}, "20 matches '20'"},
		{"domain_id:20", nil, M{"domain_id": N("20.0")}, "20 does not match 20.0"},
		{"domain_id:20", nil, M{"domain_id": N("2e1")}, "2e1 is the float 20.0"},
		{"domain_id:20.0", nil, M{"domain_id": N("20.0")}, "20.0 matches 20.0"},
		{"domain_id:1e+20", nil, M{"domain_id": N("1e20")}, "float 1e20 renders 1e+20"},
		{"domain_id:100000000000000000000", nil, M{"domain_id": N("100000000000000000000")}, "big int exact"},
		{"domain_id:None", nil, M{"domain_id": nil}, "real-world domain_id:None with null"},
		{"domain_id:None", nil, M{}, "domain_id:None with the key missing -> False"},
		{"n:%(n)s", M{"n": N("5")}, M{"n": N("5")}, "int vs int through the target"},
		{"n:%(n)s", M{"n": N("5.0")}, M{"n": N("5")}, "5.0 target vs 5 creds"},
		{"n:%(n)s", M{"n": "5"}, M{"n": N("5")}, "'5' target vs 5 creds"},
		{"n:%(n)s", M{"n": true}, M{"n": "True"}, "True target vs 'True' creds"},
		{"n:%(n)s", M{"n": L{"a"}}, M{"n": L{"a"}}, "list target renders ['a'], creds list fans out to 'a'"},
		{"n:%(n)s", M{"n": L{"a"}}, M{"n": L{L{"a"}}}, "list target ['a'] vs creds [['a']]"},
		{"n:%(n)s", M{"n": M{"b": "c"}}, M{"n": M{"b": "c"}}, "dict vs dict compared by repr (sorted keys)"},
		// None == None
		{"project_id:%(project_id)s", M{"project_id": nil}, M{"project_id": nil}, "None == None: both null -> True"},
		{"project_id:%(project_id)s", M{"project_id": "None"}, M{"project_id": nil}, "target 'None' string vs null creds -> True"},
		{"project_id:%(project_id)s", M{"project_id": nil}, M{"project_id": "None"}, "null target vs 'None' creds -> True"},
		{"project_id:%(project_id)s", M{"project_id": nil}, M{}, "null target, creds key missing -> False"},
		{"project_id:%(project_id)s", M{"project_id": ""}, M{"project_id": ""}, "empty strings equal"},
		// real-world keys
		{"is_admin_project:True", nil, M{"is_admin_project": true}, "keystone is_admin_project"},
		{"is_admin_project:True", nil, M{"is_admin_project": false}, "is_admin_project False"},
		{"system_scope:all", nil, M{"system_scope": "all"}, "system_scope:all"},
		{"system_scope:all", nil, M{"system_scope": "ALL"}, "system_scope is case-sensitive"},
		{"system:all", nil, M{"system_scope": "all"}, "enforce() copies system_scope into creds['system']"},
		{"system:all", nil, M{"system_scope": "", "system": "all"}, "empty system_scope: no copy; creds['system'] used as-is"},
		{"system:all", nil, M{"system_scope": "all", "system": "other"}, "system_scope overwrites creds['system']"},
		{"system:all", nil, M{"system_scope": nil}, "null system_scope: no copy"},
		{"token.domain.id:%(target.domain.id)s", M{"target.domain.id": "d1"}, M{"token": M{"domain": M{"id": "d1"}}}, "keystone token.domain.id"},
		{"token.domain.id:%(target.domain.id)s", M{"target.domain.id": "d1"}, M{"token": M{"project": M{"id": "p1"}}}, "token without domain -> False"},
		{"token.project.domain.id:%(target.domain.id)s", M{"target.domain.id": "d1"}, M{"token": M{"project": M{"domain": M{"id": "d1"}}}}, "token.project.domain.id"},
		{"token.roles.name:admin", nil, M{"token": M{"roles": L{M{"id": "r1", "name": "member"}, M{"id": "r2", "name": "admin"}}}}, "fan-out through token roles"},
		{"user.enabled:True", nil, M{"user": M{"enabled": true}}, "nested bool"},
		{"é.ключ:v", nil, M{"é": M{"ключ": "v"}}, "non-ASCII path segments"},
		{"a:v", nil, M{"a": "v", "A": "w"}, "keys are case-sensitive"},
	}
	for _, c := range cases {
		a.add(fmt.Sprintf("§5.4.2b %s: %s", q(c.rule), c.note), one(c.rule, c.target, c.creds))
	}
	// A sorted-key dict rendering through the creds path.
	a.add("§5.4.2b dict at the leaf compared by repr via a list rule (sorted keys)", one(L{L{"a:{'b': 1, 'c': 'x'}"}}, nil, M{"a": M{"b": N("1"), "c": "x"}}))
	a.add("§5.4.2b list at the leaf via a list rule: elements compared, not the list repr", one(L{L{"a:['v', 'w']"}}, nil, M{"a": L{"v", "w"}}))
	return a
}
