package glance.property_protections_test

import data.oslo.glance.property_protections as pp

member := {"roles": ["member", "reader"], "project_id": "p1"}

admin := {"roles": ["admin"], "project_id": "p1"}

reader := {"roles": ["reader"], "project_id": "p1"}

test_member_cannot_remove_or_change_the_marker if {
	not pp.allowed("x_billing_code_ntt", "delete") with input.credentials as member
	not pp.allowed("x_billing_code_ntt", "update") with input.credentials as member
	not pp.allowed("x_billing_code_ntt", "create") with input.credentials as member
	pp.allowed("x_billing_code_ntt", "read") with input.credentials as member
}

test_admin_manages_the_marker if {
	every op in ["create", "read", "update", "delete"] {
		pp.allowed("x_billing_code_ntt", op) with input.credentials as admin
	}
}

test_other_properties if {
	pp.allowed("os_distro", "update") with input.credentials as member
	pp.allowed("os_distro", "read") with input.credentials as reader
	not pp.allowed("os_distro", "delete") with input.credentials as reader
	not pp.allowed("os_distro", "delete") with input.credentials as {"roles": []}
}
