# Rules translated from constructs.yaml by oslorego.
package oslo.policy

import data.oslo.lib

# "default": "rule:admin_or_owner"
# from testdata/constructs.yaml:2
rules["default"] := rules.admin_or_owner
holds["default"] if holds.admin_or_owner

# "admin": "role:admin"
# from testdata/constructs.yaml:3
rules["admin"] := lib.role_lower("admin")
holds["admin"] if "admin" in lib.roles

# "admin_or_owner": "rule:admin or project_id:%(project_id)s"
# from testdata/constructs.yaml:4
rules["admin_or_owner"] := lib.any_of([rules.admin, lib.creds_is(["project_id"], lib.value("project_id"))])
holds["admin_or_owner"] if holds.admin
holds["admin_or_owner"] if lib.creds_eq("project_id", lib.value("project_id"))

# "literal": "'public':%(visibility)s and True:%(enabled)s"
# from testdata/constructs.yaml:5
rules["literal"] := lib.all_of([lib.literal("public", lib.value("visibility")), lib.literal("True", lib.value("enabled"))])

holds["literal"] if {
	lib.value("visibility") == "public"
	lib.value("enabled") == "True"
}

# "deep_path": "token.project.domain.id:%(domain_id)s"
# from testdata/constructs.yaml:6
rules["deep_path"] := lib.creds_is(["token", "project", "domain", "id"], lib.value("domain_id"))
holds["deep_path"] if lib.creds_path(["token", "project", "domain", "id"], lib.value("domain_id"))

# "format": "x:%(n)05d or y:%(name)-8s|%% or z:%s"
# from testdata/constructs.yaml:7
rules["format"] := lib.any_of([lib.creds_is(["x"], lib.format([{"t": "key", "key": "n", "conv": "d", "flags": "0", "width": 5, "prec": -1, "err": ""}], false)), lib.creds_is(["y"], lib.format([{"t": "key", "key": "name", "conv": "s", "flags": "-", "width": 8, "prec": -1, "err": ""}, {"t": "lit", "lit": "|%"}], false)), lib.creds_is(["z"], lib.format([{"t": "whole", "conv": "s", "flags": "", "width": -1, "prec": -1, "err": ""}], true))])

# "role_format": "role:%(role)s"
# from testdata/constructs.yaml:8
rules["role_format"] := lib.role(lib.value("role"))

holds["role_format"] if {
	m1 := lib.value("role")
	is_string(m1)
	lib.py_lower(m1) in lib.roles
}

# "undefined_ref": "rule:nope"
# from testdata/constructs.yaml:9
rules["undefined_ref"] := rules["default"]
holds["undefined_ref"] if holds["default"]

# "cycle_a": "@ or rule:cycle_b"
# from testdata/constructs.yaml:10
rules["cycle_a"] := lib.any_of([true, unrolled["cycle_a -> cycle_b"]])

# "cycle_b": "rule:cycle_a and role:x"
# from testdata/constructs.yaml:11
rules["cycle_b"] := lib.all_of([unrolled["cycle_b -> cycle_a"], lib.role_lower("x")])

# "parse_failure": "role:a and"
# from testdata/constructs.yaml:12
# oslo denies here: "unexpected \"and\" at offset 7"
rules["parse_failure"] := false
holds["parse_failure"] := false

# "local_false": "not foobar"
# from testdata/constructs.yaml:13
# oslo denies here: "check \"foobar\" has no colon"
rules["local_false"] := lib.negate(false)
holds["local_false"] := true

# "bare": "'quoted'"
# from testdata/constructs.yaml:14
rules["bare"] := lib.error("AttributeError: 'str' object has no attribute '__call__' (oslo.policy 4.0.0 parses the rule \"quoted\" to a bare string)")

# "keyword_kind": "class:x"
# from testdata/constructs.yaml:15
rules["keyword_kind"] := lib.kind_error("SyntaxError: invalid syntax (in the kind \"class\")", lib.text("x"))

# "remote": "http://example.invalid/%(id)s"
# from testdata/constructs.yaml:16
rules["remote"] := lib.remote(lib.format([{"t": "lit", "lit": "http://example.invalid/"}, {"t": "key", "key": "id", "conv": "s", "flags": "", "width": -1, "prec": -1, "err": ""}], false))

# "nested": "not (role:a or (role:b and not role:c))"
# from testdata/constructs.yaml:17
rules["nested"] := lib.negate(lib.any_of([lib.role_lower("a"), lib.all_of([lib.role_lower("b"), lib.negate(lib.role_lower("c"))])]))
part["nested/1"] if "a" in lib.roles

part["nested/1"] if {
	"b" in lib.roles
	not "c" in lib.roles
}

holds["nested"] if not part["nested/1"]

# "legacy_list": [["role:a","project_id:%(project_id)s"],["is_admin:True"]]
# from testdata/constructs.yaml:18
rules["legacy_list"] := lib.any_of([lib.all_of([lib.role_lower("a"), lib.creds_is(["project_id"], lib.value("project_id"))]), lib.creds_is(["is_admin"], lib.text("True"))])

holds["legacy_list"] if {
	"a" in lib.roles
	lib.creds_eq("project_id", lib.value("project_id"))
}

holds["legacy_list"] if lib.creds_eq("is_admin", "True")

# "allow_all": []
# from testdata/constructs.yaml:19
rules["allow_all"] := true
holds["allow_all"] := true

# "deny_all": [[]]
# from testdata/constructs.yaml:20
# oslo denies here: "legacy list rule has no non-empty branch"
rules["deny_all"] := false
holds["deny_all"] := false

# "null_allows": null
# from testdata/constructs.yaml:21
rules["null_allows"] := true
holds["null_allows"] := true
