package nova.policy_test

import data.oslo.policy

member := {"roles": ["member", "reader"], "project_id": "p1", "user_id": "u1"}

reader := {"roles": ["reader"], "project_id": "p1", "user_id": "u2"}

admin := {"roles": ["admin"], "project_id": "p9", "user_id": "u3", "is_admin": true}

other := {"roles": ["member", "reader"], "project_id": "p2", "user_id": "u4"}

server := {"project_id": "p1", "user_id": "u1"}

decide(rule, creds) := a if {
	a := policy.allow with input as {"rule": rule, "target": server, "credentials": creds}
}

# The operator's override of the deprecated name stands for project_member_api.
test_old_name_override_is_the_new_rule if {
	decide("project_member_api", member)
	not decide("project_member_api", reader)
	decide("project_member_api", admin)
	not decide("project_member_api", other)
}

# Per-API rules built on it follow the override.
test_servers_create_follows_the_override if {
	decide("os_compute_api:servers:create", member)
	not decide("os_compute_api:servers:create", reader)
	not decide("os_compute_api:servers:create", other)
}

# The old name was the deprecated name of every rule renamed from it
# (project_reader_api, project_reader_or_admin, ...), so the override
# reaches them all, as in oslo.policy: a plain reader may no longer show the
# project's servers.
test_override_reaches_every_rule_renamed_from_it if {
	decide("os_compute_api:servers:show", member)
	not decide("os_compute_api:servers:show", reader)
	not decide("os_compute_api:servers:show", other)
}

test_admin_only_api if {
	decide("os_compute_api:os-admin-actions:reset_state", admin)
	not decide("os_compute_api:os-admin-actions:reset_state", member)
}
