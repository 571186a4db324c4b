package oslo.policy_test

import data.oslo.policy

member := {"roles": ["member"], "project_id": "p1"}

admin := {"roles": ["admin"], "project_id": "p1"}

test_member_refused_a_restricted_image if {
	not policy.allow with input as {"rule": "download_image", "target": {"x_billing_code_ntt": "ntt_3251"}, "credentials": member}
}

test_member_may_download_other_images if {
	policy.allow with input as {"rule": "download_image", "target": {"x_billing_code_ntt": "ntt_0001"}, "credentials": member}
	policy.allow with input as {"rule": "download_image", "target": {}, "credentials": member}
}

test_admin_may_download_everything if {
	policy.allow with input as {"rule": "download_image", "target": {"x_billing_code_ntt": "ntt_3252"}, "credentials": admin}
}
