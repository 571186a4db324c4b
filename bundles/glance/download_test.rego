package glance.download_test

import data.oslo.policy

# The blueprint's matrix: admin, member, reader and no role against an image
# with the marker property present, absent, and set to another value.

creds := {
	"admin": {"roles": ["admin", "member", "reader"], "project_id": "p1", "user_id": "u1"},
	"member": {"roles": ["member", "reader"], "project_id": "p1", "user_id": "u2"},
	"reader": {"roles": ["reader"], "project_id": "p1", "user_id": "u3"},
	"none": {"roles": [], "project_id": "p1", "user_id": "u4"},
}

images := {
	"present": {"id": "i1", "owner": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_3251"},
	"absent": {"id": "i2", "owner": "p1", "visibility": "private"},
	"other": {"id": "i3", "owner": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_0001"},
}

# expected[who][image] is whether the download is allowed.
expected := {
	"admin": {"present": true, "absent": true, "other": true},
	"member": {"present": false, "absent": true, "other": true},
	"reader": {"present": true, "absent": true, "other": true},
	"none": {"present": true, "absent": true, "other": true},
}

allowed(who, image) := a if {
	a := policy.allow with input as {"rule": "download_image", "target": images[image], "credentials": creds[who]}
}

test_download_matrix if {
	every who, row in expected {
		every image, want in row {
			allowed(who, image) == want
		}
	}
}

test_member_refused_each_listed_code if {
	every code in data.glance.restricted_billing_codes {
		not policy.allow with input as {"rule": "download_image", "target": {"x_billing_code_ntt": code}, "credentials": creds.member}
	}
}

# Registered defaults still apply: a reader of another project may not see a
# private image, the owner's reader may.
test_get_image_from_defaults if {
	policy.allow with input as {"rule": "get_image", "target": {"project_id": "p1", "visibility": "private"}, "credentials": creds.reader}
	not policy.allow with input as {"rule": "get_image", "target": {"project_id": "p2", "visibility": "private", "member_id": "p9"}, "credentials": object.union(creds.reader, {"project_id": "p3"})}
}

# Unknown actions fall back to the operator's default: admin only.
test_unknown_action_is_admin_only if {
	policy.allow with input as {"rule": "no_such_action", "target": {}, "credentials": creds.admin}
	not policy.allow with input as {"rule": "no_such_action", "target": {}, "credentials": creds.member}
}
