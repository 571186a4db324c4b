# Rules translated from policy.yaml by oslorego.
package oslo.policy

import data.oslo.lib

# "context_is_admin": "role:admin"
# from ../examples/glance-download/policy.yaml:4
rules["context_is_admin"] := lib.role_lower("admin")
holds["context_is_admin"] if "admin" in lib.roles

# "default": "role:admin"
# from ../examples/glance-download/policy.yaml:5
rules["default"] := lib.role_lower("admin")
holds["default"] if "admin" in lib.roles

# "restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)"
# from ../examples/glance-download/policy.yaml:6
rules["restricted"] := lib.negate(lib.all_of([lib.literal("ntt_3251", lib.value("x_billing_code_ntt")), lib.role_lower("member")]))

part["restricted/1"] if {
	lib.value("x_billing_code_ntt") == "ntt_3251"
	"member" in lib.roles
}

holds["restricted"] if not part["restricted/1"]

# "download_image": "role:admin or rule:restricted"
# from ../examples/glance-download/policy.yaml:7
rules["download_image"] := lib.any_of([lib.role_lower("admin"), rules.restricted])
holds["download_image"] if "admin" in lib.roles
holds["download_image"] if holds.restricted

# "get_image": "rule:context_is_admin or role:member or role:reader"
# from ../examples/glance-download/policy.yaml:8
rules["get_image"] := lib.any_of([rules.context_is_admin, lib.role_lower("member"), lib.role_lower("reader")])
holds["get_image"] if holds.context_is_admin
holds["get_image"] if "member" in lib.roles
holds["get_image"] if "reader" in lib.roles
